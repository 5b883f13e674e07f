/**
 * Key pair rules from the SDK models and reference pages: DeleteKeyPairs while attached, ImportKeyPair ssh-rsa only,
 * KeyPairName discarded next to KeyPairId, DetachKeyPair by a name an instance does not carry.
 */
import { RunningEmulator, startEmulator } from "../../emulator";
import { SIGNATURE_STYLES, call, callErr, emuClient, jsonIds } from "../helpers/emu-raw-client";

const id = (n: number) => `i-emu${String(n).padStart(8, "0")}`;
const RSA =
  "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDGm4r0cU1ZQm1uVt3Pj0Xy8d1oYk2r8pQ9mZ7c3a6wJfB2hN4kL5sT8vR1qE7uI0oP2aS4dF6gH8jK0lZ2xC4vB6nM8qW0eR2tY4uI6oP8aS0dF2gH4jK6lZ8xC0vB2nM4qW6eR8tY0uI2oP4aS6dF8gH0jK2lZ4xC6vB8nM0qQ== me@host";

let emu: RunningEmulator;
beforeEach(async () => {
  emu = await startEmulator({
    instances: 6,
    seed: { keyPairs: [{ keyPairName: "alpha", keyPairId: "ssh-alpha" }, { keyPairName: "beta", keyPairId: "ssh-beta" }] },
  });
});
afterEach(() => emu.close());
const keyOf = (instanceId: string) => emu.state().instances.find((i) => i.instanceId === instanceId)?.keyPairName;

describe.each(SIGNATURE_STYLES)("signature style %s", (_label, signatureAlgorithm) => {
  const c = () => emuClient(emu, { signatureAlgorithm });

  test("DeleteKeyPairs on an attached key pair succeeds; instances keep the dangling KeyPairName", async () => {
    await call(c(), "AttachKeyPair", { InstanceIds: jsonIds([id(1), id(2)]), KeyPairId: "ssh-alpha" });
    expect(await call(c(), "DeleteKeyPairs", { KeyPairName: "alpha" })).toEqual({ RequestId: expect.any(String) });
    expect((await call(c(), "DescribeKeyPairs", { KeyPairName: "alpha" })).TotalCount).toBe(0);
    const d = await call(c(), "DescribeInstances", { InstanceIds: jsonIds([id(1), id(2)]) });
    expect(d.Instances.Instance.map((i: any) => i.KeyPairName)).toEqual(["alpha", "alpha"]);
    expect((await callErr(c(), "AttachKeyPair", { InstanceIds: jsonIds([id(3)]), KeyPairId: "ssh-alpha" })).code).toBe("InvalidKeyPair.NotFound");
    // world.deleteKeyPair (out of band) is allowed while attached too.
    emu.world.setInstanceKey(id(4), "beta");
    emu.world.deleteKeyPair("ssh-beta");
    expect(keyOf(id(4))).toBe("beta");
    expect(emu.state().keyPairs).toEqual([]);
  });

  test("ImportKeyPair accepts ssh-rsa only", async () => {
    const ok = await call(c(), "ImportKeyPair", { KeyPairName: "rsa-key", PublicKeyBody: RSA });
    expect(ok.KeyPairName).toBe("rsa-key");
    for (const body of [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGqUc0Zk3m1G1t1ykVgkC4+0YxQ9tW6Kl4Vq3pW9mE2F me@host",
      "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEm me@host",
    ]) {
      const e = await callErr(c(), "ImportKeyPair", { KeyPairName: "other-key", PublicKeyBody: body });
      expect([e.statusCode, e.code, e.data.Message]).toEqual([400, "InvalidPublicKeyBody.Malformed", expect.stringMatching(/ssh-rsa/)]);
    }
    expect((await call(c(), "DescribeKeyPairs", { KeyPairName: "other-key" })).TotalCount).toBe(0);
  });

  test("AttachKeyPair / DetachKeyPair / DeleteKeyPairs: KeyPairName is discarded when KeyPairId is given", async () => {
    const a = await call(c(), "AttachKeyPair", { InstanceIds: jsonIds([id(1)]), KeyPairId: "ssh-alpha", KeyPairName: "beta" });
    expect([a.KeyPairId, a.KeyPairName, a.FailCount, keyOf(id(1))]).toEqual(["ssh-alpha", "alpha", 0, "alpha"]);
    // Not even an unknown name matters next to a KeyPairId.
    const d = await call(c(), "DetachKeyPair", { InstanceIds: jsonIds([id(1)]), KeyPairId: "ssh-alpha", KeyPairName: "no-such-key" });
    expect([d.KeyPairName, d.FailCount, keyOf(id(1))]).toEqual(["alpha", 0, undefined]);
    await call(c(), "DeleteKeyPairs", { KeyPairId: "ssh-beta", KeyPairName: "alpha" });
    expect(emu.state().keyPairs.map((k) => k.keyPairName)).toEqual(["alpha"]);
  });

  test("DetachKeyPair by a KeyPairName one instance does not carry fails the whole call; nothing is detached", async () => {
    emu.world.setInstanceKey(id(1), "alpha");
    emu.world.setInstanceKey(id(2), "beta");
    const e = await callErr(c(), "DetachKeyPair", { InstanceIds: jsonIds([id(1), id(2), id(3)]), KeyPairName: "alpha" });
    expect([e.statusCode, e.code]).toEqual([400, "PublicKeyNotAttachWithInstance"]);
    expect(e.data.Message).toContain(id(2));
    expect(e.data.Message).toContain(id(3));
    expect([keyOf(id(1)), keyOf(id(2))]).toEqual(["alpha", "beta"]);
    // All listed instances carry it (an unknown one stays a per-instance result): the call goes through.
    const ok = await call(c(), "DetachKeyPair", { InstanceIds: jsonIds([id(1), "i-gone"]), KeyPairName: "alpha" });
    expect(ok.Results.map((r: any) => [r.InstanceId, r.Success])).toEqual([[id(1), true], ["i-gone", false]]);
    expect(keyOf(id(1))).toBeUndefined();
  });
});
