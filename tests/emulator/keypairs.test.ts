/** CreateKeyPair, ImportKeyPair, DescribeKeyPairs, DeleteKeyPairs, through the real client in both signature styles. */
import { RunningEmulator, startEmulator } from "../../emulator";
import { SIGNATURE_STYLES, call, callErr, emuClient } from "../helpers/emu-raw-client";

const PUBLIC_KEY =
  "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7Qf4rYw8nq9kV1m2Wf1uJ3pLr5xN0aZ6sT2bE4cH8dG1yK7vM9oP3qR5tU7wX9zA1bC3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5zA7bC9dE1fG3hI5jK7lM9nO1pQ3rS5tU7vW9xY1zA3bC5dE7fG9hI1jK3lM5nO7pQ9rQ== user@host";

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ instances: 2, seed: { keyPairs: [{ keyPairName: "seeded", keyPairId: "ssh-seeded" }] } });
});
afterAll(() => emu.close());

describe.each(SIGNATURE_STYLES)("signature style %s", (label, signatureAlgorithm) => {
  const c = () => emuClient(emu, { signatureAlgorithm });
  const name = (s: string) => `${s}-${signatureAlgorithm ?? "acs3"}`;

  test("CreateKeyPair returns id, name, fingerprint and a PEM private key; DescribeKeyPairs finds it", async () => {
    const created = await call(c(), "CreateKeyPair", { KeyPairName: name("created") });
    expect(created).toEqual({
      RequestId: expect.any(String),
      KeyPairId: expect.stringMatching(/^ssh-[0-9a-f]+$/),
      KeyPairName: name("created"),
      KeyPairFingerPrint: expect.stringMatching(/^[0-9a-f]{32}$/),
      PrivateKeyBody: expect.stringContaining("-----BEGIN RSA PRIVATE KEY-----"),
    });
    const byName = await call(c(), "DescribeKeyPairs", { KeyPairName: name("created") });
    expect(byName).toEqual({
      RequestId: expect.any(String),
      KeyPairs: {
        KeyPair: [
          {
            CreationTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
            KeyPairFingerPrint: created.KeyPairFingerPrint,
            KeyPairId: created.KeyPairId,
            KeyPairName: name("created"),
          },
        ],
      },
      PageNumber: 1,
      PageSize: 10,
      TotalCount: 1,
    });
    const byId = await call(c(), "DescribeKeyPairs", { KeyPairId: created.KeyPairId });
    expect(byId.KeyPairs.KeyPair.map((k: any) => k.KeyPairName)).toEqual([name("created")]);
  });

  test("ImportKeyPair answers without KeyPairId, but the key pair gets one", async () => {
    const imported = await call(c(), "ImportKeyPair", { KeyPairName: name("imported"), PublicKeyBody: PUBLIC_KEY });
    expect(Object.keys(imported).sort()).toEqual(["KeyPairFingerPrint", "KeyPairName", "RequestId"]);
    const listed = await call(c(), "DescribeKeyPairs", { KeyPairName: name("imported") });
    expect(listed.KeyPairs.KeyPair[0].KeyPairId).toMatch(/^ssh-/);
    expect(listed.KeyPairs.KeyPair[0].KeyPairFingerPrint).toBe(imported.KeyPairFingerPrint);
  });

  test("ImportKeyPair rejects a body that is not an OpenSSH public key", async () => {
    const e = await callErr(c(), "ImportKeyPair", { KeyPairName: name("junk"), PublicKeyBody: "hello" });
    expect([e.statusCode, e.code]).toEqual([400, "InvalidPublicKeyBody.Malformed"]);
    expect((await callErr(c(), "ImportKeyPair", { KeyPairName: name("junk2") })).code).toBe("MissingParameter");
  });

  test("a duplicate name -> 400 KeyPair.AlreadyExist (Create and Import)", async () => {
    await call(c(), "CreateKeyPair", { KeyPairName: name("dup") });
    const e = await callErr(c(), "CreateKeyPair", { KeyPairName: name("dup") });
    expect([e.statusCode, e.code]).toEqual([400, "KeyPair.AlreadyExist"]);
    const e2 = await callErr(c(), "ImportKeyPair", { KeyPairName: name("dup"), PublicKeyBody: PUBLIC_KEY });
    expect(e2.code).toBe("KeyPair.AlreadyExist");
  });

  test.each([
    ["too short", "a"],
    ["starts with a digit", "1abc"],
    ["starts with a hyphen", "-abc"],
    ["contains a slash", "ab/c"],
    ["contains a space", "ab c"],
    ["129 characters", "a".repeat(129)],
  ])(`${label}: name rule — %s -> 400 InvalidKeyPairName.Malformed`, async (_why, bad) => {
    const e = await callErr(c(), "CreateKeyPair", { KeyPairName: bad });
    expect([e.statusCode, e.code]).toEqual([400, "InvalidKeyPairName.Malformed"]);
  });

  test("name rule accepts 2 and 128 characters with : _ -", async () => {
    await call(c(), "CreateKeyPair", { KeyPairName: signatureAlgorithm ? "Ab" : "Ac" });
    await call(c(), "CreateKeyPair", { KeyPairName: `x:_-${signatureAlgorithm ?? "a"}`.padEnd(128, "z") });
  });

  test("CreateKeyPair without a name -> MissingParameter", async () => {
    const e = await callErr(c(), "CreateKeyPair", {});
    expect([e.statusCode, e.code]).toEqual([400, "MissingParameter"]);
  });

  test("DeleteKeyPairs by name and by id; then NotFound", async () => {
    const a = await call(c(), "CreateKeyPair", { KeyPairName: name("del-a") });
    await call(c(), "CreateKeyPair", { KeyPairName: name("del-b") });
    expect(await call(c(), "DeleteKeyPairs", { KeyPairId: a.KeyPairId })).toEqual({ RequestId: expect.any(String) });
    await call(c(), "DeleteKeyPairs", { KeyPairName: name("del-b") });
    const e = await callErr(c(), "DeleteKeyPairs", { KeyPairName: name("del-b") });
    expect([e.statusCode, e.code]).toEqual([404, "InvalidKeyPair.NotFound"]);
    expect((await call(c(), "DescribeKeyPairs", { KeyPairName: name("del-a") })).TotalCount).toBe(0);
  });

  test("DeleteKeyPairs needs KeyPairId or KeyPairName", async () => {
    expect((await callErr(c(), "DeleteKeyPairs", {})).code).toBe("MissingParameter");
  });
});

describe("DescribeKeyPairs paging", () => {
  test("PageNumber/PageSize slice the list and TotalCount counts all", async () => {
    const c = emuClient(emu);
    for (let i = 0; i < 12; i++) await call(c, "CreateKeyPair", { KeyPairName: `page-${String(i).padStart(2, "0")}` });
    const total = (await call(c, "DescribeKeyPairs")).TotalCount;
    const p1 = await call(c, "DescribeKeyPairs", { PageSize: 5, PageNumber: 1 });
    const p2 = await call(c, "DescribeKeyPairs", { PageSize: 5, PageNumber: 2 });
    expect(p1.KeyPairs.KeyPair).toHaveLength(5);
    expect(p2.PageNumber).toBe(2);
    expect(p1.TotalCount).toBe(total);
    const beyond = await call(c, "DescribeKeyPairs", { PageSize: 5, PageNumber: 1000 });
    expect(beyond.KeyPairs.KeyPair).toEqual([]);
    expect((await callErr(c, "DescribeKeyPairs", { PageSize: 101 })).code).toBe("InvalidParameter.PageSize");
    expect((await callErr(c, "DescribeKeyPairs", { PageNumber: 0 })).code).toBe("InvalidParameter.PageNumber");
  });

  test("the seeded key pair is there with its given id", async () => {
    const r = await call(emuClient(emu), "DescribeKeyPairs", { KeyPairId: "ssh-seeded" });
    expect(r.KeyPairs.KeyPair[0].KeyPairName).toBe("seeded");
  });
});
