// Reliability tests: one KeyPairAttachment per entry of config "resources" ([{keyPairId, instanceIds, stopInstances?}]).
const pulumi = require("@pulumi/pulumi");
const { KeyPairAttachment } = require("pulumi-ens-keypair");

const resources = new pulumi.Config().requireObject("resources");
exports.attached = resources.map((r, i) => new KeyPairAttachment(`fleet-${i}`, r).attachedInstanceIds.apply((ids) => ids.length));
