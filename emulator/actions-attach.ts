/** AttachKeyPair / DetachKeyPair: one key pair, 1-30 instances, per-instance outcomes in `Results`. */
import type { ActionContext, ActionDef } from "./actions";
import { Errors, ItemErrors } from "./errors";
import type { Instance, KeyPair } from "./model";
import { Params, jsonIds } from "./params";
import { keyPairItem } from "./results";
import type { InstanceFailure } from "./types";
import { resolveKeyPair } from "./actions-keypairs";

type PerInstance = (inst: Instance, kp: KeyPair) => InstanceFailure | undefined;

function keyPairBatch(ids: string[], kp: KeyPair, ctx: ActionContext, perInstance: PerInstance) {
  const results = ids.map((id) => {
    const injected = ctx.instanceFault(id);
    const inst = ctx.world.instances.get(id);
    const failure = injected ?? (inst ? perInstance(inst, kp) : ItemErrors.notFound);
    return keyPairItem(ctx.resultCodes, id, failure);
  });
  return {
    KeyPairId: kp.keyPairId,
    KeyPairName: kp.keyPairName,
    TotalCount: ids.length,
    FailCount: results.filter((r) => !r.Success).length,
    Results: results,
  };
}

const request = (p: Params, ctx: ActionContext) => {
  const ids = jsonIds(p, "InstanceIds", 1, 30);
  return { ids, ...resolveKeyPair(p, ctx.world) };
};

const AttachKeyPair: ActionDef = (p, ctx) => {
  const { ids, kp } = request(p, ctx);
  return keyPairBatch(ids, kp, ctx, (inst) => {
    if (inst.keyPairName === kp.keyPairName) return undefined; // already attached: idempotent success
    if (ctx.world.statusOf(inst, ctx.now) !== "Stopped") return ItemErrors.incorrectStatus;
    ctx.world.setKey(inst, kp.keyPairName); // one key per instance: replaces any previous one
    return undefined;
  });
};

const DetachKeyPair: ActionDef = (p, ctx) => {
  const { ids, kp, byName } = request(p, ctx);
  if (byName) {
    // "The operation returns an error if you specify KeyPairName and any of the specified instances are not
    // associated with that key pair name": the whole call fails and nothing is detached. Unknown instances stay
    // per-instance results (our choice).
    const strangers = ids.filter((id) => {
      const inst = ctx.world.instances.get(id);
      return inst !== undefined && inst.keyPairName !== kp.keyPairName;
    });
    if (strangers.length) throw Errors.keyNotAttached(kp.keyPairName, strangers);
  }
  return keyPairBatch(ids, kp, ctx, (inst) => {
    if (inst.keyPairName !== kp.keyPairName) return ItemErrors.notAttached;
    if (ctx.world.statusOf(inst, ctx.now) !== "Stopped") return ItemErrors.incorrectStatus;
    ctx.world.setKey(inst, undefined);
    return undefined;
  });
};

export const ATTACH_ACTIONS: Record<string, ActionDef> = { AttachKeyPair, DetachKeyPair };
