/** Opens the S3 result store behind an `s3://bucket[/prefix]` location, for adapters/store.ts. */
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client, S3ResultStore } from './s3-result-store.js';

export function openS3Store(location: string, client: S3Client = createS3Client()): S3ResultStore {
  return S3ResultStore.fromUrl(location, client);
}
