import { EnsClient, Instance } from "./ens";
import { readOwners } from "./ownership";
import { LiveInstance, planBinding } from "./plan";
import { list, planSummary, reporterFor, Reporter } from "./report";
import { getClient } from "./settings";
import { checkInputs, isUnknown } from "./validate";

type Props = Record<string, any>;
type Failure = { property: string; reason: string };

/** `check`: inputs validated (pure), then looked up in ENS where they changed, so that preview names a typo. */
export async function check(olds: Props, news: Props) {
  const out = reporterFor(news);
  const { inputs, failures, warnings } = checkInputs(news);
  for (const w of warnings) out.warn(w);
  if (!failures.length) {
    try {
      failures.push(...(await checkLive(olds, inputs, out)));
    } catch (e) {
      // Settings and credential problems: one clear line in preview rather than a stack trace.
      failures.push({ property: "", reason: (e as Error).message });
    }
  }
  // The engine prints a named property's whole value before the reason (thousands of IDs for a fleet); without a
  // property it prints "<type> resource '<name>' has a problem: <reason>", so the field goes into the reason.
  return { inputs, failures: failures.map((f) => (f.property === "instanceIds" ? { property: "", reason: `instanceIds: ${f.reason}` } : f)) };
}

/**
 * Live checks. Only what changed is looked up (a new key reference, instances not in the previous inputs): an
 * unchanged stack costs no call. For a create, which has no diff, the plan's summary is said here.
 */
async function checkLive(olds: Props, inputs: Props, out: Reporter): Promise<Failure[]> {
  const keyField = inputs.keyPairId !== undefined ? "keyPairId" : "keyPairName";
  const keyValue = inputs[keyField];
  const before = new Set<string>(Array.isArray(olds.instanceIds) ? olds.instanceIds : []);
  const newIds: string[] = Array.isArray(inputs.instanceIds) ? inputs.instanceIds.filter((id: unknown) => !isUnknown(id) && !before.has(id as string)) : [];
  const keyChanged = !isUnknown(keyValue) && keyValue !== olds[keyField];
  if (!keyChanged && !newIds.length) return [];
  const client = getClient();
  const failures: Failure[] = [];
  const key = keyChanged ? await client.findKeyPair(keyField === "keyPairId" ? { keyPairId: keyValue } : { keyPairName: keyValue }) : undefined;
  if (keyChanged && !key) failures.push({ property: keyField, reason: `ENS has no key pair ${JSON.stringify(keyValue)} at ${client.endpoint}: create or import it first, or fix ${keyField}` });
  if (!newIds.length) return failures;
  const live = await client.describeInstancesById(newIds);
  const missing = newIds.filter((id) => !live.has(id));
  if (missing.length) failures.push({ property: "instanceIds", reason: `ENS has no instance ${list(missing)} at ${client.endpoint}: remove it from instanceIds or check the account and region` });
  const creating = !Array.isArray(olds.instanceIds);
  if (creating) failures.push(...(await ownedElsewhere(client, newIds, live, inputs, out)));
  if (creating && key && !failures.length && !inputs.instanceIds.some(isUnknown)) {
    const view = new Map<string, LiveInstance>([...live].map(([i, d]) => [i, { status: d.Status, keyPairName: d.KeyPairName || undefined, region: d.EnsRegionId }]));
    const plan = planBinding({ desired: inputs.instanceIds, attached: [], live: view, keyPairName: key.KeyPairName, stopInstances: inputs.stopInstances, maxStoppedInstances: inputs.maxStoppedInstances, maxStoppedPerRegion: inputs.maxStoppedPerRegion });
    const running = new Set([...live.values()].filter((i) => i.Status === "Running").map((i) => i.InstanceId));
    out.log(planSummary(plan, { running, stopInstances: inputs.stopInstances, maxStoppedInstances: inputs.maxStoppedInstances, unchanged: 0 }));
  }
  return failures;
}

/** A create has no owner tag of its own yet: any owner on a bound instance is another resource. */
async function ownedElsewhere(client: EnsClient, ids: string[], live: Map<string, Instance>, inputs: Props, out: Reporter): Promise<Failure[]> {
  const bound = ids.filter((id) => live.get(id)?.KeyPairName);
  const owned = bound.length ? [...(await readOwners(client, bound))] : [];
  if (!owned.length) return [];
  const named = `${owned.slice(0, 5).map(([i, o]) => `${i} (owner ${o})`).join(", ")}${owned.length > 5 ? ", ..." : ""}`;
  if (inputs.takeOwnership === true) {
    out.warn(`takeOwnership: this create takes over ${owned.length} instance(s) owned by another resource: ${named}`);
    return [];
  }
  return [{ property: "instanceIds", reason: `${owned.length} instance(s) are bound and owned by another resource: ${named}; ENS holds one key pair per instance: remove them, or set takeOwnership: true to take them over` }];
}
