import { failAll, record, runBatch } from "./bind";
import { EnsClient, EnsError } from "./ens";
import type { ActionFailure, BindingKey, ExecuteOptions, ExecutionResult } from "./execute";
import { bringBack, changePower, InstanceFailure, markLifetimeMs } from "./instances";
import { markOrDrop, unmark } from "./marking";
import { asEnsError, GONE_CODE, goneFailure } from "./observe";
import { Batch, Rolling } from "./plan";
import { afterPoll, Bounds, isIdle, nextStep, Phase, POLLED, Step, WindowItem, windowCounts } from "./schedule";

/**
 * The rolling window's executor: poll (DescribeInstances, 100 IDs a call, only the instances in flight), ask the
 * scheduler (schedule.ts), act, and again. Every instance is marked before it is stopped and unmarked once it runs
 * again; whatever this run may have stopped and not seen Running again is started in the finally, even on errors.
 * Outcomes come from what ENS shows (changePower and runBatch confirm every failure by observation).
 */

/** Phases that end by themselves (a poll, a call or a restart under way): while any is present, slots may free. */
const IN_FLIGHT: ReadonlySet<Phase> = new Set<Phase>(["stopping", "stopped", "bound", "starting", "held"]);

/** At most one progress line this often. */
const PROGRESS_EVERY_MS = 5000;
/** Crash marks of instances running again are removed in calls of this many (UntagResources takes 50). */
const UNMARK_BATCH = 50;

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
    this.lastLog = Date.now();
  }

  async run(): Promise<void> {
    const per = this.bounds.maxStoppedPerRegion !== undefined ? `, ${this.bounds.maxStoppedPerRegion} per region` : "";
    this.opts.log(`stopping ${this.items.length} Running instance(s) first, rolling: at most ${this.bounds.maxStopped} stopped at once${per}`);
    try {
      for (;;) {
        const roundStart = Date.now();
        await this.poll();
        const flush = this.toUnmark.length >= UNMARK_BATCH ? this.flushMarks() : Promise.resolve();
        let asked = false;
        for (let step = nextStep(this.items, this.bounds, this.mayStopMore); !isIdle(step); step = nextStep(this.items, this.bounds, this.mayStopMore)) {
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
        await new Promise((r) => setTimeout(r, Math.max(0, roundStart + this.opts.pollIntervalMs - Date.now())));
      }
    } catch (e) {
      this.abandon(asEnsError(e, "DescribeInstances"));
    } finally {
      await this.wrapUp();
    }
  }

  /** Stops, and binds then starts, at the same time; the starts are the scheduler's once the binds are over. */
  private async act(step: Step): Promise<void> {
    await Promise.all([
      this.stop(step.stop),
      (async () => {
        await Promise.all(step.bind.map((b) => this.bind(b)));
        await this.start(nextStep(this.items, this.bounds, false).start);
      })(),
    ]);
  }

  private async poll(): Promise<void> {
    const polled = this.items.filter((i) => POLLED.has(i.phase));
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

  /** Marks, then stops. A mark that cannot be written stops nothing: those instances fail, and nothing new is stopped. */
  private async stop(ids: string[]): Promise<void> {
    if (!ids.length) return;
    for (const id of ids) this.byId.get(id)!.phase = "stopping";
    const marked = await this.mark(ids);
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
    // if need be, its mark removed only once it runs; never dropped.
    for (const f of refused) this.result.failures.push({ ...f, action: "StopInstances" });
    this.restart(refused.map((f) => f.instanceId));
    const now = Date.now();
    for (const id of marked) if (this.byId.get(id)!.phase === "stopping") this.since.set(id, now);
  }

  /** The crash marks: instances ENS no longer knows fail alone; if the others cannot be marked, nothing new is stopped. */
  private async mark(ids: string[]): Promise<string[]> {
    const { marked, gone, error } = await markOrDrop(this.client, ids, this.opts.resourceId, markLifetimeMs(this.opts.stopTimeoutMs));
    for (const id of gone) this.goneBeforeBinding(this.byId.get(id)!, goneFailure(id));
    if (!error) return marked;
    const rest = ids.filter((id) => !gone.includes(id));
    for (const f of failAll(rest, error)) this.fail(this.byId.get(f.instanceId)!, "skipped", { ...f, action: "StopInstances" });
    this.toUnmark.push(...rest); // some calls of the mark may have gone through
    this.halt(error.message);
    return [];
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
    return this.items.some((i) => i.phase === "queued") && !this.items.some((i) => IN_FLIGHT.has(i.phase));
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
    const why = `not attempted after an earlier failure: ${this.why ?? "the run ended early"}`;
    for (const it of this.items) if (it.phase === "queued") this.fail(it, "skipped", { instanceId: it.instanceId, action: it.action, code: "NotAttempted", message: why });
    // Whatever happened above, start again exactly what this run may have stopped and not seen Running again.
    this.restart(this.items.filter((i) => ["stopping", "stopped", "bound", "starting"].includes(i.phase)).map((i) => i.instanceId));
    await Promise.all(this.restarts);
    await this.flushMarks();
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
      bringBack(this.client, ids, waits)
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
    const ids = this.toUnmark;
    this.toUnmark = [];
    await unmark(this.client, ids, this.opts.log);
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
    if (last ? !this.logged : now - this.lastLog < PROGRESS_EVERY_MS) return;
    const { down, downByRegion, queued } = windowCounts(this.items);
    const regions = this.bounds.maxStoppedPerRegion !== undefined && downByRegion.size ? ` in ${downByRegion.size} region(s)` : "";
    this.opts.log(`${this.boundCount}/${this.items.length} instances bound, ${down} stopped now${regions}${queued ? `, ${queued} not stopped yet` : ""}`);
    this.lastLog = now;
    this.logged = true;
  }
}
