// Reliability tests: the inputs come verbatim from config "args" (a JSON object), so that any type reaches the provider.
// Config "generateInstanceIds" (a count) makes the instance list here instead: a config value of 10,000 IDs is larger
// than the engine can hand to a program.
const pulumi = require("@pulumi/pulumi");
const { KeyPairAttachment } = require("pulumi-ens-keypair");

const config = new pulumi.Config();
const args = config.requireObject("args");
const generate = config.getNumber("generateInstanceIds");
if (generate) args.instanceIds = Array.from({ length: generate }, (_, i) => `i-gen${i}`);
const attachment = new KeyPairAttachment("fleet", args);
exports.attachedInstanceIds = attachment.attachedInstanceIds;
