import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { PublishCommand, SNSClient, SNSServiceException } from '@aws-sdk/client-sns';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { SnsNotifier, snsSubject } from '../../../adapters/aws/sns-notifier.js';

const TOPIC = 'arn:aws:sns:eu-west-1:111111111111:soak-alerts';

describe('SnsNotifier', () => {
  let sns: AwsClientStub<SNSClient>;
  const notifier = () => new SnsNotifier(new SNSClient({ region: 'eu-west-1' }), { topicArn: TOPIC, subjectPrefix: '[test] ' });

  before(() => {
    sns = mockClient(SNSClient);
  });
  beforeEach(() => sns.reset());
  after(() => sns.restore());

  test('publishes the text', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const result = await notifier().send({ blocks: [] }, 'PASS run-1\nall thresholds met');
    assert.equal(result.delivered, true);
    assert.equal(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message, 'PASS run-1\nall thresholds met');
  });

  test('builds the subject from the first line', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-2' });
    await notifier().send({ blocks: [] }, 'PASS run-1\nall thresholds met');
    assert.equal(sns.commandCalls(PublishCommand)[0]?.args[0].input.Subject, '[test] PASS run-1');
  });

  test('reports a failed publish instead of throwing', async () => {
    sns.on(PublishCommand).rejects(new SNSServiceException({ name: 'AuthorizationErrorException', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'no' }));
    const result = await notifier().send({}, 'FAIL run-2');
    assert.equal(result.delivered, false);
    assert.match(result.detail, /AuthorizationErrorException \(HTTP 403\)/);
  });
});

describe('snsSubject', () => {
  test('drops non-ASCII characters', () => {
    assert.equal(snsSubject('✅ PASS nightly'), 'PASS nightly');
  });

  test('stays under 100 characters', () => {
    assert.equal(snsSubject('x'.repeat(300)).length, 99);
  });

  test('falls back for an empty first line', () => {
    assert.equal(snsSubject('\nbody'), 'soak-runner notification');
  });
});
