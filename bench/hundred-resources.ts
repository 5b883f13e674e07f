/**
 * Scenario 7: one stack of 100 attachments of 100 instances each, through the real Pulumi CLI and the package as users
 * install it. `pulumi up` against the emulator (50 ms latency, 50/s quota, provider at its defaults), then the same
 * stack shape of no-op dynamic resources: what the engine itself costs per resource, apart from the provider's calls.
 */
import fs from "node:fs";
import { installPackedPackage } from "../tests/helpers/installed-package";
import { BenchOptions, benchEnv, callBound, Row, servedCalls, sum } from "./lib";
import { QUOTA } from "./scale";
import { benchStack, StackMode } from "./stack";

export async function hundredResources(o: BenchOptions): Promise<Row[]> {
  const resources = o.quick ? 20 : 100;
  const per = 100;
  const latencyMs = 50;
  const env = await benchEnv({ instances: resources * per, latencyMs, quotaPerSecond: QUOTA }, {});
  const temp: string[] = [];
  try {
    o.log("hundred resources: npm pack + install into a fresh folder");
    const { appDir } = installPackedPackage();
    temp.push(appDir);
    const up = async (mode: StackMode) => {
      o.log(`hundred resources: pulumi up of ${resources} ${mode} resources`);
      const stack = await benchStack(appDir, env, temp, { mode, count: resources, per });
      env.emu.reset();
      const t0 = performance.now();
      await stack.run(["up", "--yes", "--skip-preview"]);
      return { wallMs: Math.round(performance.now() - t0), calls: servedCalls(env.emu) };
    };
    const noop = await up("noop");
    const ours = await up("attachments");
    const attached = env.emu.state().instances.filter((i) => i.keyPairName).length;
    const settings = env.settings();
    const callsBoundMs = callBound(sum(ours.calls), latencyMs, settings.maxConcurrentCalls, QUOTA);
    return [
      {
        scenario: "7 hundred resources (CLI)",
        variant: "ours",
        n: resources * per,
        latencyMs,
        calls: ours.calls,
        wallMs: ours.wallMs,
        lowerBoundMs: callBound(resources * Math.ceil(per / 30), latencyMs, settings.maxConcurrentCalls, QUOTA),
        callsBoundMs,
        failures: resources * per - attached,
        extra: {
          resources,
          instancesPerResource: per,
          quotaPerSecond: QUOTA,
          budgetPerSecond: settings.callsPerSecond ?? 0,
          budgetConcurrent: settings.maxConcurrentCalls,
          adaptive: true,
          throttledAttempts: env.emu.journal().filter((j) => j.code === "Throttling.User").length,
          noopUpMs: noop.wallMs,
          beyondCallsPerResourceMs: Math.round((ours.wallMs - callsBoundMs) / resources),
          noopPerResourceMs: Math.round(noop.wallMs / resources),
          expectedAttach: resources * Math.ceil(per / 30),
        },
      },
    ];
  } finally {
    await env.close();
    for (const d of temp) fs.rmSync(d, { recursive: true, force: true });
  }
}
