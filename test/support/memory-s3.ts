/**
 * An S3 bucket in memory behind a mocked S3Client (aws-sdk-client-mock), for tests that
 * run code building its own S3 clients, such as the Lambda handlers. It handles
 * PutObject, GetObject, ListObjectsV2 and DeleteObject the way S3ResultStore expects:
 * a create-only write (`IfNoneMatch: '*'`) of an existing key fails with 412
 * PreconditionFailed, a missing key with 404 NoSuchKey, and listings come in pages.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3ServiceException,
  type GetObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { AwsClientStub } from 'aws-sdk-client-mock';

export interface StoredObject {
  body: Uint8Array;
  contentType: string | undefined;
  tagging: string | undefined;
}

function preconditionFailed(): S3ServiceException {
  return new S3ServiceException({
    name: 'PreconditionFailed',
    $fault: 'client',
    $metadata: { httpStatusCode: 412 },
    message: 'At least one of the pre-conditions you specified did not hold',
  });
}

function noSuchBucket(bucket: string | undefined): S3ServiceException {
  return new S3ServiceException({ name: 'NoSuchBucket', $fault: 'client', $metadata: { httpStatusCode: 404 }, message: `The specified bucket does not exist: ${bucket}` });
}

function bytesOf(body: unknown): Uint8Array {
  if (typeof body === 'string') return new Uint8Array(Buffer.from(body, 'utf8'));
  if (body instanceof Uint8Array) return new Uint8Array(body);
  throw new Error(`MemoryBucket accepts string and Uint8Array bodies, got ${typeof body}`);
}

/** Wraps bytes already in memory as a GetObject body with the SDK's `transformTo…` methods. */
function bodyOf(bytes: Uint8Array): GetObjectCommandOutput['Body'] {
  const copy = new Uint8Array(bytes);
  const body = {
    transformToByteArray: async () => copy,
    transformToString: async (encoding: BufferEncoding = 'utf8') => Buffer.from(copy).toString(encoding),
    transformToWebStream: () => new Blob([copy]).stream(),
  };
  return body as unknown as GetObjectCommandOutput['Body'];
}

export class MemoryBucket {
  readonly objects = new Map<string, StoredObject>();

  /**
   * @param bucket the only bucket name that calls may use; others get 404 NoSuchBucket.
   * @param pageSize keys per ListObjectsV2 page, small in tests to exercise pagination.
   */
  constructor(
    readonly bucket: string,
    readonly pageSize = 1000,
  ) {}

  /** Routes the object calls of every mocked S3Client instance to this bucket. */
  install(s3: AwsClientStub<S3Client>): void {
    s3.on(PutObjectCommand).callsFake(async (input) => {
      this.#checkBucket(input.Bucket);
      const key = String(input.Key);
      if (input.IfNoneMatch === '*' && this.objects.has(key)) throw preconditionFailed();
      this.objects.set(key, { body: bytesOf(input.Body), contentType: input.ContentType, tagging: input.Tagging });
      return { ETag: `"${this.objects.size}"` };
    });
    s3.on(GetObjectCommand).callsFake(async (input) => {
      this.#checkBucket(input.Bucket);
      const stored = this.objects.get(String(input.Key));
      if (stored === undefined) throw new NoSuchKey({ $metadata: { httpStatusCode: 404 }, message: 'The specified key does not exist.' });
      return { Body: bodyOf(stored.body), ContentType: stored.contentType, ContentLength: stored.body.byteLength };
    });
    s3.on(ListObjectsV2Command).callsFake(async (input) => {
      this.#checkBucket(input.Bucket);
      const prefix = input.Prefix ?? '';
      // The continuation token is the last key of the previous page, so it stays valid while keys change.
      const after = input.ContinuationToken ?? '';
      const matching = [...this.objects.keys()].filter((key) => key.startsWith(prefix) && key > after).sort();
      const page = matching.slice(0, Math.min(this.pageSize, input.MaxKeys ?? 1000));
      const truncated = matching.length > page.length;
      return {
        Contents: page.map((key) => ({ Key: key, Size: this.objects.get(key)?.body.byteLength ?? 0 })),
        KeyCount: page.length,
        IsTruncated: truncated,
        NextContinuationToken: truncated ? page[page.length - 1] : undefined,
      };
    });
    s3.on(DeleteObjectCommand).callsFake(async (input) => {
      this.#checkBucket(input.Bucket);
      this.objects.delete(String(input.Key));
      return {};
    });
  }

  /** Returns the object's body as text, or undefined when the key does not exist. */
  text(key: string): string | undefined {
    const stored = this.objects.get(key);
    return stored === undefined ? undefined : Buffer.from(stored.body).toString('utf8');
  }

  json(key: string): any {
    const text = this.text(key);
    return text === undefined ? undefined : JSON.parse(text);
  }

  keys(prefix = ''): string[] {
    return [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  #checkBucket(bucket: string | undefined): void {
    if (bucket !== this.bucket) throw noSuchBucket(bucket);
  }
}
