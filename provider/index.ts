import { check, configure, create, deleteResource, diff, read, update } from "./provider";

/** The KeyPairAttachment dynamic provider implementation (what the serialized shim loads). */
export const provider = { configure, check, diff, create, read, update, delete: deleteResource };

export { setLogger, parseImportId } from "./provider";
export type { AttachmentOutputs } from "./provider";
export type { AttachmentInputs } from "./validate";
export { checkInputs } from "./validate";
export { planBinding, planBatches } from "./plan";
export type { Plan, PlanInput, Rolling, RollItem, Batch, LiveInstance } from "./plan";
export { nextStep } from "./schedule";
export type { Phase, Step, WindowItem, Bounds } from "./schedule";
export { readSettings, getClient } from "./settings";
export * from "./ens";
export { createBudget, withRetry, DEFAULT_RETRY, NO_RETRY, DEFAULT_BUDGET } from "./policies";
