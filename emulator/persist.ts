/** The state file: loaded once at start, written atomically (tmp + rename), coalesced. */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

export function loadStateFile(path: string): unknown | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, "utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`state file ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

export class StateFile {
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private chain: Promise<void> = Promise.resolve();
  private seq = 0;

  constructor(
    private readonly path: string,
    private readonly intervalMs: number,
    private readonly snapshot: () => unknown,
  ) {
    mkdirSync(dirname(path), { recursive: true });
  }

  /** Schedules a write at most `intervalMs` from now (several mutations share one write). */
  markDirty(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch((e) => process.emitWarning(`ens-emulator: state write failed: ${(e as Error).message}`));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Writes now if anything changed; resolves once the file on disk is current. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.dirty) return this.chain;
    this.dirty = false;
    const text = JSON.stringify(this.snapshot());
    const tmp = `${this.path}.tmp-${process.pid}-${++this.seq}`;
    this.chain = this.chain
      .catch(() => undefined)
      .then(async () => {
        await writeFile(tmp, text);
        await rename(tmp, this.path);
      });
    return this.chain;
  }

  /** Marks dirty and writes immediately. */
  writeNow(): Promise<void> {
    this.dirty = true;
    return this.flush();
  }
}
