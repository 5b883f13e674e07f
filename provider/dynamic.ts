/**
 * The object Pulumi serializes into every resource's state as `__provider`. Installed from npm, this module is
 * written there as a bare `require("pulumi-ens-keypair/dynamic")` (a few hundred bytes); each method loads the
 * implementation by package name when it runs, so no code, config or credential is ever captured, and upgrading
 * the package upgrades existing resources too. Keep it trivial: the serializer parses it with TypeScript 3.8.
 */
function impl() {
  return require("pulumi-ens-keypair/provider").provider;
}

/**
 * Errors leave as their message alone. The Node dynamic-provider host (@pulumi/pulumi cmd/dynamic-provider) prints
 * what check, diff, read and delete throw as `${e}: ${e.stack}` on the plugin's stderr, which the engine shows under
 * the stack, before it shows `e.message` under the resource: the message three times, with stack frames into files
 * the package does not ship. So what is thrown here has no stack, and that one stderr line is dropped (only that exact
 * line, and only while the host is about to print it); create and update keep their partial-state fields.
 */
function clean(e: any) {
  const message = e instanceof Error ? e.message : String(e);
  const out: any = new Error(message);
  out.stack = "";
  out.toString = () => message;
  if (e && e.id) Object.assign(out, { id: e.id, properties: e.properties, reasons: e.reasons });
  const printed = `${out}: ${out.stack}`;
  const c: any = console;
  if (!c.__ensKeypairHostLines) {
    const lines = (c.__ensKeypairHostLines = new Set<string>());
    const error = console.error;
    console.error = function (...args: any[]) {
      if (args.length === 1 && lines.delete(args[0])) return;
      return error.apply(console, args);
    };
  }
  c.__ensKeypairHostLines.add(printed);
  setImmediate(() => c.__ensKeypairHostLines.delete(printed));
  return out;
}
function run(f: () => any) {
  return Promise.resolve()
    .then(f)
    .catch((e) => {
      throw clean(e);
    });
}

export function configure(req: unknown) {
  return impl().configure(req);
}
export function check(olds: unknown, news: unknown) {
  return run(() => impl().check(olds, news));
}
export function diff(id: string, olds: unknown, news: unknown) {
  return run(() => impl().diff(id, olds, news));
}
export function create(inputs: unknown) {
  return run(() => impl().create(inputs));
}
export function read(id: string, props: unknown) {
  return run(() => impl().read(id, props));
}
export function update(id: string, olds: unknown, news: unknown) {
  return run(() => impl().update(id, olds, news));
}
function remove(id: string, props: unknown) {
  return run(() => impl().delete(id, props));
}
export { remove as delete };
