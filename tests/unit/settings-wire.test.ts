/**
 * Issue 19.1 and 19.2: the wire's limits are settings, in seconds, stack config first, then the environment:
 * ens:connectTimeoutSeconds, ens:readTimeoutSeconds, ens:retryDeadlineSeconds.
 */
import http from "node:http";
import net from "node:net";
import { EnsError } from "../../provider/ens";
import { getClient, readSettings } from "../../provider/settings";

const CREDS = { ALIBABA_CLOUD_ACCESS_KEY_ID: "settings-key", ALIBABA_CLOUD_ACCESS_KEY_SECRET: "settings-secret" };
const config = (values: Record<string, string> = {}) => ({ get: (k: string) => values[k] });

describe("wire settings", () => {
  it("default to 10 s to connect, 60 s to answer, and 5 minutes of retries", () => {
    const s = readSettings({ ...CREDS }, config());
    expect([s.connectTimeoutSeconds, s.readTimeoutSeconds, s.retryDeadlineSeconds]).toEqual([10, 60, 300]);
  });

  it("are read from the environment, and stack config wins; fractions are allowed", () => {
    const env = { ...CREDS, ENS_CONNECT_TIMEOUT_SECONDS: "2.5", ENS_READ_TIMEOUT_SECONDS: "120", ENS_RETRY_DEADLINE_SECONDS: "1800" };
    expect(readSettings(env, config())).toMatchObject({ connectTimeoutSeconds: 2.5, readTimeoutSeconds: 120, retryDeadlineSeconds: 1800 });
    const s = readSettings(env, config({ "ens:connectTimeoutSeconds": "4", "ens:readTimeoutSeconds": "30", "ens:retryDeadlineSeconds": "600" }));
    expect(s).toMatchObject({ connectTimeoutSeconds: 4, readTimeoutSeconds: 30, retryDeadlineSeconds: 600 });
  });

  it.each([
    ["ENS_CONNECT_TIMEOUT_SECONDS", "0", "ens:connectTimeoutSeconds / ENS_CONNECT_TIMEOUT_SECONDS"],
    ["ENS_READ_TIMEOUT_SECONDS", "ten", "ens:readTimeoutSeconds / ENS_READ_TIMEOUT_SECONDS"],
    ["ENS_RETRY_DEADLINE_SECONDS", "-5", "ens:retryDeadlineSeconds / ENS_RETRY_DEADLINE_SECONDS"],
    ["ENS_RETRY_DEADLINE_SECONDS", "90000", "ens:retryDeadlineSeconds / ENS_RETRY_DEADLINE_SECONDS"],
  ])("%s=%s is refused, naming the setting and what it takes", (name, value, setting) => {
    expect(() => readSettings({ ...CREDS, [name]: value }, config())).toThrow(`${setting} (stack config / environment) must be a number of seconds above 0 and at most 86400, got "${value}"`);
  });

  it("the provider's client uses them: read time-out and retry deadline from the environment", async () => {
    const server = http.createServer(() => undefined); // connects, never answers
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    try {
      const env = { ...CREDS, ENS_ENDPOINT: endpoint, ENS_CONNECT_TIMEOUT_SECONDS: "0.2", ENS_READ_TIMEOUT_SECONDS: "0.3", ENS_RETRY_DEADLINE_SECONDS: "1.5" };
      const err = (await getClient(readSettings(env, config())).describeKeyPairs().catch((e) => e)) as EnsError;
      expect(err).toBeInstanceOf(EnsError);
      expect(err.code).toBe("ReadTimeout");
      expect(err.message).toContain("connected, but no answer within 0.3 s");
      expect(err.message).toMatch(/gave up after [\d.]+ s and [2-9] attempts; retries stop after ens:retryDeadlineSeconds \/ ENS_RETRY_DEADLINE_SECONDS = 1\.5; raise it to retry longer\)$/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
