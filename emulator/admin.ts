/** Unsigned admin endpoints under /__emulator/ (state, journal, stats, faults, reset, world mutations). */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { EmulatorCore } from "./core";
import { validateFaults, validateQuota } from "./faults";
import { sendJson } from "./respond";
import { validateResultCodes } from "./results";
import type { InstanceStatus, SeedInstance } from "./types";

class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw new AdminError(400, `body is not valid JSON: ${(e as Error).message}`);
  }
}

type WorldOp = Record<string, unknown> & { op?: string };
const str = (o: WorldOp, k: string): string => {
  if (typeof o[k] !== "string" || !o[k]) throw new AdminError(400, `${o.op}: "${k}" must be a non-empty string`);
  return o[k] as string;
};

/** One world mutation; returns what it created, if anything. */
function worldOp(core: EmulatorCore, o: WorldOp): unknown {
  const w = core.control;
  switch (o.op) {
    case "setInstanceStatus":
      return w.setInstanceStatus(str(o, "instanceId"), str(o, "status") as InstanceStatus);
    case "setInstanceKey":
      return w.setInstanceKey(str(o, "instanceId"), typeof o.keyPairName === "string" ? o.keyPairName : undefined);
    case "deleteKeyPair":
      return w.deleteKeyPair(str(o, "keyPair"));
    case "addKeyPair":
      return {
        keyPairId: w.addKeyPair({
          keyPairName: str(o, "keyPairName"),
          keyPairId: o.keyPairId as string | undefined,
          publicKeyBody: o.publicKeyBody as string | undefined,
        }),
      };
    case "addInstances": {
      const status = (o.status as InstanceStatus | undefined) ?? "Stopped";
      if (Array.isArray(o.instances)) return { instanceIds: w.addInstances(o.instances as SeedInstance[], status) };
      if (typeof o.count !== "number" || !Number.isInteger(o.count) || o.count < 0) {
        throw new AdminError(400, 'addInstances: give "count" (integer) or "instances" (array)');
      }
      return { instanceIds: w.addInstances(o.count, status) };
    }
    case "removeInstance":
      return w.removeInstance(str(o, "instanceId"));
    default:
      throw new AdminError(
        400,
        `unknown op ${JSON.stringify(o.op)} (known: setInstanceStatus, setInstanceKey, deleteKeyPair, addKeyPair, addInstances, removeInstance)`,
      );
  }
}

const faultsView = (core: EmulatorCore) => ({
  ...core.edge.current,
  quotaPerSecond: core.edge.quotaPerSecond ?? null,
  resultCodes: core.resultCodes,
});

function route(core: EmulatorCore, method: string, name: string, body: Buffer): unknown {
  const key = `${method} ${name}`;
  switch (key) {
    case "GET health": {
      const m = process.memoryUsage();
      const cpu = process.cpuUsage();
      return { ok: true, instances: core.world.instances.size, rssBytes: m.rss, heapUsedBytes: m.heapUsed, cpuMicros: cpu.user + cpu.system };
    }
    case "GET state":
      return core.state();
    case "GET journal":
      return core.journal();
    case "GET stats":
      return core.stats();
    case "GET faults":
      return faultsView(core);
    case "POST faults": {
      const input = parseJson(body) as Record<string, unknown>;
      const faults = validateFaults(input);
      const has = (k: string) => input && typeof input === "object" && k in input;
      const quota = has("quotaPerSecond") ? validateQuota(input.quotaPerSecond) : undefined;
      const style = has("resultCodes") ? validateResultCodes(input.resultCodes) : undefined;
      core.edge.set(faults);
      if (has("quotaPerSecond")) core.edge.setQuota(quota);
      if (style) core.setResultCodes(style);
      return faultsView(core);
    }
    case "POST reset":
      core.reset();
      return { ok: true };
    case "POST world": {
      const input = parseJson(body);
      const ops = (Array.isArray(input) ? input : [input]) as WorldOp[];
      if (!ops.every((o) => o && typeof o === "object")) throw new AdminError(400, "world ops must be JSON objects");
      return { results: ops.map((o) => worldOp(core, o) ?? null) };
    }
    default:
      throw new AdminError(404, `no admin endpoint ${key} (GET health|state|journal|stats|faults, POST faults|reset|world)`);
  }
}

export function handleAdmin(core: EmulatorCore, req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): void {
  const name = url.pathname.slice("/__emulator/".length).replace(/\/+$/, "");
  try {
    sendJson(res, 200, route(core, req.method ?? "", name, body));
  } catch (e) {
    const status = e instanceof AdminError ? e.status : 400;
    sendJson(res, status, { Code: "EmulatorAdminError", Message: (e as Error).message });
  }
}
