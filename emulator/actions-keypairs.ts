/** Key pair actions: DescribeKeyPairs, CreateKeyPair, ImportKeyPair, DeleteKeyPairs. */
import { randomBytes } from "node:crypto";
import type { ActionDef } from "./actions";
import { Errors } from "./errors";
import { KeyPair, World, fingerprintOf } from "./model";
import { Params, optional, page, positiveInt, required } from "./params";

const NAME_RULE = /^[A-Za-z][A-Za-z0-9:_-]{1,127}$/;
const OPENSSH_KEY = /^(\S+) [A-Za-z0-9+/]+={0,3}( .*)?$/;

/**
 * KeyPairId or KeyPairName, resolved to an existing key pair. When both are sent KeyPairName is discarded
 * (TS SDK client.ts attachKeyPair remarks: "Specify the key_pair_id ... The key_pair_name parameter will be
 * discarded"). `byName` tells whether the name was the one used.
 */
export function resolveKeyPair(p: Params, world: World): { kp: KeyPair; byName: boolean } {
  const id = optional(p, "KeyPairId");
  const name = optional(p, "KeyPairName");
  if (!id && !name) throw Errors.missing("KeyPairId or KeyPairName");
  const kp = id ? world.keyPairById(id) : world.keyPairByName(name!);
  if (!kp) throw Errors.keyPairNotFound(id ? `KeyPairId ${id}` : `KeyPairName ${name}`);
  return { kp, byName: !id };
}

function newName(p: Params, world: World): string {
  const name = required(p, "KeyPairName");
  if (!NAME_RULE.test(name)) throw Errors.keyPairNameMalformed(name);
  if (world.keyPairByName(name)) throw Errors.keyPairExists(name);
  return name;
}

const fakePrivateKey = (): string => {
  const body = randomBytes(1190).toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----\n`;
};

const DescribeKeyPairs: ActionDef = (p, { world }) => {
  const pageNumber = positiveInt(p, "PageNumber", 1, 1_000_000);
  const pageSize = positiveInt(p, "PageSize", 10, 100);
  const id = optional(p, "KeyPairId");
  const name = optional(p, "KeyPairName");
  const all = world.keyPairs().filter((k) => (!id || k.keyPairId === id) && (!name || k.keyPairName === name));
  const KeyPair = page(all, pageNumber, pageSize).map((k) => ({
    CreationTime: k.creationTime,
    KeyPairFingerPrint: k.keyPairFingerPrint,
    KeyPairId: k.keyPairId,
    KeyPairName: k.keyPairName,
  }));
  return { KeyPairs: { KeyPair }, PageNumber: pageNumber, PageSize: pageSize, TotalCount: all.length };
};

const CreateKeyPair: ActionDef = (p, { world, now }) => {
  const kp = world.addKeyPair({ keyPairName: newName(p, world) }, now);
  return {
    KeyPairFingerPrint: kp.keyPairFingerPrint,
    KeyPairId: kp.keyPairId,
    KeyPairName: kp.keyPairName,
    PrivateKeyBody: fakePrivateKey(),
  };
};

const ImportKeyPair: ActionDef = (p, { world, now }) => {
  const keyPairName = newName(p, world);
  const publicKeyBody = required(p, "PublicKeyBody").trim();
  const type = OPENSSH_KEY.exec(publicKeyBody)?.[1];
  if (!type) throw Errors.publicKeyMalformed();
  if (type !== "ssh-rsa") throw Errors.publicKeyNotRsa(); // "The key pair can be only in the ssh-rsa format."
  const kp = world.addKeyPair({ keyPairName, publicKeyBody }, now, fingerprintOf(publicKeyBody));
  return { KeyPairFingerPrint: kp.keyPairFingerPrint, KeyPairName: kp.keyPairName };
};

/** Allowed while attached: instances keep the now dangling KeyPairName (DeleteKeyPairs remarks). */
const DeleteKeyPairs: ActionDef = (p, { world }) => {
  world.deleteKeyPair(resolveKeyPair(p, world).kp);
  return {};
};

export const KEYPAIR_ACTIONS: Record<string, ActionDef> = { DescribeKeyPairs, CreateKeyPair, ImportKeyPair, DeleteKeyPairs };
