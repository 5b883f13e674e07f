/**
 * ENS actions: one function per action, params -> response fields (without RequestId), or a thrown EnsFault.
 * Key pair actions live in actions-keypairs.ts, tag actions in actions-tags.ts; this file holds the
 * registry, the instance actions and AttachKeyPair/DetachKeyPair.
 */
import { Errors, ItemErrors } from "./errors";
import { KeyPair, World, Instance } from "./model";
import { Params, commaIds, jsonIds, optional, page, positiveInt, required } from "./params";
import { InstanceFailure } from "./types";
import { KEYPAIR_ACTIONS, resolveKeyPair } from "./actions-keypairs";
import { TAG_ACTIONS } from "./actions-tags";

export interface ActionContext {
  world: World;
  now: number;
  /** Per-instance failure injected by the wire layer's fault configuration (AttachKeyPair/DetachKeyPair results only). */
  instanceFault(instanceId: string): InstanceFailure | undefined;
}
export type ActionResult = Record<string, unknown>;
/** Mutations reach persistence through World.onMutate, so an action is just a function. */
export type ActionDef = (p: Params, ctx: ActionContext) => ActionResult;

// ---------- AttachKeyPair / DetachKeyPair

type Item = { Code: number | string; InstanceId: string; Message: string; Success: boolean };
const okItem = (id: string): Item => ({ Code: 200, InstanceId: id, Message: "successful", Success: true });
const failItem = (id: string, f: InstanceFailure): Item => ({ Code: f.code, InstanceId: id, Message: f.message, Success: false });

function keyPairBatch(p: Params, ctx: ActionContext, perInstance: (inst: Instance, kp: KeyPair) => InstanceFailure | undefined) {
  const ids = jsonIds(p, "InstanceIds", 1, 30);
  const kp = resolveKeyPair(p, ctx.world);
  const results = ids.map((id): Item => {
    const injected = ctx.instanceFault(id);
    if (injected) return failItem(id, injected);
    const inst = ctx.world.instances.get(id);
    if (!inst) return failItem(id, ItemErrors.notFound);
    const failure = perInstance(inst, kp);
    return failure ? failItem(id, failure) : okItem(id);
  });
  return {
    KeyPairId: kp.keyPairId,
    KeyPairName: kp.keyPairName,
    TotalCount: ids.length,
    FailCount: results.filter((r) => !r.Success).length,
    Results: results,
  };
}

const AttachKeyPair: ActionDef = (p, ctx) =>
  keyPairBatch(p, ctx, (inst, kp) => {
    if (inst.keyPairName === kp.keyPairName) return undefined; // already attached: idempotent success
    if (ctx.world.statusOf(inst, ctx.now) !== "Stopped") return ItemErrors.incorrectStatus;
    ctx.world.setKey(inst, kp.keyPairName); // one key per instance: replaces any previous one
    return undefined;
  });

const DetachKeyPair: ActionDef = (p, ctx) =>
  keyPairBatch(p, ctx, (inst, kp) => {
    if (inst.keyPairName !== kp.keyPairName) return ItemErrors.notAttached;
    if (ctx.world.statusOf(inst, ctx.now) !== "Stopped") return ItemErrors.incorrectStatus;
    ctx.world.setKey(inst, undefined);
    return undefined;
  });

// ---------- DescribeInstances

function instanceRecord(w: World, inst: Instance, now: number) {
  const tags = Object.entries(inst.tags ?? {}).map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
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
    Tags: { Tags: tags },
  };
}

const DescribeInstances: ActionDef = (p, { world, now }) => {
  const pageNumber = positiveInt(p, "PageNumber", 1, 1_000_000);
  const pageSize = positiveInt(p, "PageSize", 10, 100);
  const ids = optional(p, "InstanceIds") === undefined ? undefined : jsonIds(p, "InstanceIds", 0, 100);
  const [single, name, status, region] = ["InstanceId", "InstanceName", "Status", "EnsRegionId"].map((k) => optional(p, k));
  let candidates: readonly Instance[] =
    ids && ids.length ? ids.map((id) => world.instances.get(id)).filter((i): i is Instance => !!i) : world.list();
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

// ---------- Stop / Start

type OpResponse = { Code: number | string; InstanceId: string; Message: string };

function lifecycleBatch(p: Params, ctx: ActionContext, from: "Running" | "Stopped", apply: (inst: Instance) => void) {
  const responses = commaIds(p, "InstanceIds").map((id): OpResponse => {
    const f = lifecycleCheck(ctx, id, from);
    if (f) return { Code: f.code, InstanceId: id, Message: f.message };
    apply(ctx.world.instances.get(id)!);
    return { Code: 200, InstanceId: id, Message: "success" };
  });
  return { InstanceResponses: responses };
}

function lifecycleCheck(ctx: ActionContext, id: string, from: string): InstanceFailure | undefined {
  const inst = ctx.world.instances.get(id);
  if (!inst) return ItemErrors.notFound;
  return ctx.world.statusOf(inst, ctx.now) === from ? undefined : ItemErrors.incorrectStatus;
}

function lifecycleSingle(p: Params, ctx: ActionContext, from: "Running" | "Stopped", apply: (inst: Instance) => void) {
  const id = required(p, "InstanceId");
  const inst = ctx.world.instances.get(id);
  if (!inst) throw Errors.instanceNotFound(id);
  if (ctx.world.statusOf(inst, ctx.now) !== from) throw Errors.incorrectStatus();
  apply(inst);
  return { Code: 0 };
}

const StopInstances: ActionDef = (p, ctx) => lifecycleBatch(p, ctx, "Running", (i) => ctx.world.stop(i, ctx.now));
const StartInstances: ActionDef = (p, ctx) => lifecycleBatch(p, ctx, "Stopped", (i) => ctx.world.start(i, ctx.now));
const StopInstance: ActionDef = (p, ctx) => {
  const force = optional(p, "ForceStop");
  if (force !== undefined && force !== "true" && force !== "false") {
    throw Errors.invalid("ForceStop", `must be "true" or "false", got ${JSON.stringify(force)}.`);
  }
  return lifecycleSingle(p, ctx, "Running", (i) => ctx.world.stop(i, ctx.now));
};
const StartInstance: ActionDef = (p, ctx) => lifecycleSingle(p, ctx, "Stopped", (i) => ctx.world.start(i, ctx.now));

export const ACTIONS: Record<string, ActionDef> = {
  AttachKeyPair,
  DetachKeyPair,
  DescribeInstances,
  StopInstances,
  StartInstances,
  StopInstance,
  StartInstance,
  ...KEYPAIR_ACTIONS,
  ...TAG_ACTIONS,
};

export const isAction = (name: string): boolean => Object.prototype.hasOwnProperty.call(ACTIONS, name);
