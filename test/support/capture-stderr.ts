/**
 * Captures what this process writes to stderr, including the log lines of core/log.ts.
 * That logger writes through pino's sonic-boom with `fs.writeSync(2, …)`, which bypasses
 * `process.stderr.write`, so both are intercepted.
 */
import fs from 'node:fs';

export class StderrCapture {
  #chunks: string[] = [];
  #restore: Array<() => void> = [];

  /** Starts capturing; with `passThrough`, the text still reaches the real stderr. */
  start(passThrough = false): this {
    const originalWriteSync = fs.writeSync;
    const writeSync = (fd: number, data: string | NodeJS.ArrayBufferView, ...rest: unknown[]): number => {
      if (fd !== 2) return (originalWriteSync as (...args: unknown[]) => number).call(fs, fd, data, ...rest);
      const text = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
      this.#chunks.push(text);
      if (passThrough) return (originalWriteSync as (...args: unknown[]) => number).call(fs, fd, data, ...rest);
      return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    };
    fs.writeSync = writeSync as typeof fs.writeSync;
    this.#restore.push(() => {
      fs.writeSync = originalWriteSync;
    });

    const originalWrite = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      this.#chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      if (passThrough) return (originalWrite as (...args: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
      return true;
    }) as typeof process.stderr.write;
    this.#restore.push(() => {
      process.stderr.write = originalWrite;
    });
    return this;
  }

  stop(): void {
    for (const restore of this.#restore.splice(0).reverse()) restore();
  }

  get text(): string {
    return this.#chunks.join('');
  }

  /** Non-empty lines written so far. */
  get lines(): string[] {
    return this.text.split('\n').filter((line) => line.length > 0);
  }

  /** Parsed JSON log lines; other lines are left out. */
  get records(): Array<Record<string, unknown>> {
    const records: Array<Record<string, unknown>> = [];
    for (const line of this.lines) {
      try {
        records.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not a log line, such as a warning Node.js printed.
      }
    }
    return records;
  }
}
