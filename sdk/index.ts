import * as pulumi from "@pulumi/pulumi";
import { CLAIM_ADVICE, claimCollisions, claimInstances, claimScope } from "./claims";

/**
 * Inputs of {@link KeyPairAttachment}: the key pair, by exactly one of `keyPairId` (recommended) and `keyPairName`
 * (deprecated by ENS), and the common inputs.
 */
export type KeyPairAttachmentArgs = KeyPairAttachmentCommonArgs & (KeyPairById | KeyPairByName);

/** The key pair by its ID, as ENS recommends. */
export interface KeyPairById {
  /** ID of the ENS key pair (`ssh-...`), as DescribeKeyPairs returns it. Give this or `keyPairName`, not both. Changing it replaces the resource. */
  keyPairId: pulumi.Input<string>;
  /**
   * Not with `keyPairId`: give one of the two.
   * @deprecated ENS deprecates key pair names in favour of `keyPairId`.
   */
  keyPairName?: never;
}

/** The key pair by its name, deprecated by ENS (what pulumi-alicloud's `alicloud.ens.KeyPair` exposes). */
export interface KeyPairByName {
  /**
   * Name of the ENS key pair, resolved to its ID at apply time (both are outputs). Give this or `keyPairId`, not both.
   * Changing it replaces the resource.
   * @deprecated ENS deprecates key pair names in favour of `keyPairId`. The name keeps working; no warning is printed
   * at run time, since the ID is not always at hand (pulumi-alicloud's `alicloud.ens.KeyPair` exposes only the name).
   */
  keyPairName: pulumi.Input<string>;
  /** Give `keyPairId` or `keyPairName`, not both. */
  keyPairId?: never;
}

/** Inputs of {@link KeyPairAttachment} other than the key pair. */
export interface KeyPairAttachmentCommonArgs {
  /** ENS instance IDs (`i-...`) that must carry the key pair; any number up to 10,000. Order does not matter; duplicates are dropped with a warning. Changes are made in place. */
  instanceIds: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Let the provider stop Running instances first (ENS binds key pairs only to stopped instances) and start them again
   * afterwards. Without it, running instances make the operation fail before any change.
   * @defaultValue `false`
   */
  stopInstances?: pulumi.Input<boolean>;
  /**
   * With `stopInstances`, how many instances may be stopped by the provider at the same time. They roll: each is bound
   * as soon as it is Stopped and started again at once, and the next one is stopped as a slot frees up.
   * @defaultValue `30`
   */
  maxStoppedInstances?: pulumi.Input<number>;
  /**
   * With `stopInstances`, how many instances of one edge region (`EnsRegionId`: one city and carrier) may be stopped at
   * the same time, so that no city goes dark; the work interleaves regions.
   * @defaultValue no limit per region (only `maxStoppedInstances`)
   */
  maxStoppedPerRegion?: pulumi.Input<number>;
  /**
   * With `stopInstances`, force the stop (like pulling the power).
   * @defaultValue `false`
   */
  forceStop?: pulumi.Input<boolean>;
  /**
   * How long to wait for an instance to reach Stopped or Running, in seconds (1-3600).
   * @defaultValue `300`
   */
  stopTimeoutSeconds?: pulumi.Input<number>;
  /**
   * Take over bindings that another KeyPairAttachment (in this or another stack) owns: the provider tags every
   * instance it binds with its resource ID, and refuses to adopt, re-key or detach an instance another resource owns
   * unless this is true. Within one program, two attachments naming the same instance are refused whatever this says.
   * @defaultValue `false`
   */
  takeOwnership?: pulumi.Input<boolean>;
  /**
   * The ENS account this attachment's instances and key pair live in, with pulumi-alicloud's provider names, so that
   * one program can span accounts. Each field left out falls back to the stack settings (`ens:endpoint` /
   * `ENS_ENDPOINT`, `alicloud:accessKey`, ...). `secretKey` and `securityToken` are stored as Pulumi secrets (and the
   * whole `account` output is secret), so the state never holds them in plain text; delete reads them from there.
   * Changing `endpoint` replaces the resource (another ENS, another account's instances); any other change is an
   * update that stores the new credentials, with no binding call.
   * @defaultValue the stack's account
   */
  account?: pulumi.Input<AccountArgs>;
}

/** An ENS account, as pulumi-alicloud's `alicloud.Provider` takes it. */
export interface AccountArgs {
  /** ENS endpoint URL; default `ens:endpoint` / `ENS_ENDPOINT`, else `https://ens.aliyuncs.com`. Changing it replaces the resource. */
  endpoint?: pulumi.Input<string>;
  /** Region ID (`cn-hangzhou`): picks the STS endpoint for `assumeRole` (`sts.<region>.aliyuncs.com`). ENS itself has one endpoint for every region. */
  region?: pulumi.Input<string>;
  /** AccessKey ID; with `secretKey`. Default: the stack's credentials. */
  accessKey?: pulumi.Input<string>;
  /** AccessKey secret (stored as a Pulumi secret): `config.requireSecret("secretKey")`. */
  secretKey?: pulumi.Input<string>;
  /** STS token that goes with a temporary `accessKey` / `secretKey` (stored as a Pulumi secret). */
  securityToken?: pulumi.Input<string>;
  /** A profile of the `aliyun` CLI (`~/.aliyun/config.json`) or of `~/.alibabacloud/credentials`; not with `accessKey`. */
  profile?: pulumi.Input<string>;
  /** A RAM role to assume with STS AssumeRole, signed with this account's key or profile, else the stack's credentials. */
  assumeRole?: pulumi.Input<AccountAssumeRoleArgs>;
}

/** pulumi-alicloud's `assumeRole` block. */
export interface AccountAssumeRoleArgs {
  roleArn: pulumi.Input<string>;
  /** RoleSessionName; default `pulumi-ens-keypair-<time>`. */
  sessionName?: pulumi.Input<string>;
  /** A policy (JSON text) narrowing the role's permissions. */
  policy?: pulumi.Input<string>;
  /** Seconds, 900-43200. @defaultValue `3600` */
  sessionExpiration?: pulumi.Input<number>;
  externalId?: pulumi.Input<string>;
}

const SECRET_FIELDS = ["secretKey", "securityToken"] as const;

/** `account` with its secret fields as Pulumi secrets (an account given as one Output becomes one secret). */
function secretAccount(account: pulumi.Input<AccountArgs> | undefined): pulumi.Input<AccountArgs> | undefined {
  if (account === undefined || account === null) return account;
  if (pulumi.Output.isInstance(account) || typeof (account as { then?: unknown }).then === "function") return pulumi.secret(account);
  const out: Record<string, unknown> = { ...(account as AccountArgs) };
  for (const k of SECRET_FIELDS) if (out[k] !== undefined && out[k] !== null) out[k] = pulumi.secret(out[k] as pulumi.Input<string>);
  return out as AccountArgs;
}

/** The fields that tell accounts apart (no secret), when the program gave them as plain values; else undefined. */
function plainIdentity(account: unknown): { known: boolean; identity?: Record<string, unknown> } {
  if (account === undefined || account === null) return { known: true };
  if (typeof account !== "object" || pulumi.Output.isInstance(account) || typeof (account as { then?: unknown }).then === "function") return { known: false };
  const a = account as Record<string, unknown>;
  const role = a.assumeRole as Record<string, unknown> | undefined;
  const identity = { endpoint: a.endpoint, accessKey: a.accessKey, profile: a.profile, assumeRole: role && typeof role === "object" && !pulumi.Output.isInstance(role) ? { roleArn: role.roleArn } : role };
  const plain = (v: unknown) => v === undefined || v === null || typeof v === "string";
  const known = plain(identity.endpoint) && plain(identity.accessKey) && plain(identity.profile) && (identity.assumeRole === undefined || (typeof identity.assumeRole === "object" && plain((identity.assumeRole as { roleArn?: unknown }).roleArn)));
  return { known, identity };
}

/** The collisions of plain instance lists found in the current turn of a program, per stack, and their verdict. */
const turns = new Map<string, { clashes: string[]; verdict: Promise<void> }>();

/**
 * Claims `ids` for `resource`; returns the verdict of this turn of the program (the synchronous run of its code, in
 * which it declares its resources): it resolves when no two attachments of the turn collide. Otherwise one error
 * names every collision: a RunError, which Pulumi prints as its message alone (no stack trace, no colour codes). It
 * is thrown, so that the program's handler reports it first with its message intact, and it also rejects the verdict,
 * so that no attachment is registered; those rejections are the same error, which Pulumi reports only once.
 */
function claimNow(scope: string, resource: string, ids: string[]): Promise<void> {
  let turn = turns.get(scope);
  if (!turn) {
    const clashes: string[] = [];
    const verdict = new Promise<void>((resolve, reject) =>
      setImmediate(() => {
        turns.delete(scope);
        if (!clashes.length) return resolve();
        const error = new pulumi.RunError(`${clashes.join("\n")}\n${CLAIM_ADVICE}`);
        reject(error);
        throw error;
      }),
    );
    turns.set(scope, (turn = { clashes, verdict }));
  }
  turn.clashes.push(...claimCollisions(scope, resource, ids));
  return turn.verdict;
}

/** The two ID forms {@link KeyPairAttachment.get} reads: the resource ID and the import form. */
const ATTACHMENT_ID = /^ssh-[A-Za-z0-9]+:(att-[0-9a-fA-F]{8}|i-[^,\s]+(,i-[^,\s]+)*)$/;

/**
 * Binds one ENS SSH key pair to a set of ENS instances: AttachKeyPair on create, DetachKeyPair on delete, and on
 * update a detach of removed instances and an attach of added ones, in batches of at most 30.
 *
 * Resource ID: `<keyPairId>:att-<8 hex>`. Import ID: `<keyPairId>:<instanceId>[,<instanceId>...]` (the `import`
 * option cannot work at @pulumi/pulumi 3.248; {@link KeyPairAttachment.get} reads an existing attachment).
 */
export class KeyPairAttachment extends pulumi.dynamic.Resource {
  /** ID of the key pair, resolved from `keyPairName` when that was given. */
  public readonly keyPairId!: pulumi.Output<string>;
  /** Name of the key pair, resolved from `keyPairId` when that was given. */
  public readonly keyPairName!: pulumi.Output<string>;
  /** The instances asked for (deduplicated). */
  public readonly instanceIds!: pulumi.Output<string[]>;
  /** The instances that really carry the key pair now: after a partial failure or drift it differs from `instanceIds`. */
  public readonly attachedInstanceIds!: pulumi.Output<string[]>;
  /** Instances asked for that another attachment took over (takeOwnership, or a concurrent run won): left to their owner. */
  public readonly yieldedInstanceIds!: pulumi.Output<string[]>;
  /** Whether the provider may stop Running instances first and start them again afterwards. */
  public readonly stopInstances!: pulumi.Output<boolean>;
  /** With `stopInstances`, the most instances stopped by the provider at the same time. */
  public readonly maxStoppedInstances!: pulumi.Output<number>;
  /** With `stopInstances`, the most instances of one `EnsRegionId` stopped at the same time; undefined = no limit per region. */
  public readonly maxStoppedPerRegion!: pulumi.Output<number | undefined>;
  /** With `stopInstances`, whether stops are forced (StopInstance with ForceStop, one call per instance). */
  public readonly forceStop!: pulumi.Output<boolean>;
  /** How long the provider waits for an instance to reach Stopped or Running, in seconds. */
  public readonly stopTimeoutSeconds!: pulumi.Output<number>;
  /** Whether this attachment may take over bindings another resource owns. */
  public readonly takeOwnership!: pulumi.Output<boolean | undefined>;

  /**
   * Reads an attachment that already exists in ENS into the program, without managing it (Pulumi's `get`): no change
   * is made, and `pulumi destroy` leaves the bindings alone. `id` is either this resource's ID
   * (`<keyPairId>:att-<8 hex>`: resolves the key pair; with no instance list to look at, `attachedInstanceIds` is
   * empty) or the import form `<keyPairId>:<instanceId>[,<instanceId>...]`, which reads which of those instances carry
   * the key pair now. The ID is kept as given. For a key pair ENS does not know, the engine (at @pulumi/pulumi 3.248)
   * does not fail the read: the outputs are undefined, so check `keyPairId`.
   */
  public static get(name: string, id: pulumi.Input<pulumi.ID>, opts?: pulumi.CustomResourceOptions): KeyPairAttachment {
    // A plain string is checked here: the engine would otherwise read nothing and leave every output undefined.
    if (typeof id === "string" && !ATTACHMENT_ID.test(id)) {
      throw new pulumi.RunError(
        `KeyPairAttachment.get(${JSON.stringify(name)}, ${JSON.stringify(id)}): not an attachment ID; expected <keyPairId>:att-<8 hex> ` +
          `(the resource ID, as \`pulumi stack output\` or the state shows it) or <keyPairId>:<instanceId>[,<instanceId>...] ` +
          `(for example ssh-5f8e...:i-5pk7...,i-50f8...)`,
      );
    }
    return new KeyPairAttachment(name, undefined as unknown as KeyPairAttachmentArgs, { ...opts, id });
  }

  constructor(name: string, args: KeyPairAttachmentArgs, opts?: pulumi.CustomResourceOptions) {
    if (opts?.id !== undefined) {
      // A read (get): the engine asks the provider's read; every output is named so the SDK resolves it.
      const outputs = { keyPairId: undefined, keyPairName: undefined, instanceIds: undefined, attachedInstanceIds: undefined, yieldedInstanceIds: undefined, stopInstances: undefined, maxStoppedInstances: undefined, forceStop: undefined, stopTimeoutSeconds: undefined, takeOwnership: undefined, maxStoppedPerRegion: undefined };
      super(require("../provider/dynamic"), name, { ...outputs, __attachmentName: name }, opts, "ens", "KeyPairAttachment");
      return;
    }
    // keyPairName prints no deprecation warning: the typings mark it (@deprecated), where the code is written. A warning
    // on every run could not be acted on by those who wire pulumi-alicloud's alicloud.ens.KeyPair, which has no ID output.
    // Two attachments of a program naming the same instance fail the program before any change (so in preview too).
    const stackScope = `${pulumi.getProject()}/${pulumi.getStack()}`;
    // Claims are per ENS account: two accounts may both have an instance i-xxx (see claims.ts).
    const account = plainIdentity(args.account);
    // Not a list (a string, null): nothing to claim; the provider's check names the field and the fix.
    const strings = (ids: unknown) => (Array.isArray(ids) ? ids.filter((i): i is string => typeof i === "string") : []);
    // A plain list is claimed at once; every attachment then waits for the verdict of the program's turn, so all the
    // collisions of a program are named in one run, and no attachment of a program that has one is registered.
    const plain = Array.isArray(args.instanceIds) && args.instanceIds.every((i) => typeof i === "string") && account.known;
    // An account known later is read for its identity only, never its secrets (unsecret: instanceIds stays plain).
    const identity = account.known ? pulumi.output(account.identity) : pulumi.unsecret(pulumi.output(args.account as pulumi.Input<AccountArgs>)).apply((a) => plainIdentity(a).identity);
    const instanceIds = plain
      ? pulumi.output(claimNow(claimScope(pulumi.getProject(), pulumi.getStack(), account.identity), name, args.instanceIds as string[]).then(() => args.instanceIds as string[]))
      : // A list (or account) known later is claimed when it resolves.
        pulumi.all([pulumi.output(args.instanceIds), identity]).apply(([ids, id]) => {
          const clash = claimInstances(claimScope(pulumi.getProject(), pulumi.getStack(), id), name, strings(ids));
          if (clash) throw new pulumi.RunError(clash);
          return ids;
        });
    super(
      // Required here, not imported at the top, so the object serialized is exactly that module's exports.
      require("../provider/dynamic"),
      name,
      // __attachmentName lets the provider name this resource on every line it prints (the dynamic provider gets no URN).
      // __owner names the logical resource (project, stack, name): it survives a replacement, so a key rotation's new
      // resource owns what the old one owned (the dynamic provider gets no URN). See provider/protocol/.
      { ...args, instanceIds, keyPairId: args.keyPairId, keyPairName: args.keyPairName, account: secretAccount(args.account), attachedInstanceIds: undefined, yieldedInstanceIds: undefined, __attachmentName: name, __owner: `${stackScope}/${name}` },
      // The account output holds the credentials delete needs: secret in the state, whatever the engine version.
      args.account === undefined ? opts : { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "account"] },
      "ens",
      "KeyPairAttachment",
    );
  }
}
