/**
 * Secrets from AWS Secrets Manager, fetched once per instance. Create one instance at
 * module scope in a Lambda and it caches for the life of the execution environment,
 * so a rotated secret is picked up by the next cold start.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { registerSecret } from '../../core/log.js';
import type { Secrets } from '../../core/ports.js';
import { describeAwsError, errorNameOf, isRetryableAwsError } from './aws-errors.js';

export class SecretsError extends Error {
  constructor(
    message: string,
    readonly secretName: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SecretsError';
  }
}

export class SecretsManagerSecrets implements Secrets {
  readonly #client: SecretsManagerClient;
  readonly #cache = new Map<string, Promise<string | undefined>>();

  constructor(client: SecretsManagerClient) {
    this.#client = client;
  }

  /** Returns the secret string, or undefined when no secret exists under `name`. */
  get(name: string): Promise<string | undefined> {
    const cached = this.#cache.get(name);
    if (cached !== undefined) return cached;

    const pending = this.#fetch(name);
    this.#cache.set(name, pending);
    // A failed fetch is not cached, so the next call tries again.
    pending.catch(() => this.#cache.delete(name));
    return pending;
  }

  async #fetch(name: string): Promise<string | undefined> {
    try {
      const output = await this.#client.send(new GetSecretValueCommand({ SecretId: name }));
      const value = output.SecretString ?? (output.SecretBinary ? Buffer.from(output.SecretBinary).toString('utf8') : undefined);
      registerSecret(value);
      return value;
    } catch (error) {
      if (errorNameOf(error) === 'ResourceNotFoundException') return undefined;
      throw new SecretsError(
        `Could not read secret "${name}" from Secrets Manager: ${describeAwsError(error)}. Check that the secret exists in this region and that the role has secretsmanager:GetSecretValue on it.`,
        name,
        isRetryableAwsError(error),
        { cause: error },
      );
    }
  }
}
