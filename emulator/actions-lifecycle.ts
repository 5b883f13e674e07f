/** StopInstances / StartInstances (per-instance `InstanceResponses`) and StopInstance / StartInstance. */
import type { ActionContext, ActionDef } from "./actions";
import { Errors, ItemErrors } from "./errors";
import type { Instance } from "./model";
import { Params, optional, repeatedIds, required } from "./params";
import { lifecycleItem } from "./results";
import type { InstanceFailure } from "./types";

interface Transition {
  /** The only status the operation accepts. */
  from: "Running" | "Stopped";
  /** The documented not-found error of the single-instance operation (reused for the batch one). */
  notFound: InstanceFailure;
  apply(ctx: ActionContext, inst: Instance): void;
}

const STOP: Transition = { from: "Running", notFound: ItemErrors.stopNotFound, apply: (ctx, i) => ctx.world.stop(i, ctx.now) };
const START: Transition = { from: "Stopped", notFound: ItemErrors.startNotFound, apply: (ctx, i) => ctx.world.start(i, ctx.now) };

function check(ctx: ActionContext, t: Transition, id: string): InstanceFailure | undefined {
  const inst = ctx.world.instances.get(id);
  if (!inst) return t.notFound;
  return ctx.world.statusOf(inst, ctx.now) === t.from ? undefined : ItemErrors.incorrectStatus;
}

function batch(p: Params, ctx: ActionContext, t: Transition) {
  const ids = repeatedIds(p, "InstanceIds");
  if (ctx.wholeCallPowerFailure) {
    // The fault: the first offending instance fails the whole call before anything changes.
    for (const id of ids) {
      const f = check(ctx, t, id);
      if (f) throw Errors.fromItem(f);
    }
  }
  const responses = ids.map((id) => {
    const f = check(ctx, t, id);
    if (!f) t.apply(ctx, ctx.world.instances.get(id)!);
    return lifecycleItem(ctx.resultCodes, id, f);
  });
  return { InstanceResponses: responses };
}

function single(p: Params, ctx: ActionContext, t: Transition) {
  const id = required(p, "InstanceId");
  const f = check(ctx, t, id);
  if (f) throw Errors.fromItem(f); // 400 InstanceIdNotFound / InstanceNotFound / IncorrectInstanceStatus
  t.apply(ctx, ctx.world.instances.get(id)!);
  return { Code: 0 };
}

const StopInstance: ActionDef = (p, ctx) => {
  const force = optional(p, "ForceStop");
  if (force !== undefined && force !== "true" && force !== "false") {
    throw Errors.invalid("ForceStop", `must be "true" or "false", got ${JSON.stringify(force)}.`);
  }
  return single(p, ctx, STOP);
};

export const LIFECYCLE_ACTIONS: Record<string, ActionDef> = {
  StopInstances: (p, ctx) => batch(p, ctx, STOP),
  StartInstances: (p, ctx) => batch(p, ctx, START),
  StopInstance,
  StartInstance: (p, ctx) => single(p, ctx, START),
};
