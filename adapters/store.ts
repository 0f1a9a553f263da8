/** Opens a result store from its location: `file:///folder`, a plain path, or `s3://bucket[/prefix]`. */
import { fileURLToPath } from 'node:url';
import type { ResultStore } from '../core/ports.js';
import { FolderResultStore } from './local/folder-store.js';

export async function openStore(location: string): Promise<ResultStore> {
  if (location.startsWith('s3://')) {
    const { openS3Store } = await import('./aws/open-s3-store.js');
    return openS3Store(location);
  }
  if (location.startsWith('file://')) return new FolderResultStore(fileURLToPath(location));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new Error(`Unsupported result store "${location}": use file:///absolute/folder, a folder path, or s3://bucket/prefix.`);
  }
  return new FolderResultStore(location);
}
