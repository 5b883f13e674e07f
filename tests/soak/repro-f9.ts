/**
 * FINDINGS.md F9: `pulumi destroy` after a killed create leaves its bindings and Stopped instances.
 *   node -r ts-node/register/transpile-only tests/soak/repro-f9.ts        (K=18 calls before the kill, WAIT=62000 ms)
 * Needs dist/ built (npm run build) and the Pulumi CLI (scripts/ensure-pulumi.sh). Prints ENS after the destroy and
 * after another stack's up WAIT ms later.
 */
import { CliSoakSystem } from "./cli-system";

async function main() {
  const sys = new CliSoakSystem({ keyCount: 2, stopped: [], randomSeed: 7 });
  await sys.start();
  const show = (when: string) => {
    console.log(when);
    for (const i of sys.emu.state().instances.slice(0, 4)) console.log(`  ${i.instanceId} ${i.status} key=${i.keyPairName ?? "none"} ${JSON.stringify(i.tags)}`);
  };
  try {
    const [alice, bob] = sys.stacks;
    sys.writeProgram(bob, { key: 0, instances: [0, 1, 2, 3], stopInstances: true, maxStopped: 4 });
    sys.beginCommand(true);
    const { result } = await sys.command(bob, "up", { crashAfter: Number(process.env.K ?? 18) });
    console.log(`bob up: ${result.killed === "crash" ? "killed" : `ended, exit ${result.code}`}; then pulumi cancel; pending operations ${bob.exported.pending}`);
    const d = await sys.cli(bob, ["destroy", "--yes", "--skip-preview"]);
    await sys.exportState(bob);
    console.log(`bob destroy: exit ${d.code}; attachment in state: ${!!bob.exported.live}`);
    show("ENS after the destroy:");
    await new Promise((r) => setTimeout(r, Number(process.env.WAIT ?? 62_000)));
    sys.writeProgram(alice, { key: 1, instances: [0, 1], stopInstances: true, maxStopped: 2 });
    const a = await sys.command(alice, "up");
    console.log(`alice up: exit ${a.result.code} ${a.result.firstError ?? ""}`);
    show("ENS after alice's up:");
  } finally {
    await sys.close();
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
