/**
 * One owner per binding, within a program: ENS holds one key pair per instance, so two KeyPairAttachments that name
 * the same instance would take it from each other on every run (with the same key, removing one strips the other).
 * Each attachment registers the instances it names; the second one to name an instance is refused before anything
 * changes, so `pulumi preview` already says which two resources collide. Across stacks, owner tags in ENS do the same.
 */
export interface Claim {
  resource: string;
  instanceIds: string[];
}

/**
 * The scope of claims: the stack, and the ENS account the attachment names (two accounts may both have an instance
 * i-xxx). An attachment without `account` is in the stack's default account. The account is told apart by what the
 * program gives (endpoint, key ID, profile, role), never by a secret; fields left to the stack settings are
 * the default account's.
 */
export function claimScope(project: string, stack: string, account: { [field: string]: unknown } | undefined): string {
  const base = `${project}/${stack}`;
  if (!account || typeof account !== "object") return base;
  const text = (v: unknown) => (typeof v === "string" && v ? v : undefined);
  const endpoint = text(account.endpoint)?.replace(/\/+$/, "").replace(/^(?![a-z]+:\/\/)/i, "https://").toLowerCase();
  const role = account.assumeRole && typeof account.assumeRole === "object" ? text((account.assumeRole as { roleArn?: unknown }).roleArn) : undefined;
  // Not the region: ENS has one endpoint for every region, and an instance ID names the same instance in all of them.
  const parts = [endpoint, text(account.accessKey), text(account.profile), role];
  return parts.some((p) => p !== undefined) ? `${base}#${JSON.stringify(parts)}` : base;
}

/** Claims of the program run per stack and account (a process may run several stacks through the Automation API). */
const registry = new Map<string, Map<string, Set<string>>>();

/** What to do about a collision, said once after the collisions. */
export const CLAIM_ADVICE = "An ENS instance holds one key pair and has one owner: list each instance in one KeyPairAttachment only";

/**
 * Registers `resource`'s instances under `scope`; returns one sentence per other resource of the same scope that
 * already claimed some of them (naming both resources and the shared instances), else an empty list. A resource that
 * collides is not registered. Re-registering a name (a program run again in the same process) replaces its earlier
 * claim.
 */
export function claimCollisions(scope: string, resource: string, instanceIds: readonly string[]): string[] {
  const claims = registry.get(scope) ?? new Map<string, Set<string>>();
  registry.set(scope, claims);
  const mine = new Set(instanceIds);
  const clashes: string[] = [];
  for (const [other, theirs] of claims) {
    if (other === resource) continue;
    const shared = [...mine].filter((id) => theirs.has(id));
    if (shared.length) {
      clashes.push(`KeyPairAttachment "${resource}" and "${other}" both name ${shared.length} instance(s): ${shared.slice(0, 5).join(", ")}${shared.length > 5 ? ", ..." : ""}.`);
    }
  }
  if (!clashes.length) claims.set(resource, mine);
  return clashes;
}

/** {@link claimCollisions} as one message (every collision, then what to do), or undefined when there is none. */
export function claimInstances(scope: string, resource: string, instanceIds: readonly string[]): string | undefined {
  const clashes = claimCollisions(scope, resource, instanceIds);
  return clashes.length ? `${clashes.join(" ")} ${CLAIM_ADVICE}` : undefined;
}
