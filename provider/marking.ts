import { EnsClient, EnsError } from "./ens";
import { clearStopMarks, markStopping, STOP_MARK } from "./instances";
import { asEnsError } from "./observe";

/**
 * Crash marks for the rolling window, tolerant of instances released meanwhile: one unknown instance fails a whole
 * TagResources / UntagResources call (nothing is tagged), so on a failure the instances are looked at and those ENS
 * still knows are tried once more.
 */

/** Marks `ids` before their stop. `gone`: unknown to ENS (not marked). `error`: the others could not be marked. */
export async function markOrDrop(client: EnsClient, ids: string[], resourceId: string, lifetimeMs: number): Promise<{ marked: string[]; gone: string[]; error?: EnsError }> {
  let failure: unknown;
  try {
    await markStopping(client, ids, resourceId, lifetimeMs);
    return { marked: ids, gone: [] };
  } catch (e) {
    failure = e;
  }
  const live = await client.describeInstancesById(ids).catch(() => undefined);
  const rest = live ? ids.filter((id) => live.has(id)) : ids;
  const gone = ids.filter((id) => !rest.includes(id));
  if (rest.length && gone.length) {
    try {
      await markStopping(client, rest, resourceId, lifetimeMs);
      return { marked: rest, gone };
    } catch (e) {
      failure = e;
    }
  }
  return { marked: [], gone, ...(rest.length ? { error: asEnsError(failure, "TagResources") } : {}) };
}

/** Removes marks without failing; when that cannot be done, a line says the next run removes them. */
export async function unmark(client: EnsClient, ids: string[], log: (line: string) => void): Promise<void> {
  if (!ids.length) return;
  try {
    await clearStopMarks(client, ids);
  } catch {
    try {
      const live = await client.describeInstancesById(ids);
      await clearStopMarks(client, ids.filter((id) => live.has(id)));
    } catch (e) {
      log(`could not remove the crash mark (${STOP_MARK}) of ${ids.length} running instance(s): ${(e as Error).message}; the next pulumi up removes it`);
    }
  }
}
