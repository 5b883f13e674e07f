/** Malformed input never crashes the emulator and always gets a JSON error. */
import { connect } from "node:net";
import { RunningEmulator, startEmulator } from "../../emulator";
import { call, emuClient, rawHttp, signedV2Path } from "../helpers/emu-raw-client";

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ instances: 2 });
});
afterAll(() => emu.close());
afterEach(async () => {
  // Whatever the test sent, the emulator still serves a normal call.
  await expect(call(emuClient(emu), "DescribeInstances")).resolves.toHaveProperty("TotalCount", 2);
});

function rawSocket(text: string): Promise<string> {
  const u = new URL(emu.url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => s.end(text));
    const chunks: Buffer[] = [];
    s.on("data", (c) => chunks.push(c));
    s.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
    s.on("error", reject);
  });
}

test("a body over 1 MiB -> 413 JSON", async () => {
  const r = await rawHttp(emu, "POST", "/?Action=DescribeInstances", Buffer.alloc(2 * 1024 * 1024, 97), {
    "content-type": "application/x-www-form-urlencoded",
  });
  expect(r.status).toBe(413);
  expect(r.json.Code).toBe("RequestEntityTooLarge");
});

test("garbage on the socket -> a JSON 400, not a crash", async () => {
  const text = await rawSocket("THIS IS NOT HTTP\r\n\r\n");
  expect(text).toMatch(/^HTTP\/1\.1 400/);
  expect(text).toContain('"Code":"InvalidRequest"');
});

test("oversized headers -> JSON 431", async () => {
  const text = await rawSocket(`GET /?a=${"x".repeat(70 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`);
  expect(text).toMatch(/^HTTP\/1\.1 431/);
  expect(text).toContain("InvalidRequest");
});

test.each([
  ["GET with no parameters", "GET", "/"],
  ["an unknown path", "POST", "/foo/bar"],
  ["a PUT", "PUT", "/?Action=DescribeInstances&Version=2017-11-10"],
  ["malformed percent-encoding", "POST", "/?Action=%E0%A4%A&Version=%ZZ"],
  ["an empty Action", "POST", "/?Action=&Version=2017-11-10"],
])("%s -> JSON error with Code and Message", async (_name, method, path) => {
  const r = await rawHttp(emu, method, path);
  expect(r.status).toBeGreaterThanOrEqual(400);
  expect(r.json).toEqual(expect.objectContaining({ Code: expect.any(String), Message: expect.any(String), RequestId: expect.any(String) }));
});

test("form-encoded body parameters are read (and signed, v2)", async () => {
  // v2 signs query + body together; put PageSize in the body.
  const path = signedV2Path(emu, { Action: "DescribeInstances", PageSize: "1" });
  const [p, q] = path.split("?");
  const params = new URLSearchParams(q);
  params.delete("PageSize");
  const r = await rawHttp(emu, "POST", `${p}?${params}`, "PageSize=1", { "content-type": "application/x-www-form-urlencoded" });
  expect(r.status).toBe(200);
  expect(r.json.PageSize).toBe(1);
});

test("duplicate query keys: the first value wins", async () => {
  const path = signedV2Path(emu, { Action: "DescribeInstances", PageSize: "1" });
  const r = await rawHttp(emu, "POST", `${path}&PageSize=2`);
  expect(r.status).toBe(200);
  expect(r.json.PageSize).toBe(1);
});

test("parameter values of any shape are answered with JSON", async () => {
  const c = emuClient(emu);
  // (InstanceIds "null" counts as absent: see sdk-forms.test.ts)
  for (const q of [
    { InstanceIds: "[1,2]" },
    { InstanceIds: '[""]' },
    { PageNumber: "1e3" },
    { PageNumber: "-1" },
    { PageSize: "99999999999999999999" },
  ]) {
    const e = await call(c, "DescribeInstances", q).then(
      () => undefined,
      (x) => x,
    );
    expect(e?.code).toMatch(/^InvalidParameter\./);
  }
});
