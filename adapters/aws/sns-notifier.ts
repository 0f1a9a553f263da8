/**
 * Notifier on an SNS topic, for the e-mail subscribers of the alarm topic. E-mail
 * shows only the plain text, so the Block Kit message is not sent.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { silentLog } from '../../core/log.js';
import type { Log, NotificationResult, Notifier } from '../../core/ports.js';
import { attemptsOf, describeAwsError } from './aws-errors.js';

/** SNS takes at most 256 KiB per message; the rest is cut with a note. */
const MAX_MESSAGE_BYTES = 256 * 1024 - 1024;

/**
 * Builds an SNS subject from the first line of the text: SNS accepts printable ASCII
 * without line breaks, shorter than 100 characters.
 */
export function snsSubject(text: string, prefix = ''): string {
  const firstLine = text.split('\n', 1)[0] ?? '';
  const ascii = `${prefix}${firstLine}`.replace(/[^\x20-\x7e]/g, '').replace(/\s+/g, ' ').trim();
  const subject = ascii.length > 99 ? `${ascii.slice(0, 98)}~` : ascii;
  return subject.length > 0 ? subject : 'soak-runner notification';
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const note = '\n[message cut to fit the SNS size limit]';
  // Decoding a cut buffer may end in half a character, which becomes U+FFFD; drop it.
  return bytes.subarray(0, maxBytes - note.length).toString('utf8').replace(/\uFFFD$/, '') + note;
}

export interface SnsNotifierOptions {
  topicArn: string;
  /** Put before the first line in the subject, such as `[staging] `. @default '' */
  subjectPrefix?: string;
  log?: Log;
}

export class SnsNotifier implements Notifier {
  readonly #client: SNSClient;
  readonly #topicArn: string;
  readonly #subjectPrefix: string;
  readonly #log: Log;

  constructor(client: SNSClient, options: SnsNotifierOptions) {
    this.#client = client;
    this.#topicArn = options.topicArn;
    this.#subjectPrefix = options.subjectPrefix ?? '';
    this.#log = options.log ?? silentLog;
  }

  async send(_message: unknown, text: string): Promise<NotificationResult> {
    try {
      const output = await this.#client.send(
        new PublishCommand({
          TopicArn: this.#topicArn,
          Subject: snsSubject(text, this.#subjectPrefix),
          Message: truncateUtf8(text, MAX_MESSAGE_BYTES),
        }),
      );
      return {
        delivered: true,
        channel: 'sns',
        attempts: output.$metadata?.attempts ?? 1,
        detail: `published to ${this.#topicArn} as message ${output.MessageId ?? 'without id'}`,
      };
    } catch (error) {
      this.#log.error('SNS publish failed', { topicArn: this.#topicArn, error });
      return {
        delivered: false,
        channel: 'sns',
        attempts: attemptsOf(error) ?? 1,
        detail: `SNS Publish to ${this.#topicArn} failed: ${describeAwsError(error)}. Check sns:Publish permission and the topic's KMS key policy.`,
      };
    }
  }
}
