import net from "node:net";

/**
 * Is the Pulumi engine that started this provider process still there? The Node dynamic-provider host runs in a
 * process group of its own (behind a shell script), so it outlives a SIGKILL of the CLI; its last argument is the
 * engine's gRPC address, which stops answering when the engine dies. Outside the engine (tests, direct use) there is
 * no such argument and the answer is always yes.
 */
const ENGINE_ADDRESS = process.argv.slice(2).reverse().find((a) => /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(a));

export function engineAlive(timeoutMs = 1000): Promise<boolean> {
  if (!ENGINE_ADDRESS) return Promise.resolve(true);
  const i = ENGINE_ADDRESS.lastIndexOf(":");
  const host = ENGINE_ADDRESS.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(ENGINE_ADDRESS.slice(i + 1));
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (alive: boolean) => {
      socket.destroy();
      resolve(alive);
    };
    socket.setTimeout(timeoutMs, () => done(true)); // slow is not dead
    socket.once("connect", () => done(true));
    socket.once("error", (e: NodeJS.ErrnoException) => done(e.code !== "ECONNREFUSED"));
  });
}

let inFlight = 0;
let watching = false;

/**
 * Runs an operation, and makes sure an orphaned provider process ends once no operation is running: without the
 * engine nobody would ever record what it does.
 */
export async function tracked<T>(op: () => Promise<T>): Promise<T> {
  if (!watching && ENGINE_ADDRESS) {
    watching = true;
    setInterval(async () => {
      if (inFlight === 0 && !(await engineAlive())) process.exit(1);
    }, 2000).unref();
  }
  inFlight++;
  try {
    return await op();
  } finally {
    inFlight--;
  }
}
