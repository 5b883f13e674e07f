// The Pulumi program the end-to-end tests deploy, everything driven by stack config.
const pulumi = require("@pulumi/pulumi");
const { KeyPairAttachment } = require("pulumi-ens-keypair");

const config = new pulumi.Config();
const importId = config.get("importId");
const attachment = new KeyPairAttachment(
  "fleet",
  {
    keyPairId: config.require("keyPairId"),
    instanceIds: config.requireObject("instanceIds"),
    stopInstances: config.getBoolean("stopInstances"),
    maxStoppedInstances: config.getNumber("maxStoppedInstances"),
    takeOwnership: config.getBoolean("takeOwnership"),
  },
  importId ? { import: importId } : {},
);

// A second attachment, for the one-owner-per-instance rule within a program.
const second = config.getObject("secondInstanceIds");
if (second) new KeyPairAttachment("second", { keyPairId: config.require("keyPairId"), instanceIds: second });

exports.keyPairName = attachment.keyPairName;
exports.attachedInstanceIds = attachment.attachedInstanceIds;
exports.attachedCount = attachment.attachedInstanceIds.apply((ids) => ids.length);
