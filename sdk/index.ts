import * as pulumi from "@pulumi/pulumi";
import { claimInstances } from "./claims";

/** Inputs of {@link KeyPairAttachment}. */
export interface KeyPairAttachmentArgs {
  /** ID of the ENS key pair (`ssh-...`), as DescribeKeyPairs returns it. Give this or `keyPairName`, not both. Changing it replaces the resource. */
  keyPairId?: pulumi.Input<string>;
  /** Name of the ENS key pair. Deprecated by ENS in favour of `keyPairId`; resolved to the ID at apply time. Changing it replaces the resource. */
  keyPairName?: pulumi.Input<string>;
  /** ENS instance IDs (`i-...`) that must carry the key pair; any number up to 10,000. Order does not matter; duplicates are dropped with a warning. Changes are made in place. */
  instanceIds: pulumi.Input<pulumi.Input<string>[]>;
  /** Let the provider stop Running instances first (ENS binds key pairs only to stopped instances) and start them again afterwards. Default false: running instances make the operation fail before any change. */
  stopInstances?: pulumi.Input<boolean>;
  /**
   * With `stopInstances`, how many instances may be stopped by the provider at the same time. Default 30. They roll:
   * each is bound as soon as it is Stopped and started again at once, and the next one is stopped as a slot frees up.
   */
  maxStoppedInstances?: pulumi.Input<number>;
  /**
   * With `stopInstances`, how many instances of one edge region (`EnsRegionId`: one city and carrier) may be stopped at
   * the same time, so that no city goes dark; the work interleaves regions. Default: no limit per region (only
   * `maxStoppedInstances`).
   */
  maxStoppedPerRegion?: pulumi.Input<number>;
  /** With `stopInstances`, force the stop (like pulling the power). Default false. */
  forceStop?: pulumi.Input<boolean>;
  /** How long to wait for an instance to reach Stopped or Running, in seconds (1-3600). Default 300. */
  stopTimeoutSeconds?: pulumi.Input<number>;
  /**
   * Take over bindings that another KeyPairAttachment (in this or another stack) owns: the provider tags every
   * instance it binds with its resource ID, and refuses to adopt, re-key or detach an instance another resource owns
   * unless this is true. Default false. Within one program, two attachments naming the same instance are refused
   * whatever this says.
   */
  takeOwnership?: pulumi.Input<boolean>;
}

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
    return new KeyPairAttachment(name, undefined as unknown as KeyPairAttachmentArgs, { ...opts, id });
  }

  constructor(name: string, args: KeyPairAttachmentArgs, opts?: pulumi.CustomResourceOptions) {
    if (opts?.id !== undefined) {
      // A read (get): the engine asks the provider's read; every output is named so the SDK resolves it.
      const outputs = { keyPairId: undefined, keyPairName: undefined, instanceIds: undefined, attachedInstanceIds: undefined, yieldedInstanceIds: undefined, stopInstances: undefined, maxStoppedInstances: undefined, forceStop: undefined, stopTimeoutSeconds: undefined, takeOwnership: undefined, maxStoppedPerRegion: undefined };
      super(require("../provider/dynamic"), name, { ...outputs, __attachmentName: name }, opts, "ens", "KeyPairAttachment");
      return;
    }
    if (args.keyPairName !== undefined && args.keyPairId === undefined) {
      pulumi.log.warn(`${name}: keyPairName is deprecated by ENS; prefer keyPairId (the name is resolved to its ID, and both are outputs)`);
    }
    // The second attachment of a program to name an instance fails here, before any change (so in preview too).
    const scope = `${pulumi.getProject()}/${pulumi.getStack()}`;
    const claim = (ids: unknown) => {
      const clash = Array.isArray(ids) ? claimInstances(scope, name, ids.filter((i): i is string => typeof i === "string")) : undefined;
      if (clash) throw new Error(clash);
    };
    // A plain list is checked at once (the program stops right here); one known later, when it resolves.
    const plain = Array.isArray(args.instanceIds) && args.instanceIds.every((i) => typeof i === "string");
    if (plain) claim(args.instanceIds);
    const instanceIds = plain
      ? args.instanceIds
      : pulumi.output(args.instanceIds).apply((ids) => {
          claim(ids);
          return ids;
        });
    super(
      // Required here, not imported at the top, so the object serialized is exactly that module's exports.
      require("../provider/dynamic"),
      name,
      // __attachmentName lets the provider name this resource on every line it prints (the dynamic provider gets no URN).
      // __owner names the logical resource (project, stack, name): it survives a replacement, so a key rotation's new
      // resource owns what the old one owned (the dynamic provider gets no URN). See provider/protocol/.
      { ...args, instanceIds, keyPairId: args.keyPairId, keyPairName: args.keyPairName, attachedInstanceIds: undefined, yieldedInstanceIds: undefined, __attachmentName: name, __owner: `${scope}/${name}` },
      opts,
      "ens",
      "KeyPairAttachment",
    );
  }
}
