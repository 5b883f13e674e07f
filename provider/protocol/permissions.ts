import { EnsError } from "../ens";

/**
 * The protocol lives in tags: a RAM user without the tag actions cannot use the provider safely. Their refusal is
 * turned into one sentence listing what to grant, before any change (the first tag call of every operation is a read).
 */
export const TAG_ACTIONS = ["ens:ListTagResources", "ens:TagResources", "ens:UntagResources"];
export const ALL_ACTIONS = ["ens:DescribeKeyPairs", "ens:DescribeInstances", "ens:AttachKeyPair", "ens:DetachKeyPair", ...TAG_ACTIONS, "ens:StopInstances", "ens:StartInstances", "ens:StopInstance"];

/** RAM's refusals: `Forbidden.RAM`, `NoPermission`, `Forbidden.NoPermission`, or any HTTP 403. */
export const isDenied = (e: unknown): e is EnsError => e instanceof EnsError && (/^(Forbidden|NoPermission)/.test(e.code) || e.httpStatus === 403);

export async function withTagPermission<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (e) {
    if (!isDenied(e)) throw e;
    throw new EnsError(
      e.code,
      `${e.action}: ${e.code}: the access key may not call ${e.action}. pulumi-ens-keypair records who owns each binding and which run stopped an instance in instance tags: grant ${TAG_ACTIONS.join(", ")} (the provider calls ${ALL_ACTIONS.join(", ")}), or set ens:ownershipTags false to run without them (owners and crash marks then live only in the provider process; see the README). Nothing was changed.`,
      e.action,
      e.httpStatus,
      e.requestId,
    );
  }
}
