import Credential, { Config as CredentialConfig } from "@alicloud/credentials";
import { markCredentialFailure, registerSecret } from "./errors";

/** An access key pair, optionally with an STS token. Never logged, never stored in state. */
export interface AccessKey {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

/**
 * Access keys from the environment: Alibaba's own variables first, then the ALICLOUD_* names that
 * Terraform and pulumi-alicloud read.
 */
export function accessKeyFromEnv(env: NodeJS.ProcessEnv = process.env): AccessKey | undefined {
  const id = env.ALIBABA_CLOUD_ACCESS_KEY_ID || env.ALICLOUD_ACCESS_KEY;
  const secret = env.ALIBABA_CLOUD_ACCESS_KEY_SECRET || env.ALICLOUD_SECRET_KEY;
  if (!id || !secret) return undefined;
  const token = env.ALIBABA_CLOUD_SECURITY_TOKEN || env.ALICLOUD_SECURITY_TOKEN;
  return { accessKeyId: id, accessKeySecret: secret, ...(token ? { securityToken: token } : {}) };
}

/**
 * Builds the credential object `@alicloud/openapi-client` signs with: the given key, else the default chain of
 * `@alicloud/credentials` (environment, OIDC, CLI profile, ~/.alibabacloud/credentials, ECS RAM role, URI).
 * Whatever secret and token it signs with are registered for redaction, so no error can show them; a chain that finds
 * nothing fails with an error toEnsError reports as CredentialsNotFound.
 */
export function toCredential(key: AccessKey | undefined): Credential {
  if (!key) return guarded(new Credential());
  registerSecret(key.accessKeySecret, key.securityToken);
  return guarded(
    new Credential(
      new CredentialConfig({
        type: key.securityToken ? "sts" : "access_key",
        accessKeyId: key.accessKeyId,
        accessKeySecret: key.accessKeySecret,
        securityToken: key.securityToken,
      }),
    ),
  );
}

function guarded(credential: Credential): Credential {
  const get = credential.getCredential.bind(credential);
  credential.getCredential = async () => {
    let model: Awaited<ReturnType<typeof get>>;
    try {
      model = await get();
    } catch (e) {
      throw markCredentialFailure(e);
    }
    registerSecret(model.accessKeySecret, model.securityToken, model.bearerToken);
    return model;
  };
  return credential;
}
