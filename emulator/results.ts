/**
 * Rendering of per-instance outcomes inside a successful (HTTP 200) batch answer, in either result-code style:
 *  - "number" (default): `Code` is a JSON number as the SDK models type it (AttachKeyPairResponseBody.ts
 *    `code?: number`, instance_operate_response_model.go `Code *int64`): 200 on success, 400 on failure with
 *    "<ErrorName>: <text>" in `Message`;
 *  - "string": `Code` is the error name itself, `Message` the bare text (the emulator's former answer).
 */
import type { InstanceFailure, ResultCodeStyle } from "./types";
import { RESULT_CODE_STYLES } from "./types";

/** Numeric Code of a failed item: no source gives one, so every failure is 400, like the documented whole-call errors. */
export const ITEM_FAILURE_CODE = 400;

export type KeyPairItem = { Code: number | string; InstanceId: string; Message: string; Success: boolean };
export type LifecycleItem = { Code: number | string; InstanceId: string; Message: string };

function failed(style: ResultCodeStyle, f: InstanceFailure): { Code: number | string; Message: string } {
  return style === "number"
    ? { Code: ITEM_FAILURE_CODE, Message: `${f.code}: ${f.message}` }
    : { Code: f.code, Message: f.message };
}

/** AttachKeyPair / DetachKeyPair `Results[]` item; success Message "successful" as the model remarks say. */
export function keyPairItem(style: ResultCodeStyle, instanceId: string, failure?: InstanceFailure): KeyPairItem {
  if (!failure) return { Code: 200, InstanceId: instanceId, Message: "successful", Success: true };
  const { Code, Message } = failed(style, failure);
  return { Code, InstanceId: instanceId, Message, Success: false };
}

/** StopInstances / StartInstances `InstanceResponses[]` item (no Success field in the models). */
export function lifecycleItem(style: ResultCodeStyle, instanceId: string, failure?: InstanceFailure): LifecycleItem {
  if (!failure) return { Code: 200, InstanceId: instanceId, Message: "success" };
  const { Code, Message } = failed(style, failure);
  return { Code, InstanceId: instanceId, Message };
}

export function validateResultCodes(v: unknown): ResultCodeStyle {
  if (!RESULT_CODE_STYLES.includes(v as ResultCodeStyle)) {
    throw new Error(`resultCodes must be "number" or "string", got ${JSON.stringify(v)}`);
  }
  return v as ResultCodeStyle;
}
