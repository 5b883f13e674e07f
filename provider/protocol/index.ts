/**
 * The multi-writer protocol: how runs of KeyPairAttachments (of one stack, of several stacks, of people's scripts
 * sharing an account) agree on who binds which instance and who may stop it. ENS has no compare-and-set, no locks and
 * records nobody who manages a binding, so the protocol lives in instance tags (tags.ts: the owner's claim, the owner's name beside it, a run's lease) and these rules:
 *
 * 1. Owner = the logical resource. The owner tag names `<project>/<stack>/<resource name>` (from the SDK) and the key
 *    pair it binds; it survives a replacement, so a key rotation's new resource owns what the old one owned. Tags
 *    written before owner names carried the resource ID: a resource recognizes its own ID and rewrites them.
 * 2. A takeover is final. An owner's claim stands while the instance carries that owner's key (or the claim is fresh:
 *    written before the binding call it announces). A resource never re-keys, detaches or adopts an instance whose
 *    standing claim is another's: with takeOwnership it may take an instance it did not have; an instance it had and
 *    lost is dropped from its state (recorded as yielded, so later runs change nothing). A claim that no longer
 *    stands is stale and replaced, with a warning naming it.
 * 3. Claim before bind, check after. A run reads the tags, writes its claim (and lease), waits the settle time, reads
 *    them back, and binds only what is still its own; after binding it reads claims and keys again. An instance lost
 *    to a concurrent run is reported naming the winner and left out of the state. A claim whose binding did not happen
 *    (the call failed, the stop failed, the run gave up) is taken back: the tag is again what the run read before.
 * 4. Leases are a run's. Before stopping an instance a run writes `<run>.<bounds>@<expiry>@<owner>`, renews it at a third of
 *    its lifetime and removes it (only while still its own) once the instance runs again. A run never starts an
 *    instance under another live run's lease; it starts its own resource's dead runs' instances (waiting, bounded)
 *    and anyone's expired ones (without waiting).
 * 5. Stop limits hold for the fleet: what other windows of the process and other runs' live leases hold down counts
 *    against maxStoppedInstances and maxStoppedPerRegion, and the bounds a lease carries hold while its run has
 *    instances down (fleet.ts). A stop step reads the leases before and after it is taken; runs that overflow give
 *    their newest instances back and back off for a random while.
 * 6. Tag failures stay per instance: an instance that cannot take a tag is not stopped and not bound (tagging.ts).
 * 7. Without the tag actions in RAM, nothing runs: the first tag read of an operation fails with one sentence naming
 *    the actions to grant (permissions.ts), unless the user opts out with `ens:ownershipTags false`: then the tags
 *    are kept in the provider process (local-tags.ts) and rules 1-6 hold only among the attachments of one program's
 *    run, which every resource is told once.
 *
 * What no state will bring back (a create killed mid-way, then `pulumi destroy`, which never calls the provider for a
 * create the engine holds only as pending) is recovered by hand with the same rules: `ens-keypair-recover` (recover.ts)
 * starts what the owner's expired leases hold, leaves live ones, and releases or unbinds the owner's claims.
 *
 * Limits without compare-and-set: two runs that both read an instance free and whose claims land within the settle
 * time of each other (ENS applying a TagResources call later than that after it was sent) can both bind it; the check
 * after the bind then reports the loser, and the winner's next run restores its key if the loser's call came last.
 */
export * from "./tags";
export * from "./tagging";
export * from "./owners";
export * from "./leases";
export * from "./fleet";
export * from "./permissions";
export * from "./local-tags";
