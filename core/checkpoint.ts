/**
 * Encoding of window checkpoints: gzipped NDJSON, one WindowRecord per line,
 * validated again when read back.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { WindowRecordSchema, type WindowRecord } from './schemas.js';

export class CheckpointFormatError extends Error {
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message);
    this.name = 'CheckpointFormatError';
  }
}

export function encodeWindows(records: readonly WindowRecord[]): Uint8Array {
  return gzipSync(records.map((record) => JSON.stringify(record)).join('\n') + '\n', { level: 6 });
}

export function decodeWindows(bytes: Uint8Array, key: string): WindowRecord[] {
  let text: string;
  try {
    text = gunzipSync(bytes).toString('utf8');
  } catch (error) {
    throw new CheckpointFormatError(`Checkpoint ${key} is not valid gzip: ${String(error)}. The file is damaged; delete it to finalize without it.`, key);
  }
  const records: WindowRecord[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.length === 0) return;
    const parsed = WindowRecordSchema.safeParse(safeJson(line));
    if (!parsed.success) {
      throw new CheckpointFormatError(
        `Checkpoint ${key} line ${index + 1} is not a window record (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}). The file is damaged or from another tool.`,
        key,
      );
    }
    records.push(parsed.data);
  });
  return records;
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}
