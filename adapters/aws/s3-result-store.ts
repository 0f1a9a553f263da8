/**
 * ResultStore on an S3 bucket, laid out as `keys` in core/ports.ts describes.
 * Create-only writes use S3 conditional writes (`If-None-Match: *`). S3 returns 412
 * when the key exists, and 409 when a concurrent write to the same key is in flight,
 * which AWS documents as a case to retry.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { silentLog } from '../../core/log.js';
import { StoreError, type Log, type ResultStore } from '../../core/ports.js';
import { sleep as defaultSleep } from '../../core/retry.js';
import { describeAwsError, errorNameOf, httpStatusOf, isRetryableAwsError } from './aws-errors.js';
import { RETENTION_TAG_KEY, retentionClassOf } from './retention.js';

/**
 * Attempts per S3 call, the first one included. The SDK's standard retry mode backs
 * off exponentially with jitter on 500, 503 SlowDown, throttling and lost connections.
 */
export const S3_MAX_ATTEMPTS = 6;

/** Creates an S3 client with the retry settings this store expects. */
export function createS3Client(config: S3ClientConfig = {}): S3Client {
  return new S3Client({ maxAttempts: S3_MAX_ATTEMPTS, retryMode: 'standard', ...config });
}

export interface S3StoreLocation {
  bucket: string;
  /** Empty, or a key prefix that ends with `/`. */
  prefix: string;
}

/** Parses the `s3://bucket` or `s3://bucket/prefix` form of SOAK_STORE. */
export function parseS3StoreUrl(url: string): S3StoreLocation {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!match?.[1]) {
    throw new Error(`Invalid S3 store location "${url}": use s3://BUCKET or s3://BUCKET/PREFIX with a valid bucket name.`);
  }
  return { bucket: match[1], prefix: normalizePrefix(match[2] ?? '') };
}

function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed.length === 0 ? '' : `${trimmed}/`;
}

const CONTENT_TYPES: [suffix: string, type: string][] = [
  ['.json', 'application/json'],
  ['.ndjson.gz', 'application/gzip'],
  ['.gz', 'application/gzip'],
  ['.html', 'text/html; charset=utf-8'],
  ['.ndjson', 'application/x-ndjson'],
];

function contentTypeFor(key: string): string {
  return CONTENT_TYPES.find(([suffix]) => key.endsWith(suffix))?.[1] ?? 'application/octet-stream';
}

export interface S3ResultStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket. @default '' */
  prefix?: string;
  /** Retries of a create-only write after S3 returned 409 ConditionalRequestConflict. @default 5 */
  conflictRetries?: number;
  /** First backoff delay of those retries, doubled each time, with full jitter. @default 200 */
  conflictBaseDelayMs?: number;
  log?: Log;
  sleep?: (ms: number) => Promise<void>;
}

export class S3ResultStore implements ResultStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly #client: S3Client;
  readonly #conflictRetries: number;
  readonly #conflictBaseDelayMs: number;
  readonly #log: Log;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(client: S3Client, options: S3ResultStoreOptions) {
    this.#client = client;
    this.bucket = options.bucket;
    this.prefix = normalizePrefix(options.prefix ?? '');
    this.#conflictRetries = options.conflictRetries ?? 5;
    this.#conflictBaseDelayMs = options.conflictBaseDelayMs ?? 200;
    this.#log = options.log ?? silentLog;
    this.#sleep = options.sleep ?? defaultSleep;
  }

  /** Creates a store from SOAK_STORE's `s3://bucket[/prefix]` form. */
  static fromUrl(url: string, client: S3Client, options: Omit<S3ResultStoreOptions, 'bucket' | 'prefix'> = {}): S3ResultStore {
    return new S3ResultStore(client, { ...options, ...parseS3StoreUrl(url) });
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  async putIfAbsent(key: string, body: Uint8Array | string, contentType?: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#client.send(this.#putCommand(key, body, contentType, true));
        return true;
      } catch (error) {
        if (httpStatusOf(error) === 412 || errorNameOf(error) === 'PreconditionFailed') return false;

        const conflict = httpStatusOf(error) === 409 || errorNameOf(error) === 'ConditionalRequestConflict';
        if (!conflict) throw this.#storeError('create', key, error);
        if (attempt > this.#conflictRetries) {
          throw new StoreError(
            `Could not create ${key} in ${this.location}: S3 reported a concurrent write to the same key (409 ConditionalRequestConflict) ${attempt} times. Retry later.`,
            key,
            true,
            { cause: error },
          );
        }

        const delayMs = Math.round(Math.random() * this.#conflictBaseDelayMs * 2 ** (attempt - 1));
        this.#log.warn('create-only write conflicted, retrying', { key, attempt, delayMs });
        await this.#sleep(delayMs);
      }
    }
  }

  async put(key: string, body: Uint8Array | string, contentType?: string): Promise<void> {
    try {
      await this.#client.send(this.#putCommand(key, body, contentType, false));
    } catch (error) {
      throw this.#storeError('write', key, error);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const output = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.#objectKey(key) }));
      if (output.Body === undefined) return new Uint8Array();
      return await output.Body.transformToByteArray();
    } catch (error) {
      // S3 returns 404 NoSuchKey only to a caller with s3:ListBucket. Without it a missing
      // key comes back as 403 AccessDenied, which stays an error here.
      if (errorNameOf(error) === 'NoSuchKey' || httpStatusOf(error) === 404) return undefined;
      throw this.#storeError('read', key, error);
    }
  }

  async list(prefix: string, startAfter?: string): Promise<string[]> {
    const keys: string[] = [];
    let continuationToken: string | undefined;
    do {
      let output;
      try {
        output = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            // S3 ignores StartAfter once a continuation token is given.
            StartAfter: startAfter === undefined ? undefined : this.prefix + startAfter,
            ContinuationToken: continuationToken,
          }),
        );
      } catch (error) {
        throw this.#storeError('list', prefix, error);
      }
      for (const object of output.Contents ?? []) {
        if (object.Key !== undefined) keys.push(object.Key.slice(this.prefix.length));
      }
      continuationToken = output.IsTruncated ? output.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#objectKey(key) }));
    } catch (error) {
      throw this.#storeError('delete', key, error);
    }
  }

  #objectKey(key: string): string {
    if (key.length === 0 || key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '.')) {
      throw new StoreError(`Invalid store key "${key}": keys are relative paths without "." or ".." parts.`, key, false);
    }
    return this.prefix + key;
  }

  #putCommand(key: string, body: Uint8Array | string, contentType: string | undefined, createOnly: boolean): PutObjectCommand {
    const retention = retentionClassOf(key);
    return new PutObjectCommand({
      Bucket: this.bucket,
      Key: this.#objectKey(key),
      Body: body,
      ContentType: contentType ?? contentTypeFor(key),
      IfNoneMatch: createOnly ? '*' : undefined,
      Tagging: retention === undefined ? undefined : `${RETENTION_TAG_KEY}=${retention}`,
    });
  }

  #storeError(action: string, key: string, error: unknown): StoreError {
    const retryable = isRetryableAwsError(error);
    const status = httpStatusOf(error);
    let fix: string;
    if (retryable) fix = 'S3 kept failing after the SDK retries; retry later.';
    else if (status === 403) fix = 'Check that the role has the S3 permission for this action on the bucket and key.';
    else if (errorNameOf(error) === 'NoSuchBucket') fix = 'Check the bucket name in SOAK_STORE.';
    else fix = 'Check the request and the bucket configuration.';

    return new StoreError(`Could not ${action} ${key} in ${this.location}: ${describeAwsError(error)}. ${fix}`, key, retryable, {
      cause: error,
    });
  }
}
