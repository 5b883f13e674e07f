/**
 * Scenario 5: what the package costs around the calls. With the package as users get it (npm pack, installed into
 * a fresh folder): `__provider` bytes per resource, state bytes per resource and per instance after a real
 * `pulumi up`, provider cold start in a fresh node process, and `pulumi up` of 50 attachments against the same
 * stack shape of 50 no-op dynamic resources.
 */
import fs from "node:fs";
import path from "node:path";
import { installPackedPackage, runNodeIn, serializedProviderIn } from "../tests/helpers/installed-package";
import { BenchOptions, benchEnv, callBound, ids, Row, servedCalls, sum } from "./lib";
import { benchStack, envOf, StackMode } from "./stack";

const PER_RESOURCE = 20;

export async function footprint(o: BenchOptions): Promise<Row[]> {
  const resources = o.quick ? 10 : 50;
  const env = await benchEnv({ instances: resources * PER_RESOURCE }, {});
  const temp: string[] = [];
  try {
    o.log("footprint: npm pack + install into a fresh folder");
    const { appDir } = installPackedPackage();
    temp.push(appDir);
    o.log("footprint: __provider as the SDK serializes it");
    const app = async (script: string, extraEnv: Record<string, string> = {}) => (await runNodeIn(appDir, script, { ...envOf(env), ...extraEnv })).trim().split("\n").pop()!;
    const providerText = await serializedProviderIn(appDir, env.keyPairId, envOf(env));
    fs.writeFileSync(path.join(appDir, "provider.txt"), providerText);
    o.log("footprint: provider cold start in a fresh process");
    const colds = [];
    for (let i = 0; i < 3; i++) colds.push(JSON.parse(await app(coldStartScript(env.keyPairId))));
    const cold = colds.sort((a, b) => a.coldMs - b.coldMs)[1]; // median of 3 fresh processes

    const up = async (mode: StackMode) => {
      o.log(`footprint: pulumi up of ${resources} ${mode} resources`);
      const stack = await benchStack(appDir, env, temp, { mode, count: resources, per: PER_RESOURCE });
      const t0 = performance.now();
      await stack.run(["up", "--yes", "--skip-preview"]);
      const wallMs = Math.round(performance.now() - t0);
      const deployment = JSON.parse((await stack.run(["stack", "export"])).stdout).deployment;
      const mine = (deployment.resources ?? []).filter((r: any) => r.type.startsWith("pulumi-nodejs:dynamic"));
      if (mine.length !== resources) throw new Error(`expected ${resources} dynamic resources in the state, found ${mine.length}`);
      return { wallMs, resources: mine };
    };
    const noop = await up("noop");
    env.emu.reset();
    const ours = await up("attachments");
    const calls = servedCalls(env.emu);
    const settings = env.settings();
    const attached = env.emu.state().instances.filter((i) => i.keyPairName).length;
    const bytes = (r: any) => Buffer.byteLength(JSON.stringify(r));
    const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
    const withoutIds = (r: any) => ({ ...r, inputs: { ...r.inputs, instanceIds: [] }, outputs: { ...r.outputs, instanceIds: [], attachedInstanceIds: [] } });
    return [
      {
        scenario: "5 footprint",
        variant: "ours",
        n: resources * PER_RESOURCE,
        latencyMs: 0,
        calls,
        wallMs: ours.wallMs,
        failures: resources * PER_RESOURCE - attached,
        extra: {
          resources,
          providerBytes: Buffer.byteLength(providerText),
          providerBytesInState: mean(ours.resources.map((r: any) => Buffer.byteLength(r.inputs.__provider))),
          stateBytesPerResource: mean(ours.resources.map(bytes)),
          stateBytesPerInstance: Math.round(mean(ours.resources.map((r: any) => bytes(r) - bytes(withoutIds(r)))) / PER_RESOURCE),
          noopStateBytesPerResource: mean(noop.resources.map(bytes)),
          noopProviderBytes: mean(noop.resources.map((r: any) => Buffer.byteLength(r.inputs.__provider))),
          coldStartMs: cold.coldMs,
          coldStartSinceProcessStartMs: cold.sinceStartMs,
          warmCallMs: cold.warmMs,
          noopUpMs: noop.wallMs,
          // The provider's own default budget (50 calls/s) alone needs this long for the calls the up made.
          budgetBoundMs: callBound(sum(calls), 0, settings.maxConcurrentCalls, settings.callsPerSecond ?? Infinity),
        },
      },
    ];
  } finally {
    await env.close();
    for (const d of temp) fs.rmSync(d, { recursive: true, force: true });
  }
}



/** Time from loading the __provider text (require-from-string, as the dynamic provider host does) to the first call's answer. */
function coldStartScript(keyPairId: string): string {
  const inputs = JSON.stringify({ keyPairId, instanceIds: ids(1, PER_RESOURCE) });
  return `
    const t0 = performance.now();
    const text = require("fs").readFileSync("provider.txt", "utf8");
    const p = require("require-from-string")(text).handler();
    (async () => {
      await p.configure({ config: { get: () => undefined } });
      const first = await p.check({}, { __provider: text, ...${inputs} });
      if (first.failures.length) throw new Error(JSON.stringify(first.failures));
      const t1 = performance.now();
      await p.check({}, { __provider: text, ...${inputs} });
      const t2 = performance.now();
      process.stdout.write("\\n" + JSON.stringify({ coldMs: Math.round(t1 - t0), sinceStartMs: Math.round(t1), warmMs: Math.round(t2 - t1) }));
    })().catch((e) => { console.error(e); process.exit(1); });
  `;
}
