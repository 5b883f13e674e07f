// Two ENS accounts in one program (the README's "Two accounts in one program"), driven by stack config:
// `attachments` lists {name, keyPairId, instanceIds, endpoint, accessKey, secretConfig?, secretEnv?}. A secret comes
// from secret stack config (config.requireSecret: already a Pulumi secret) or, to show that the SDK makes a plain
// string secret itself, from an environment variable of the program.
const pulumi = require("@pulumi/pulumi");
const { KeyPairAttachment } = require("pulumi-ens-keypair");

const config = new pulumi.Config();
for (const a of config.requireObject("attachments")) {
  new KeyPairAttachment(a.name, {
    keyPairId: a.keyPairId,
    instanceIds: a.instanceIds,
    account: {
      endpoint: a.endpoint,
      accessKey: a.accessKey,
      secretKey: a.secretConfig ? config.requireSecret(a.secretConfig) : process.env[a.secretEnv],
    },
  });
}
