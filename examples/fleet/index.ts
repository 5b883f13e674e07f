// Fleet: one key pair on hundreds of instances. AttachKeyPair takes at most 30 instances a call, so 300 instances
// cost exactly 10 calls (run concurrently under the provider's call budget); changing the set detaches and attaches
// only the difference.
import * as pulumi from "@pulumi/pulumi";
import { KeyPairAttachment } from "pulumi-ens-keypair";

const config = new pulumi.Config();
const count = config.getNumber("count") ?? 300;
const instanceIds = Array.from({ length: count }, (_, i) => `i-emu${String(i + 1).padStart(8, "0")}`);

const fleet = new KeyPairAttachment("fleet", { keyPairId: config.get("keyPairId") ?? "ssh-demo0000000001", instanceIds });

export const attachedCount = fleet.attachedInstanceIds.apply((ids) => ids.length);
