/** Observing the emulator from reliability tests: what is bound, what was called, which faults were injected. */
import { Faults, JournalEntry, RunningEmulator } from "../../emulator";
import { LEASE_TAG as STOP_MARK } from "../../provider/protocol";

export const MUTATING_ACTIONS = ["AttachKeyPair", "DetachKeyPair", "StopInstances", "StartInstances", "StopInstance", "StartInstance", "TagResources", "UntagResources", "DeleteKeyPairs", "CreateKeyPair", "ImportKeyPair"];

export const ids = (from: number, count: number): string[] => Array.from({ length: count }, (_, i) => `i-emu${String(from + i).padStart(8, "0")}`);

export const boundTo = (emu: RunningEmulator, keyPairName: string): string[] =>
  emu.state().instances.filter((i) => i.keyPairName === keyPairName).map((i) => i.instanceId).sort();

export const keyPairIdOf = (emu: RunningEmulator, name: string): string => {
  const kp = emu.state().keyPairs.find((k) => k.keyPairName === name);
  if (!kp) throw new Error(`no key pair ${name}`);
  return kp.keyPairId;
};

/** Instances whose status is not Running, among `scope` (default: all). */
export const notRunning = (emu: RunningEmulator, scope?: readonly string[]): string[] => {
  const s = scope ? new Set(scope) : undefined;
  return emu.state().instances.filter((i) => (!s || s.has(i.instanceId)) && i.status !== "Running").map((i) => i.instanceId);
};

/** Instances still carrying the provider's crash mark. */
export const marked = (emu: RunningEmulator): string[] => emu.state().instances.filter((i) => STOP_MARK in i.tags).map((i) => i.instanceId);

/** A cursor into the journal: everything after `mark()`. */
export class JournalCursor {
  private at: number;
  constructor(private readonly emu: RunningEmulator) {
    this.at = emu.journal().length;
  }
  mark(): void {
    this.at = this.emu.journal().length;
  }
  entries(): JournalEntry[] {
    return this.emu.journal().slice(this.at);
  }
  /** Instance lists of the successful (HTTP 200) calls of a binding action. */
  batches(action: "AttachKeyPair" | "DetachKeyPair"): string[][] {
    return this.entries().filter((j) => j.action === action && j.httpStatus === 200).map((j) => JSON.parse(j.params.InstanceIds));
  }
  /** Instances named in successful calls of a binding action, sorted. */
  touched(action: "AttachKeyPair" | "DetachKeyPair"): string[] {
    return this.batches(action).flat().sort();
  }
  /** Calls (any outcome) that could change something. */
  mutating(): JournalEntry[] {
    return this.entries().filter((j) => MUTATING_ACTIONS.includes(j.action));
  }
  /** Injected or quota faults by code (Throttling.User, ServiceUnavailable, ConnectionDropped). */
  faults(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const j of this.entries()) {
      if (j.code && ["Throttling.User", "ServiceUnavailable", "ConnectionDropped"].includes(j.code)) out[j.code] = (out[j.code] ?? 0) + 1;
    }
    return out;
  }
  calls(): number {
    return this.entries().length;
  }
}

export const sumValues = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);

/**
 * Latency spikes: now and then every `periodMs`, `spikeMs` of extra latency for `lengthMs`, on top of the other faults.
 * Returns a stop function; the faults are left as they were before the spike.
 */
export function latencySpikes(emu: RunningEmulator, o: { periodMs: number; lengthMs: number; spikeMs: number }): () => void {
  let on = false;
  const base = (): Faults => {
    const f = emu.faults();
    delete f.latencyMs;
    return f;
  };
  const spike = () => {
    on = true;
    emu.setFaults({ ...base(), latencyMs: o.spikeMs });
    setTimeout(() => {
      if (on) emu.setFaults(base());
      on = false;
    }, o.lengthMs).unref();
  };
  spike();
  const tick = setInterval(spike, o.periodMs);
  tick.unref();
  return () => {
    clearInterval(tick);
    on = false;
    emu.setFaults(base());
  };
}

/** Waits until `cond()` holds (polling), or throws after `timeoutMs`. */
export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string, pollMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
