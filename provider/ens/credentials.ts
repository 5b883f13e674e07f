import Credential, { Config as CredentialConfig } from "@alicloud/credentials";
import { CredentialSource, describeSource, isCredentialSource, providerFor } from "./credential-sources";
import { markCredentialFailure, registerSecret } from "./errors";

export { accessKeyFromEnv, credentialSettings, describeSource, isCredentialSource, ALICLOUD_KEYS_USED } from "./credential-sources";
export type { AssumeRoleSource, CredentialSource, ProfileSource } from "./credential-sources";

/** An access key pair, optionally with an STS token. Never logged, never stored in state. */
export interface StaticAccessKey {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

/**
 * What the client signs with: a static key, or a source that yields keys when a call needs them (a CLI profile, a
 * RAM role to assume; see credential-sources.ts). Without one the `@alicloud/credentials` default chain is used.
 */
export type AccessKey = StaticAccessKey | CredentialSource;

/**
 * Builds the credential object `@alicloud/openapi-client` signs with: the given key or source, else the default chain
 * of `@alicloud/credentials` (environment, OIDC, CLI profile, ~/.alibabacloud/credentials, ECS RAM role, URI).
 * Whatever secret and token it signs with (and, for a role, the base key that signs AssumeRole) are registered for
 * redaction, so no error can show them; a source that yields nothing fails with an error toEnsError reports as
 * CredentialsNotFound, naming the source.
 */
export function toCredential(key: AccessKey | undefined): Credential {
  if (!key) return guarded(new Credential());
  if (isCredentialSource(key)) return guarded(new Credential(null, providerFor(key)), describeSource(key));
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

function guarded(credential: Credential, source?: string): Credential {
  const get = credential.getCredential.bind(credential);
  credential.getCredential = async () => {
    let model: Awaited<ReturnType<typeof get>>;
    try {
      model = await get();
    } catch (e) {
      throw markCredentialFailure(e, source);
    }
    registerSecret(model.accessKeySecret, model.securityToken, model.bearerToken);
    return model;
  };
  return credential;
}
