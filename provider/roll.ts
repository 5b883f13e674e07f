import { failAll, record, runBatch } from "./bind";
import { EnsClient, EnsError } from "./ens";
import type { ActionFailure, BindingKey, ExecuteOptions, ExecutionResult } from "./execute";
import { bringBack, changePower, InstanceFailure } from "./instances";
import { pollDelayMs } from "./policies";
import { asEnsError, GONE_CODE, goneFailure } from "./observe";
import { Batch, Rolling } from "./plan";
import { afterPoll, Bounds, DOWN, isIdle, nextStep, Phase, POLLED, Step, WindowItem, windowCounts } from "./schedule";
import { claimSettleMs, claimTag, concurrencyLine, downElsewhere, effectiveBounds, findLeases, LeaseBounds, isMine, LEASE_TAG, leaseLifetimeMs, leaseTag, ofRun, ownerNameTag, readTags, registerWindow, sortLeases, tagEach, untagIf } from "./protocol";

/**
 * The rolling window's executor: poll (DescribeInstances, 100 IDs a call, only the instances in flight), ask the
 * scheduler (schedule.ts), act, and again. Before an instance is stopped, this run takes it under the protocol
 * (protocol/index.ts): lease, and for an attach the owner claim, read back; the lease is renewed while the run works
 * and removed once the instance runs again. Whatever this run may have stopped and not seen Running again is started
 * in the finally, even on errors. Outcomes come from what ENS shows (changePower and runBatch confirm every failure).
 */

/** Phases that end by themselves (a poll, a call or a restart under way): while any is present, slots may free. */
const IN_FLIGHT: ReadonlySet<Phase> = new Set<Phase>(["stopping", "stopped", "bound", "starting", "held"]);

/** At most one progress line this often (ENS_PROGRESS_EVERY_MS, for tests). */
const progressEveryMs = () => Number(process.env.ENS_PROGRESS_EVERY_MS) || 5000;
/** Leases of instances running again are removed in calls of this many (UntagResources takes 50), or every FLEET_REFRESH_MS. */
const UNMARK_BATCH = 50;
/** How often the window reads other runs' leases, which count against its bounds. */
const FLEET_REFRESH_MS = 5000;

export async function roll(client: EnsClient, key: BindingKey, rolling: Rolling, opts: ExecuteOptions, result: ExecutionResult): Promise<void> {
  if (rolling.instances.length) await new Window(client, key, rolling, opts, result).run();
}

class Window {
  private readonly items: WindowItem[];
  private readonly byId: Map<string, WindowItem>;
  private readonly bounds: Bounds;
  /** When each instance entered its phase (for the stop and start time-outs). */
  private readonly since = new Map<string, number>();
  private mayStopMore = true;
  private why: string | undefined;
  private boundCount = 0;
  /** Running again (or never stopped) but maybe still marked. */
  private toUnmark: string[] = [];
  private lastLog = 0;
  private logged = false;
  /** Restarts of instances given up on, under way (they count against the bounds until they are over). */
  private restarts: Promise<void>[] = [];
  /** Stop steps under way (take, then StopInstances): the rounds go on polling while they are. */
  private readonly stopSteps = new Set<Promise<void>>();
  /** Under this run's lease (written and not removed yet): renewed while the run works. */
  private leased = new Set<string>();
  private lastRenew = Date.now();
  /**
   * Other runs' live leases as last read (every FLEET_REFRESH_MS): instance, region, expiry, bounds. A lease counts
   * until its expiry only, also when later reads fail (F12: a view kept past its leases' expiry waited forever).
   */
  private foreignLeases: { instanceId: string; region: string; expiresAtMs: number; bounds?: LeaseBounds }[] = [];
  private get liveForeign() {
    const now = Date.now();
    return this.foreignLeases.filter((f) => f.expiresAtMs > now);
  }
  /** Instances under other runs' live leases, with their regions. */
  private get foreign(): Map<string, string> {
    return new Map(this.liveForeign.map((f) => [f.instanceId, f.region]));
  }
  /** The bounds of the other runs holding instances down (from their leases). */
  private get foreignBounds(): LeaseBounds[] {
    return this.liveForeign.map((f) => f.bounds).filter((b): b is LeaseBounds => b !== undefined);
  }
  private lastFleetRead = 0;
  private readonly regionOf = new Map<string, string>();
  private readonly fleet: { self: symbol; done: () => void };
  /** After giving slots back to another run (rule 5), no new stop until then: a random back-off, so two runs do not meet again. */
  private pauseUntil = 0;
  /** Overflows in a row (give-backs): the random back-off doubles with each, as Ethernet's does. */
  private collisions = 0;
  private lastFlush = Date.now();

  constructor(
    private readonly client: EnsClient,
    private readonly key: BindingKey,
    rolling: Rolling,
    private readonly opts: ExecuteOptions,
    private readonly result: ExecutionResult,
  ) {
    this.items = rolling.instances.map((i) => ({ ...i, phase: "queued" as Phase }));
    this.byId = new Map(this.items.map((i) => [i.instanceId, i]));
    this.bounds = { maxStopped: rolling.maxStopped, maxStoppedPerRegion: rolling.maxStoppedPerRegion };
    this.fleet = registerWindow(() => this.items.filter((i) => DOWN.has(i.phase)).map((i) => [i.instanceId, i.region] as [string, string]), this.bounds);
    this.lastLog = Date.now();
  }

  async run(): Promise<void> {
    const regions = new Set(this.items.map((i) => i.region).filter((r) => r)).size;
    this.opts.log(`stopping ${this.items.length} Running instance(s) first, rolling ${concurrencyLine(this.bounds.maxStopped, this.bounds.maxStoppedPerRegion, regions)}`);
    try {
      for (;;) {
        const roundStart = Date.now();
        await this.poll();
        await this.renewAndRead();
        // Leases go soon after their instances run again (other runs count leased instances as down), in calls of 50.
        // While other runs hold instances down (they wait on this run's leases), at once.
        const due = this.toUnmark.length >= UNMARK_BATCH || (this.toUnmark.length > 0 && (this.foreign.size > 0 || Date.now() - this.lastFlush > FLEET_REFRESH_MS));
        const flush = due ? this.flushMarks() : Promise.resolve();
        let asked = false;
        // One stop step at a time: slots that free meanwhile are taken together by the next (fewer, fuller calls).
        for (let step = this.next(!this.stopSteps.size); !isIdle(step); step = this.next(!this.stopSteps.size)) {
          if (step.stop.length && !asked && this.opts.stillWanted) {
            asked = true;
            if (!(await this.opts.stillWanted())) {
              this.halt("the Pulumi engine is gone");
              continue;
            }
          }
          await this.act(step);
          asked = false; // an act can take long (throttling): ask again before the next stops
        }
        if (this.mayStopMore && this.stalled()) {
          const per = this.bounds.maxStoppedPerRegion !== undefined ? ` / maxStoppedPerRegion ${this.bounds.maxStoppedPerRegion}` : "";
          this.halt(`instance(s) this run stopped are not Running again and hold the stop slots (maxStoppedInstances ${this.bounds.maxStopped}${per})`);
        }
        await flush;
        this.progress(false);
        if (this.finished()) break;
        await new Promise((r) => setTimeout(r, Math.max(0, roundStart + this.pollDelay() - Date.now())));
      }
    } catch (e) {
      this.abandon(asEnsError(e, "DescribeInstances"));
    } finally {
      await this.wrapUp();
    }
  }

  /**
   * The next polling round: the base interval while any instance in flight entered its phase less than a minute ago,
   * then backing off with the youngest one's wait (pollDelayMs), so long edge-node stops cost tens of rounds, not
   * thousands.
   */
  private pollDelay(): number {
    const now = Date.now();
    const waits = this.items.filter((i) => POLLED.has(i.phase)).map((i) => now - (this.since.get(i.instanceId) ?? now));
    return pollDelayMs(waits.length ? Math.min(...waits) : 0, this.opts.pollIntervalMs);
  }

  private next(mayStop = true): Step {
    const bounds = effectiveBounds(this.bounds, this.fleet.self, this.foreignBounds);
    return nextStep(this.items, bounds, mayStop && this.mayStopMore && Date.now() >= this.pauseUntil, downElsewhere(this.fleet.self, this.foreign, new Set(this.byId.keys())));
  }

  /**
   * Renews this run's leases at a third of their lifetime, and reads the other runs' leases (whose instances count
   * against the bounds) every few seconds. Neither failing stops the run: a lease that could not be renewed may
   * expire, and then another run may start its instance (the window then sees it Running and reports it).
   */
  private async renewAndRead(): Promise<void> {
    const now = Date.now();
    if (this.leased.size && now - this.lastRenew > leaseLifetimeMs() / 3) {
      this.lastRenew = now;
      await tagEach(this.client, [...this.leased], [leaseTag(this.opts.lease)]).catch(() => undefined);
    }
    // Waiting on other runs' instances: look again every second, not every five, so that a slot they free is taken.
    if (now - this.lastFleetRead >= (this.foreign.size ? FLEET_REFRESH_MS / 5 : FLEET_REFRESH_MS)) await this.readFleet();
  }

  /** The other runs' live leases: their instances count as down, their bounds hold while they do. */
  private async readFleet(): Promise<void> {
    this.lastFleetRead = Date.now();
    try {
      const leased = sortLeases(await findLeases(this.client), this.opts.lease.me, this.opts.lease.run).live.filter((f) => !this.byId.has(f.instanceId));
      // A leased instance counts as down even while Running: its run may be about to stop it (the lease comes first).
      const unknown = leased.map((f) => f.instanceId).filter((id) => !this.regionOf.has(id));
      if (unknown.length) for (const [id, i] of await this.client.describeInstancesById(unknown)) this.regionOf.set(id, i.EnsRegionId ?? "");
      this.foreignLeases = leased.map((f) => ({ instanceId: f.instanceId, region: this.regionOf.get(f.instanceId) ?? "", expiresAtMs: f.lease.expiresAtMs ?? Infinity, bounds: f.lease.bounds }));
    } catch {
      // Keep the last view: the bounds are then counted with what was known, each lease until its expiry.
    }
  }

  /**
   * Rule 5 around a stop step: right before it, the fleet is read again and the step cut to what fits; right after
   * the leases are written and read back, the fleet is read once more, and if runs that met in between overflow the
   * bounds, this run gives back its newest instances and waits a random while (as Ethernet backs off).
   */
  private async fitNow(ids: string[]): Promise<string[]> {
    // The read after the step decides (giveBackOverflow); this one only makes meeting less likely, so a recent view does.
    if (Date.now() - this.lastFleetRead > FLEET_REFRESH_MS / 5) await this.readFleet();
    for (const id of ids) this.byId.get(id)!.phase = "queued";
    const fits = new Set(this.next().stop);
    const chosen = ids.filter((id) => fits.has(id));
    for (const id of chosen) this.byId.get(id)!.phase = "stopping";
    return chosen;
  }

  private async giveBackOverflow(got: string[]): Promise<string[]> {
    await this.readFleet();
    const bounds = effectiveBounds(this.bounds, this.fleet.self, this.foreignBounds);
    const down = new Map<string, string>([...downElsewhere(this.fleet.self, this.foreign, new Set(this.byId.keys())), ...this.items.filter((i) => DOWN.has(i.phase)).map((i) => [i.instanceId, i.region] as [string, string])]);
    const perRegion = (r: string) => [...down.values()].filter((x) => x === r).length;
    const over = (id: string) => down.size > bounds.maxStopped || (bounds.maxStoppedPerRegion !== undefined && perRegion(this.byId.get(id)!.region) > bounds.maxStoppedPerRegion);
    const back: string[] = [];
    for (const id of [...got].reverse()) {
      if (!over(id)) continue;
      back.push(id);
      down.delete(id);
      this.byId.get(id)!.phase = "queued";
    }
    if (!back.length) {
      this.collisions = 0;
      return got;
    }
    await this.unmark(back);
    // The other run sees this give-back at its next fleet read (up to FLEET_REFRESH_MS / 5 away): a back-off shorter
    // than that let two runs collide again and again (soak F11: both hung). Exponential, at most 32 slots.
    this.collisions = Math.min(this.collisions + 1, 5);
    const slot = Math.max(this.opts.pollIntervalMs, FLEET_REFRESH_MS / 5);
    this.pauseUntil = Date.now() + Math.random() * slot * 2 ** this.collisions;
    return got.filter((id) => !back.includes(id));
  }

  /**
   * Stops, and binds then starts; the starts are the scheduler's once the binds are over. A stop step is not waited
   * for: its take waits the claim settle time and reads tags and the fleet (about a second), and a round that waited
   * for it would see every instance in flight Stopped or Running that much later (the rotation bench: 1.84x the
   * rolling bound). Its instances are "stopping" from the first moment, so they count against the bounds.
   */
  private async act(step: Step): Promise<void> {
    if (step.stop.length) this.inBackground(step.stop);
    await Promise.all(step.bind.map((b) => this.bind(b)));
    await this.start(nextStep(this.items, this.bounds, false).start);
  }

  private inBackground(ids: string[]): void {
    const step: Promise<void> = this.stop(ids)
      .catch((e) => {
        // stop() reports per instance; anything else: those not asked to stop yet are looked at and started if need be.
        const err = asEnsError(e, "StopInstances");
        this.halt(err.message);
        this.restart(ids.filter((id) => this.byId.get(id)!.phase === "stopping" && !this.since.has(id)));
      })
      .finally(() => this.stopSteps.delete(step));
    this.stopSteps.add(step);
  }

  private async poll(): Promise<void> {
    // A "stopping" instance whose stop step is still taking it (no stop asked yet) has nothing to show.
    const polled = this.items.filter((i) => POLLED.has(i.phase) && (i.phase !== "stopping" || this.since.has(i.instanceId)));
    if (!polled.length) return;
    const live = await this.client.describeInstancesById(polled.map((i) => i.instanceId));
    const now = Date.now();
    const seen = afterPoll(polled, (id) => live.get(id)?.Status, (id) => now - (this.since.get(id) ?? now), this.opts.stopTimeoutMs);
    for (const t of seen) {
      const it = this.byId.get(t.instanceId)!;
      it.phase = t.to;
      if (t.stopFailure && t.stopFailure.code === GONE_CODE) this.goneBeforeBinding(it, t.stopFailure);
      else if (t.stopFailure) this.result.failures.push({ ...t.stopFailure, action: "StopInstances" });
      if (t.notRunning) this.result.leftStopped.push({ ...t.notRunning, action: "StartInstances" });
      if (t.to === "done") {
        this.toUnmark.push(t.instanceId);
        this.result.restarted++;
      }
    }
    this.restart(seen.filter((t) => t.to === "held").map((t) => t.instanceId));
  }

  /** Takes the instances under the protocol, then stops those it got. What could not be taken is not stopped. */
  private async stop(ids: string[]): Promise<void> {
    if (!ids.length) return;
    for (const id of ids) this.byId.get(id)!.phase = "stopping";
    const marked = await this.take(await this.fitNow(ids));
    if (!marked.length) return;
    let refused: InstanceFailure[];
    try {
      refused = await changePower(this.client, marked, "stop", this.opts.forceStop);
    } catch (e) {
      // Unexpected (changePower reports per instance): any of them may be stopping; the finally starts them again.
      const err = asEnsError(e, "StopInstances");
      for (const f of failAll(marked, err)) this.fail(this.byId.get(f.instanceId)!, "held", { ...f, action: "StopInstances" });
      this.halt(err.message);
      this.restart(marked);
      return;
    }
    // A refusal may still have stopped it (an answer lost, ENS unreadable right after): looked at again and started
    // if need be, its lease removed only once it runs; never dropped.
    for (const f of refused) this.result.failures.push({ ...f, action: "StopInstances" });
    this.restart(refused.map((f) => f.instanceId));
    const now = Date.now();
    for (const id of marked) if (this.byId.get(id)!.phase === "stopping") this.since.set(id, now);
  }

  /**
   * Read, write, wait, read (protocol/index.ts, rule 3): instances another run claimed or holds since the plan are
   * lost to it; the others get this run's lease (and, to attach, its claim), then are read back after the settle
   * time. An instance that cannot take the tags fails alone; one ENS no longer knows is gone.
   */
  private async take(ids: string[]): Promise<string[]> {
    const { lease, expectedOwner } = this.opts;
    let before;
    try {
      before = await readTags(this.client, ids);
    } catch (e) {
      return this.untaken(ids, asEnsError(e, "ListTagResources"));
    }
    const free: string[] = [];
    for (const id of ids) {
      const t = before.get(id);
      const owner = t?.owner && !isMine(t.owner, lease.me) ? t.owner.owner : undefined;
      const leasedBy = t?.lease && !ofRun(lease)(t.lease) && (t.lease.expiresAtMs ?? Infinity) > Date.now() ? t.lease.owner : undefined;
      if (owner !== undefined && owner !== expectedOwner(id)) this.lose(id, owner);
      else if (leasedBy !== undefined) this.fail(this.byId.get(id)!, "skipped", { instanceId: id, action: this.byId.get(id)!.action, code: "HeldByAnotherRun", message: `a run of ${leasedBy} holds it now (lease tag ${LEASE_TAG}); run pulumi up again once that run is over` });
      else free.push(id);
    }
    const attach = free.filter((id) => this.byId.get(id)!.action === "AttachKeyPair");
    const detach = free.filter((id) => this.byId.get(id)!.action === "DetachKeyPair");
    const claim = claimTag(lease.me, this.opts.claimFreshMs);
    const refused = [
      ...(attach.length ? await tagEach(this.client, attach, [leaseTag(lease), claim, ownerNameTag(lease.me.owner)]) : []),
      ...(detach.length ? await tagEach(this.client, detach, [leaseTag(lease)]) : []),
    ];
    // Whether a refused instance is gone, ENS shows (one look): a detach of a released instance is done.
    const known = refused.length ? await this.client.describeInstancesById(refused.map((f) => f.instanceId)).catch(() => undefined) : undefined;
    for (const f of refused) {
      const it = this.byId.get(f.instanceId)!;
      if (known && !known.has(f.instanceId)) this.goneBeforeBinding(it, goneFailure(f.instanceId));
      else this.fail(it, "skipped", { ...f, action: it.action, message: `could not take the tags the provider needs before stopping it (${f.message}); not stopped, not bound` });
    }
    const written = free.filter((id) => !refused.some((f) => f.instanceId === id));
    for (const id of written) this.leased.add(id);
    for (const id of attach) if (written.includes(id)) this.result.claims.set(id, { before: before.get(id)?.ownerValue, written: claim.Value });
    if (!written.length) return [];
    await new Promise((r) => setTimeout(r, claimSettleMs()));
    let after;
    try {
      after = await readTags(this.client, written);
    } catch (e) {
      this.toUnmark.push(...written);
      return this.untaken(written, asEnsError(e, "ListTagResources"));
    }
    const got: string[] = [];
    for (const id of written) {
      const t = after.get(id);
      const ownerOk = this.byId.get(id)!.action === "DetachKeyPair" || isMine(t?.owner, lease.me);
      if (ofRun(lease)(t?.lease) && ownerOk) got.push(id);
      else {
        this.toUnmark.push(id);
        this.lose(id, t?.owner && !isMine(t.owner, lease.me) ? t.owner.owner : t?.lease?.owner ?? "another run");
      }
    }
    return this.giveBackOverflow(got);
  }

  /** Tags could not be read or written: nothing of these is stopped, and nothing new. */
  private untaken(ids: string[], err: EnsError): string[] {
    for (const f of failAll(ids, err)) this.fail(this.byId.get(f.instanceId)!, "skipped", { ...f, action: this.byId.get(f.instanceId)!.action });
    this.halt(err.message);
    return [];
  }

  /** Another run claimed the instance since this run planned: left to it, reported, never bound by this run. */
  private lose(id: string, winner: string): void {
    const it = this.byId.get(id)!;
    this.result.lost.push({ instanceId: id, owner: winner });
    this.fail(it, "skipped", { instanceId: id, action: it.action, code: "ClaimedByAnotherRun", message: `${winner} claimed it while this run was under way: left to it, not bound by this run` });
  }

  private async bind(b: Batch): Promise<void> {
    const outcome = await runBatch(this.client, this.key, b).catch((e) => failAll(b.instanceIds, asEnsError(e, b.action)));
    record(this.result, b, outcome);
    for (const id of b.instanceIds) this.byId.get(id)!.phase = "bound";
    this.boundCount += b.instanceIds.length;
  }

  private async start(ids: string[]): Promise<void> {
    if (!ids.length) return;
    let refused: InstanceFailure[];
    try {
      refused = await changePower(this.client, ids, "start");
    } catch {
      this.restart(ids); // bringBack looks at them and tries once more
      return;
    }
    for (const f of refused) this.leftStopped(this.byId.get(f.instanceId)!, "lost", f);
    const now = Date.now();
    for (const id of ids) {
      const it = this.byId.get(id)!;
      if (it.phase === "bound") {
        it.phase = "starting";
        this.since.set(id, now);
      }
    }
  }

  /**
   * Instances wait to be stopped, nothing is in flight, and the scheduler stops none: instances this run could not
   * bring back (lost) hold the slots, and nothing will free them.
   */
  private stalled(): boolean {
    // Slots held by other windows or other runs free up as they go on (their leases expire at the latest).
    const elsewhere = downElsewhere(this.fleet.self, this.foreign, new Set(this.byId.keys())).size;
    // A back-off after a give-back is no stall: the slots are free, this run only waits its turn.
    return Date.now() >= this.pauseUntil && this.items.some((i) => i.phase === "queued") && !this.items.some((i) => IN_FLIGHT.has(i.phase)) && elsewhere === 0;
  }

  /** Nothing in flight, and nothing more to stop (or no more stops allowed). */
  private finished(): boolean {
    return !this.items.some((i) => POLLED.has(i.phase) || i.phase === "stopped" || i.phase === "bound" || (this.mayStopMore && i.phase === "queued"));
  }

  /** A poll that failed for good (or anything unexpected): no new stops; what is in flight is not bound (wrapUp restarts it). */
  private abandon(err: EnsError): void {
    this.halt(err.message);
    for (const it of this.items) {
      if (it.phase === "stopping" || it.phase === "stopped") this.result.failures.push({ ...failAll([it.instanceId], err)[0], action: it.action });
    }
  }

  private async wrapUp(): Promise<void> {
    // Stop steps still under way decide what this run may have stopped: wait for them first.
    await Promise.allSettled([...this.stopSteps]);
    const why = `not attempted after an earlier failure: ${this.why ?? "the run ended early"}`;
    for (const it of this.items) if (it.phase === "queued") this.fail(it, "skipped", { instanceId: it.instanceId, action: it.action, code: "NotAttempted", message: why });
    // Whatever happened above, start again exactly what this run may have stopped and not seen Running again.
    this.restart(this.items.filter((i) => ["stopping", "stopped", "bound", "starting"].includes(i.phase)).map((i) => i.instanceId));
    await Promise.all(this.restarts);
    await this.flushMarks();
    this.fleet.done();
    this.progress(true);
  }

  /**
   * Starts again (bringBack: waits out Stopping, starts, waits for Running, unmarks) instances this run gave up on, at
   * once rather than at the end, so that their marks never outlive them. They count as down until it is over; what
   * does not come back is reported, never dropped.
   */
  private restart(ids: string[]): void {
    if (!ids.length) return;
    for (const id of ids) this.byId.get(id)!.phase = "held";
    const waits = { timeoutMs: this.opts.stopTimeoutMs, pollIntervalMs: this.opts.pollIntervalMs, onProgress: this.opts.log };
    this.restarts.push(
      bringBack(this.client, ids, waits, (back) => this.unmark(back))
        .catch((e) => ({ problems: failAll(ids, asEnsError(e, "StartInstances")), cameBack: [] as string[], unknown: [] as string[] }))
        .then(({ problems, cameBack, unknown }) => {
          const failed = new Map(problems.map((f) => [f.instanceId, f]));
          for (const id of ids) {
            const f = failed.get(id);
            if (f) this.leftStopped(this.byId.get(id)!, "lost", f);
            else this.byId.get(id)!.phase = "done";
          }
          this.result.restarted += cameBack.length;
          // Released meanwhile: a detach is done (nothing carries the key), whatever its stop said.
          for (const id of unknown) if (this.byId.get(id)!.action === "DetachKeyPair") this.detachedByRelease(id);
        }),
    );
  }

  private async flushMarks(): Promise<void> {
    this.lastFlush = Date.now();
    const ids = this.toUnmark;
    this.toUnmark = [];
    await this.unmark(ids);
  }

  /** Removes this run's leases (only where the lease is still this run's), without failing the run. */
  private async unmark(ids: string[]): Promise<void> {
    if (!ids.length) return;
    try {
      await untagIf(this.client, ids, LEASE_TAG, (_, t) => ofRun(this.opts.lease)(t.lease));
      for (const id of ids) this.leased.delete(id);
    } catch (e) {
      this.opts.log(`could not remove the lease (${LEASE_TAG}) of ${ids.length} running instance(s): ${(e as Error).message}; it expires, and the next run removes it`);
    }
  }

  /** ENS no longer knows the instance before it was bound: a detach is done, an attach fails naming it. */
  private goneBeforeBinding(it: WindowItem, f: InstanceFailure): void {
    it.phase = "skipped";
    if (it.action === "DetachKeyPair") this.result.succeeded.add(it.instanceId);
    else this.result.failures.push({ ...f, action: "StopInstances" });
  }

  private detachedByRelease(id: string): void {
    this.result.failures = this.result.failures.filter((f) => !(f.instanceId === id && f.action === "StopInstances"));
    this.result.succeeded.add(id);
  }

  private halt(why: string): void {
    this.mayStopMore = false;
    this.why ??= why;
  }

  private fail(it: WindowItem, phase: Phase, f: ActionFailure): void {
    it.phase = phase;
    this.result.failures.push(f);
  }

  private leftStopped(it: WindowItem, phase: Phase, f: InstanceFailure): void {
    it.phase = phase;
    this.result.leftStopped.push({ ...f, action: "StartInstances" });
  }

  /** A running count, at most every few seconds; a last one at the end when any was said. */
  private progress(last: boolean): void {
    const now = Date.now();
    if (last ? !this.logged : now - this.lastLog < progressEveryMs()) return;
    const { down, downByRegion, queued } = windowCounts(this.items);
    const regions = this.bounds.maxStoppedPerRegion !== undefined && downByRegion.size ? ` in ${downByRegion.size} region(s)` : "";
    // What the operation does to them: a destroy unbinds, a create binds, an update may do both.
    const verb = this.items.every((i) => i.action === "DetachKeyPair") ? "unbound" : this.items.every((i) => i.action === "AttachKeyPair") ? "bound" : "bound or unbound";
    this.opts.log(`${this.boundCount}/${this.items.length} instances ${verb}, ${down} stopped now${regions}${queued ? `, ${queued} not stopped yet` : ""}`);
    this.lastLog = now;
    this.logged = true;
  }
}
