// Reads an existing attachment with KeyPairAttachment.get(name, id): the ID comes from stack config.
const pulumi = require("@pulumi/pulumi");
const { KeyPairAttachment } = require("pulumi-ens-keypair");

const got = KeyPairAttachment.get("looked-up", new pulumi.Config().require("getId"));

exports.id = got.id;
exports.keyPairId = got.keyPairId;
exports.keyPairName = got.keyPairName;
exports.attachedInstanceIds = got.attachedInstanceIds;
