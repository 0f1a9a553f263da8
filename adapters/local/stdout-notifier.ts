/** Notifier of the local mode without a webhook: prints the message's plain text. */
import type { NotificationResult, Notifier } from '../../core/ports.js';

export class StdoutNotifier implements Notifier {
  constructor(private readonly out: NodeJS.WritableStream) {}

  async send(_message: unknown, text: string): Promise<NotificationResult> {
    this.out.write(`\n--- notification (no Slack webhook configured; set SOAK_SLACK_WEBHOOK_URL or --webhook to post it) ---\n${text}\n`);
    return { delivered: true, channel: 'stdout', attempts: 1, detail: 'printed' };
  }
}
