/**
 * The object Pulumi serializes into every resource's state as `__provider`. Installed from npm, this module is
 * written there as a bare `require("pulumi-ens-keypair/dynamic")` (a few hundred bytes); each method loads the
 * implementation by package name when it runs, so no code, config or credential is ever captured, and upgrading
 * the package upgrades existing resources too. Keep it trivial: the serializer parses it with TypeScript 3.8.
 */
function impl() {
  return require("pulumi-ens-keypair/provider").provider;
}
export function configure(req: unknown) {
  return impl().configure(req);
}
export function check(olds: unknown, news: unknown) {
  return impl().check(olds, news);
}
export function diff(id: string, olds: unknown, news: unknown) {
  return impl().diff(id, olds, news);
}
export function create(inputs: unknown) {
  return impl().create(inputs);
}
export function read(id: string, props: unknown) {
  return impl().read(id, props);
}
export function update(id: string, olds: unknown, news: unknown) {
  return impl().update(id, olds, news);
}
function remove(id: string, props: unknown) {
  return impl().delete(id, props);
}
export { remove as delete };
