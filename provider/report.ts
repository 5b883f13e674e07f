import { planBatches, Plan } from "./plan";
import { concurrencyLine, FoundLease, LeaseBounds, tightest } from "./protocol";

/**
 * What a user reads. Every line names its resource (the SDK passes the resource's name as `__attachmentName`; states written
 * before that carry none), so two attachments' lines can be told apart, and there are few lines: one summary of the
 * plan in preview, running counts while working, one closing line per operation.
 */
export interface Reporter {
  log: (line: string) => void;
  warn: (line: string) => void;
}

let sink = {
  info: (line: string) => console.log(named(line) ? line : `[ens:KeyPairAttachment] ${line}`),
  warn: (line: string) => console.error(`warning: ${named(line) ? line : `[ens:KeyPairAttachment] ${line}`}`),
};
const named = (line: string) => line.startsWith("KeyPairAttachment '");

/** Where lines go: the plugin's stdout/stderr (shown by the engine as diagnostics), or a test's collector. */
export function setLogger(l: { info: (s: string) => void; warn: (s: string) => void }): void {
  sink = l;
}

export function reporterFor(props: Record<string, any> | undefined): Reporter {
  const name = typeof props?.__attachmentName === "string" && props.__attachmentName ? props.__attachmentName : undefined;
  const prefix = name ? `KeyPairAttachment '${name}': ` : "";
  return { log: (l) => sink.info(prefix + l), warn: (l) => sink.warn(prefix + l) };
}

/** Up to `max` IDs, then how many more. */
export function list(ids: readonly string[], max = 20): string {
  return ids.length <= max ? ids.join(", ") : `${ids.slice(0, max).join(", ")} and ${ids.length - max} more`;
}

/**
 * How the work will roll: instances to stop, the effective concurrency (its own bounds, those of other runs holding
 * instances down now, and the regions), the regions (largest first).
 */
function rollingSummary(plan: Plan, fleet?: FleetNow): string {
  const r = plan.rolling;
  const bounds = tightest([{ maxStopped: r.maxStopped, maxStoppedPerRegion: r.maxStoppedPerRegion }, ...(fleet?.bounds ?? [])]);
  const regions = r.regions.filter((g) => g.region);
  const counted = `${regions.slice(0, 3).map((g) => `${g.region} ${g.count}`).join(", ")}${regions.length > 3 ? ", ..." : ""}`;
  // The number of regions is in the concurrency when a per-region bound makes it count.
  const where = !regions.length ? "" : bounds.maxStoppedPerRegion !== undefined ? ` (${counted})` : ` (${regions.length} region(s): ${counted})`;
  const others = fleet?.down ? `, less the ${fleet.down} other runs hold down now` : "";
  return `stop ${r.instances.length} Running instance(s) first, rolling ${concurrencyLine(bounds.maxStopped, bounds.maxStoppedPerRegion, regions.length)}${others}${where}; each is bound as it stops and started again at once`;
}

/** Other runs' live leases when the plan was made: how many instances they hold down, and their bounds (rule 5). */
export interface FleetNow {
  down: number;
  bounds: LeaseBounds[];
}

export function fleetNow(live: readonly FoundLease[]): FleetNow {
  return { down: live.length, bounds: live.flatMap((l) => (l.lease.bounds ? [l.lease.bounds] : [])) };
}

/**
 * One line saying what a plan will do: instances to attach and detach (counts and the first few IDs), those already
 * as wanted, instances to stop and the bound, and Running instances that would make it fail.
 */
export function planSummary(plan: Plan, opts: { running: ReadonlySet<string>; stopInstances: boolean; maxStoppedInstances: number; unchanged: number; fleet?: FleetNow }): string {
  const batches = planBatches(plan);
  const ids = (action: string) => batches.filter((b) => b.action === action).flatMap((b) => b.instanceIds);
  const attach = ids("AttachKeyPair");
  const detach = ids("DetachKeyPair");
  const parts: string[] = [];
  // Instances bound as they stop may need more calls than the fewest.
  const calls = (action: string) => `in ${opts.stopInstances && plan.rolling.instances.some((i) => i.action === action) ? "at least " : ""}${batches.filter((b) => b.action === action).length} call(s)`;
  if (attach.length) parts.push(`attach ${attach.length} (${list(attach, 3)}) ${calls("AttachKeyPair")}`);
  if (detach.length) parts.push(`detach ${detach.length} (${list(detach, 3)}) ${calls("DetachKeyPair")}`);
  const adopted = plan.alreadyAttached.length - opts.unchanged;
  if (adopted > 0) parts.push(`adopt ${adopted} already bound`);
  if (opts.unchanged > 0) parts.push(`${opts.unchanged} unchanged`);
  const stop = [...attach, ...detach].filter((i) => opts.running.has(i));
  if (stop.length && opts.stopInstances) parts.push(rollingSummary(plan, opts.fleet));
  if (stop.length && !opts.stopInstances) parts.push(`${stop.length} instance(s) are Running (${list(stop, 3)}) and stopInstances is false: this will fail unless they are stopped first`);
  return `plan: ${parts.length ? parts.join("; ") : "nothing to change"}`;
}
