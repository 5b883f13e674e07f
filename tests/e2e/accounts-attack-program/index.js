// `attachments` lists {name, keyPairId, instanceIds, endpoint, accessKey, secretEnv, form}; form is how the program
// gives the account: "plain" (an object of plain strings), "output" (pulumi.output({...}), not secret) or
// "secretOutput" (pulumi.secret({...})). The secret always comes from an environment variable, as a plain string.
const pulumi = require("@pulumi/pulumi");
const { KeyPairAttachment } = require("pulumi-ens-keypair");

const config = new pulumi.Config();
for (const a of config.requireObject("attachments")) {
  const plain = { endpoint: a.endpoint, accessKey: a.accessKey, secretKey: process.env[a.secretEnv] };
  const account = a.form === "output" ? pulumi.output(plain) : a.form === "secretOutput" ? pulumi.secret(plain) : plain;
  new KeyPairAttachment(a.name, { keyPairId: a.keyPairId, instanceIds: a.instanceIds, account });
}
