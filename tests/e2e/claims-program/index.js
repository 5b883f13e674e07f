// Several KeyPairAttachments from stack config (`attachments`: name -> instance IDs), for the one-owner rule.
const pulumi = require("@pulumi/pulumi");
const { KeyPairAttachment } = require("pulumi-ens-keypair");

const config = new pulumi.Config();
const keyPairId = config.require("keyPairId");
for (const [name, instanceIds] of Object.entries(config.requireObject("attachments"))) {
  new KeyPairAttachment(name, { keyPairId, instanceIds });
}
