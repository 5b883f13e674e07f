/**
 * Issue 19.4: every message ENS writes (per-instance `Results[].Message`, `InstanceResponses[].Message`, error bodies)
 * passes the same redaction as errors, also for a token whose `+` arrives as a space or whose `/` arrives as `\/`.
 */
import { RunningEmulator, startEmulator } from "../../emulator";
import { EnsClient, redact, registerSecret, toEnsError } from "../../provider/ens";
import { NO_RETRY } from "../../provider/policies";
import { startWireProxy } from "../helpers/wire-proxy";

const TOKEN = "CAISechoTestToken+With/Both+Kinds/Of=Chars0123456789";
const SECRET_SUFFIX = "+sec/ret=";

/** Every form in which an echoing endpoint may hand a secret back. */
function forms(secret: string): string[] {
  return [
    secret,
    encodeURIComponent(secret),
    secret.replace(/\+/g, " "), // a `+` decoded as a space (the query string was read as a form)
    secret.replace(/\//g, "\\/"), // a `/` escaped as `\/` (JSON written by PHP, Java, ...)
    secret.replace(/\+/g, " ").replace(/\//g, "\\/"),
  ];
}

/** What an endpoint that echoes the request writes into a per-instance message. */
function echo(secret: string): string {
  const [raw, encoded, spaced, escaped, both] = forms(secret);
  return `IncorrectInstanceStatus: token ${raw}; SecurityToken=${encoded}; form ${spaced}; json ${escaped}; both ${both}.`;
}

function expectNoSecret(text: string, secrets: string[]) {
  for (const secret of secrets) for (const f of forms(secret)) expect(text).not.toContain(f);
  // What is left of a spaced token must not survive in pieces either.
  for (const secret of secrets) for (const piece of secret.split(/[+/]/).filter((p) => p.length >= 6)) expect(text).not.toContain(piece);
}

describe("per-instance messages are redacted in the client", () => {
  let emu: RunningEmulator;
  let secret: string;

  beforeAll(async () => {
    emu = await startEmulator({ instances: 2, initialStatus: "Stopped", accessKeys: { "echo-key": `echo-secret${SECRET_SUFFIX}` } });
    emu.world.addKeyPair({ keyPairName: "kp", keyPairId: "ssh-echo0000000001" });
    secret = `echo-secret${SECRET_SUFFIX}`;
  });
  afterAll(() => emu.close());

  it("Results[].Message of AttachKeyPair / DetachKeyPair and InstanceResponses[].Message of StopInstances / StartInstances", async () => {
    const seenTokens: string[] = [];
    const proxy = await startWireProxy(emu.url, {
      answer: (_action, _n, body, _status, req) => {
        seenTokens.push(String(req.headers["x-acs-security-token"] ?? ""));
        for (const list of [body.Results, body.InstanceResponses]) {
          for (const r of Array.isArray(list) ? list : []) {
            r.Code = 400;
            r.Success = false;
            r.Message = `${echo(String(req.headers["x-acs-security-token"]))} ${echo(secret)}`;
          }
        }
        return body;
      },
    });
    try {
      const client = new EnsClient({ endpoint: proxy.url, retry: NO_RETRY, credentials: { accessKeyId: "echo-key", accessKeySecret: secret, securityToken: TOKEN } });
      const ids = ["i-emu00000001", "i-emu00000002"];
      const messages = [
        ...(await client.attachKeyPair({ keyPairId: "ssh-echo0000000001" }, ids)).Results.map((r) => `${r.Code} ${r.Message}`),
        ...(await client.detachKeyPair({ keyPairId: "ssh-echo0000000001" }, ids)).Results.map((r) => `${r.Code} ${r.Message}`),
        ...(await client.stopInstances(ids)).InstanceResponses.map((r) => `${r.Code} ${r.Message}`),
        ...(await client.startInstances(ids)).InstanceResponses.map((r) => `${r.Code} ${r.Message}`),
      ];
      expect(seenTokens.every((t) => t === TOKEN)).toBe(true);
      expect(messages).toHaveLength(8);
      for (const m of messages) {
        expect(m).toMatch(/^IncorrectInstanceStatus token \[redacted\]; SecurityToken=\[redacted\]; form \[redacted\]; json \[redacted\]; both \[redacted\]\. /);
        expectNoSecret(m, [TOKEN, secret]);
      }
    } finally {
      await proxy.close();
    }
  });
});

describe("redact: the forms an echo may take", () => {
  beforeAll(() => registerSecret(TOKEN));

  it.each([
    ["raw", TOKEN],
    ["+ as a space", TOKEN.replace(/\+/g, " ")],
    ["/ as \\/", TOKEN.replace(/\//g, "\\/")],
    ["both", TOKEN.replace(/\+/g, " ").replace(/\//g, "\\/")],
    ["percent-encoded, + as %2B", encodeURIComponent(TOKEN)],
    ["form-encoded, space as +", encodeURIComponent(TOKEN.replace(/\+/g, " ")).replace(/%20/g, "+")],
  ])("%s", (_name, form) => {
    const out = redact(`before ${form} after`);
    expect(out).toBe("before [redacted] after");
  });

  it("an ENS error body echoing the token with + as a space or / as \\/ is redacted too", () => {
    const err = toEnsError(
      Object.assign(new Error("x"), { statusCode: 400, data: { RequestId: "r", Code: "InvalidSecurityToken.Malformed", Message: `token ${TOKEN.replace(/\+/g, " ")} or ${TOKEN.replace(/\//g, "\\/")}` } }),
      "AttachKeyPair",
      "http://127.0.0.1:1",
    );
    expectNoSecret(err.message, [TOKEN]);
    expect(err.message).toContain("token [redacted] or [redacted]");
  });
});
