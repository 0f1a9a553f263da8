import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { GetSecretValueCommand, SecretsManagerClient, SecretsManagerServiceException } from '@aws-sdk/client-secrets-manager';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { redact } from '../../../core/log.js';
import { SecretsError, SecretsManagerSecrets } from '../../../adapters/aws/secrets-manager-secrets.js';

function serviceError(name: string, status: number): SecretsManagerServiceException {
  return new SecretsManagerServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: name });
}

describe('SecretsManagerSecrets', () => {
  let secretsManager: AwsClientStub<SecretsManagerClient>;
  const secrets = () => new SecretsManagerSecrets(new SecretsManagerClient({ region: 'eu-west-1' }));

  before(() => {
    secretsManager = mockClient(SecretsManagerClient);
  });
  beforeEach(() => secretsManager.reset());
  after(() => secretsManager.restore());

  test('returns the secret string', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'token-value-1' });
    assert.equal(await secrets().get('soak/test/token'), 'token-value-1');
  });

  test('fetches once per instance', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'token-value-2' });
    const instance = secrets();
    await Promise.all([instance.get('soak/test/token'), instance.get('soak/test/token')]);
    await instance.get('soak/test/token');
    assert.equal(secretsManager.commandCalls(GetSecretValueCommand).length, 1);
  });

  test('returns undefined for a missing secret', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(serviceError('ResourceNotFoundException', 400));
    assert.equal(await secrets().get('soak/test/missing'), undefined);
  });

  test('registers the value for redaction', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'hooks-secret-value-3' });
    await secrets().get('soak/test/webhook');
    assert.equal(redact('url=hooks-secret-value-3'), 'url=[redacted]');
  });

  test('retries after a failed fetch', async () => {
    secretsManager.on(GetSecretValueCommand).rejectsOnce(serviceError('InternalServiceError', 500)).resolves({ SecretString: 'token-value-4' });
    const instance = secrets();
    await assert.rejects(instance.get('soak/test/token'), (error: unknown) => error instanceof SecretsError && error.retryable);
    assert.equal(await instance.get('soak/test/token'), 'token-value-4');
  });

  test('names the secret on access denied', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(serviceError('AccessDeniedException', 400));
    await assert.rejects(secrets().get('soak/test/token'), /secret "soak\/test\/token".*AccessDeniedException.*secretsmanager:GetSecretValue/);
  });
});
