/**
 * ENS actions: one function per action, params -> response fields (without RequestId), or a thrown EnsFault.
 * AttachKeyPair/DetachKeyPair live in actions-attach.ts, Stop/Start in actions-lifecycle.ts, key pair actions in
 * actions-keypairs.ts, tag actions in actions-tags.ts; this file holds the context, the registry and
 * DescribeInstances. Which source backs each rule: emulator/CONFORMANCE.md.
 */
import type { Instance, World } from "./model";
import { Params, jsonIds, optional, optionalJson, page, positiveInt } from "./params";
import type { InstanceFailure, ResultCodeStyle } from "./types";
import { ATTACH_ACTIONS } from "./actions-attach";
import { KEYPAIR_ACTIONS } from "./actions-keypairs";
import { LIFECYCLE_ACTIONS } from "./actions-lifecycle";
import { TAG_ACTIONS } from "./actions-tags";

export interface ActionContext {
  world: World;
  now: number;
  /** Per-instance failure injected by the wire layer's fault configuration (AttachKeyPair/DetachKeyPair results only). */
  instanceFault(instanceId: string): InstanceFailure | undefined;
  /** Form of `Code` in per-instance results (see results.ts). */
  resultCodes: ResultCodeStyle;
  /** The wholeCallPowerFailure fault: Stop/StartInstances fail as a whole call instead of per instance. */
  wholeCallPowerFailure: boolean;
}
export type ActionResult = Record<string, unknown>;
/** Mutations reach persistence through World.onMutate, so an action is just a function. */
export type ActionDef = (p: Params, ctx: ActionContext) => ActionResult;

// ---------- DescribeInstances

/** The fields of DescribeInstancesResponseBody's instance this emulator models; no Tags ("not returned"). */
function instanceRecord(w: World, inst: Instance, now: number) {
  return {
    InstanceId: inst.instanceId,
    InstanceName: inst.instanceName,
    HostName: inst.instanceId,
    Status: w.statusOf(inst, now),
    EnsRegionId: inst.ensRegionId,
    ...(inst.keyPairName ? { KeyPairName: inst.keyPairName } : {}),
    ImageId: "centos_7_9_x64_20G_alibase_20240101",
    OSName: "CentOS 7.9 64 bit",
    SpecName: "ens.sn1.stiny",
    InstanceResourceType: "EnsInstance",
    Cpu: "1",
    Memory: 1024,
    CreationTime: inst.creationTime,
  };
}

const DescribeInstances: ActionDef = (p, { world, now }) => {
  const pageNumber = positiveInt(p, "PageNumber", 1, 1_000_000);
  const pageSize = positiveInt(p, "PageSize", 10, 100);
  // InstanceIds absent (or "null") = no filter; "[]" is a valid filter that matches nothing.
  const ids = optionalJson(p, "InstanceIds") === undefined ? undefined : jsonIds(p, "InstanceIds", 0, 100);
  const [single, name, status, region] = ["InstanceId", "InstanceName", "Status", "EnsRegionId"].map((k) => optional(p, k));
  let candidates: readonly Instance[] = ids ? ids.map((id) => world.instances.get(id)).filter((i): i is Instance => !!i) : world.list();
  if (single || name || status || region) {
    candidates = candidates.filter(
      (i) =>
        (!single || i.instanceId === single) &&
        (!name || i.instanceName === name) &&
        (!region || i.ensRegionId === region) &&
        (!status || world.statusOf(i, now) === status),
    );
  }
  return {
    Code: 0,
    Instances: { Instance: page(candidates, pageNumber, pageSize).map((i) => instanceRecord(world, i, now)) },
    PageNumber: pageNumber,
    PageSize: pageSize,
    TotalCount: candidates.length,
  };
};

export const ACTIONS: Record<string, ActionDef> = {
  ...ATTACH_ACTIONS,
  DescribeInstances,
  ...LIFECYCLE_ACTIONS,
  ...KEYPAIR_ACTIONS,
  ...TAG_ACTIONS,
};

export const isAction = (name: string): boolean => Object.prototype.hasOwnProperty.call(ACTIONS, name);
