/**
 * Local Alibaba Cloud ENS (2017-11-10) emulator: key pairs, instances, lifecycle, tags,
 * both signature styles of @alicloud/openapi-client, fault injection, quota, journal, persistence.
 *
 *   const emu = await startEmulator({ instances: 100 });
 *   // Config({ endpoint: emu.hostPort, protocol: "http", accessKeyId: emu.accessKeyId, accessKeySecret: emu.accessKeySecret })
 *   await emu.close();
 */
import type { AddressInfo } from "node:net";
import { EmulatorCore, DEFAULT_ACCESS_KEYS } from "./core";
import { createEmulatorServer } from "./server";
import type { EmulatorOptions, Faults, ResultCodeStyle, RunningEmulator } from "./types";

export * from "./types";
export { EnsFault } from "./errors";
export { API_VERSION, ADMIN_PREFIX } from "./server";
export { DEFAULT_ACCESS_KEYS };

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const core = new EmulatorCore(options);
  if (core.stateFile) await core.stateFile.writeNow();
  const server = createEmulatorServer(core);
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const hostPort = `${urlHost}:${port}`;
  const [accessKeyId, accessKeySecret] = Object.entries(options.accessKeys ?? DEFAULT_ACCESS_KEYS)[0];
  let closed: Promise<void> | undefined;

  return {
    url: `http://${hostPort}`,
    endpoint: `http://${hostPort}`,
    hostPort,
    accessKeyId,
    accessKeySecret,
    state: () => core.state(),
    journal: () => core.journal(),
    stats: () => core.stats(),
    setFaults: (f: Faults) => core.edge.set(f),
    faults: () => core.edge.current,
    setQuota: (q: number | undefined) => core.edge.setQuota(q),
    setResultCodes: (style: ResultCodeStyle) => core.setResultCodes(style),
    resultCodes: () => core.resultCodes,
    reset: () => core.reset(),
    world: core.control,
    close: () =>
      (closed ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await core.stateFile?.flush();
      })()),
  };
}
