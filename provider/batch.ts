/** ENS's per-call limits. */
export const MAX_BINDING_BATCH = 30; // AttachKeyPair / DetachKeyPair InstanceIds
export const MAX_DESCRIBE_IDS = 100; // DescribeInstances InstanceIds and PageSize
export const MAX_TAG_RESOURCES = 50; // ResourceId.N of TagResources / UntagResources / ListTagResources (ListTagResourcesRequest.ts)

/** Splits items into consecutive batches of at most `size`: ceil(n/size) batches, all full but the last. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch size must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
