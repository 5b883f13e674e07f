// Stop first: ENS binds key pairs only to stopped instances. With stopInstances the provider stops running ones
// (never more than maxStoppedInstances at once), binds the key, and starts exactly those it stopped again, also when
// something fails. Instances are tagged before they are stopped, so even a killed run is finished by the next one.
import * as pulumi from "@pulumi/pulumi";
import { KeyPairAttachment } from "pulumi-ens-keypair";

const config = new pulumi.Config();
const instanceIds = Array.from({ length: config.getNumber("count") ?? 60 }, (_, i) => `i-emu${String(i + 1).padStart(8, "0")}`);

const web = new KeyPairAttachment("web", {
  keyPairId: config.get("keyPairId") ?? "ssh-demo0000000001",
  instanceIds,
  stopInstances: true,
  maxStoppedInstances: config.getNumber("maxStoppedInstances") ?? 20,
  stopTimeoutSeconds: 600,
});

export const attachedCount = web.attachedInstanceIds.apply((ids) => ids.length);
