// Quickstart: bind one ENS key pair to a handful of instances.
import * as pulumi from "@pulumi/pulumi";
import { KeyPairAttachment } from "pulumi-ens-keypair";

const config = new pulumi.Config();
const keyPairId = config.get("keyPairId") ?? "ssh-demo0000000001";
const instanceIds = config.getObject<string[]>("instanceIds") ?? ["i-emu00000001", "i-emu00000002", "i-emu00000003", "i-emu00000004", "i-emu00000005"];

const attachment = new KeyPairAttachment("quickstart", { keyPairId, instanceIds });

export const keyPairName = attachment.keyPairName;
export const attachedInstanceIds = attachment.attachedInstanceIds;
