#!/usr/bin/env node
/**
 * ens-keypair-recover: starts again what a KeyPairAttachment's interrupted runs left stopped and releases or unbinds
 * what they left claimed, for a resource no Pulumi state holds any more (protocol/recover.ts). Settings as the
 * provider reads them outside a stack: ENS_ENDPOINT, ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET (or the other credential
 * sources), ENS_POLL_INTERVAL_MS.
 */
import { parseArgs } from "node:util";
import { recoverOwner } from "./protocol/recover";
import { getClient, readSettings } from "./settings";

const USAGE = `Usage: ens-keypair-recover --owner <project>/<stack>/<resource name> [--unbind | --release]

  --owner O            the resource, as its owner tag names it (pulumi-ens-keypair:owner = <keyPairId>@<t>/O)
  (no flag)            start the instances its interrupted runs left stopped (expired leases); list what it still claims
  --unbind             also detach its key pair from the Stopped instances it claims and remove their owner tags
  --release            also remove its owner tags, leaving the key pairs bound (unowned)
  --force              act also on its fresh claims without a lease (otherwise left: a run of it may be binding them)
  --stop-timeout S     how long to wait for instances to run again (default 300)
  --help

Only for a resource no stack holds any more: a resource in a state (the old one of a rotation whose new one's create
was killed, say) would lose its bindings. Reads ENS_ENDPOINT and the credentials as the provider does, and always
ENS's tags (ENS_OWNERSHIP_TAGS does not apply). Exit 0: nothing of the owner is left stopped or held; 1: something is
left (each named); 2: usage.`;

const OWNER_FORM = /^(?:[^/\s]+\/[^/\s]+\/\S(?:.*\S)?|ssh-[A-Za-z0-9]+:att-[0-9a-f]{8})$/;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({ options: { owner: { type: "string" }, unbind: { type: "boolean" }, release: { type: "boolean" }, force: { type: "boolean" }, "stop-timeout": { type: "string" }, help: { type: "boolean" } } }).values;
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const problem = !args.owner
    ? "--owner is required"
    : !OWNER_FORM.test(args.owner)
      ? `--owner must be <project>/<stack>/<resource name> (or an older tag's <keyPairId>:att-<8 hex>), without spaces around it, got "${args.owner}"`
      : args.unbind && args.release ? "--unbind and --release exclude each other" : args["stop-timeout"] !== undefined && !/^\d+$/.test(args["stop-timeout"]) ? `--stop-timeout must be whole seconds, got "${args["stop-timeout"]}"` : undefined;
  if (problem) {
    console.error(`${problem}\n\n${USAGE}`);
    return 2;
  }
  // The tags this command works on are ENS's, whatever ENS_OWNERSHIP_TAGS says (in-process tags would be empty).
  const settings = { ...readSettings(), ownershipTags: true };
  const r = await recoverOwner(getClient(settings), args.owner!, {
    unbind: args.unbind,
    release: args.release,
    force: args.force,
    waits: { timeoutMs: Number(args["stop-timeout"] ?? 300) * 1000, pollIntervalMs: settings.pollIntervalMs },
    log: (l) => console.log(l),
  });
  console.log(`${args.owner} at ${settings.endpoint}: started again ${r.started.length}, unbound ${r.unbound.length}, released ${r.released.length}, still bound ${r.bound.length}, held by a live run ${r.held.length}`);
  for (const p of r.problems) console.error(p);
  return r.problems.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`ens-keypair-recover: ${(e as Error).message}`);
    process.exit(1);
  },
);
