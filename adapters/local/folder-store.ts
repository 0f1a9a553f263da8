/**
 * ResultStore on a local folder laid out like the bucket. Create-only writes are
 * atomic: the bytes go to a temporary file that is then hard-linked to the final
 * name, which fails with EEXIST when another writer got there first, so a reader
 * never sees a half-written object and two finalizers cannot both win.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { StoreError, type ResultStore } from '../../core/ports.js';

export class FolderResultStore implements ResultStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  get location(): string {
    return this.root;
  }

  #path(key: string): string {
    if (key.length === 0 || key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '.')) {
      throw new StoreError(`Invalid store key "${key}": keys are relative paths without "." or ".." parts.`, key, false);
    }
    return join(this.root, ...key.split('/'));
  }

  async putIfAbsent(key: string, body: Uint8Array | string, _contentType?: string): Promise<boolean> {
    const path = this.#path(key);
    const temporary = await this.#writeTemporary(path, body, key);
    try {
      await link(temporary, path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw this.#storeError('create', key, error);
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
  }

  async put(key: string, body: Uint8Array | string, _contentType?: string): Promise<void> {
    const path = this.#path(key);
    const temporary = await this.#writeTemporary(path, body, key);
    try {
      await rename(temporary, path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw this.#storeError('write', key, error);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.#path(key));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw this.#storeError('read', key, error);
    }
  }

  async list(prefix: string, startAfter?: string): Promise<string[]> {
    const slash = prefix.lastIndexOf('/');
    const folder = slash >= 0 ? prefix.slice(0, slash) : '';
    const start = folder.length > 0 ? this.#path(folder) : this.root;
    const found: string[] = [];
    await this.#walk(start, found);
    return found
      .map((path) => relative(this.root, path).split(sep).join('/'))
      .filter((key) => key.startsWith(prefix) && (startAfter === undefined || key > startAfter) && !key.split('/').some((part) => part.startsWith('.tmp-')))
      .sort();
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  async #walk(folder: string, found: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await this.#walk(path, found);
      else if (entry.isFile()) found.push(path);
    }
  }

  async #writeTemporary(path: string, body: Uint8Array | string, key: string): Promise<string> {
    const temporary = join(dirname(path), `.tmp-${randomUUID()}`);
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(temporary, body);
      return temporary;
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw this.#storeError('write', key, error);
    }
  }

  #storeError(action: string, key: string, error: unknown): StoreError {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    // A full disk or too many open files can clear up; a permission error will not.
    const retryable = code === 'ENOSPC' || code === 'EMFILE' || code === 'EAGAIN' || code === 'EBUSY';
    return new StoreError(
      `Could not ${action} ${key} in ${this.root} (${code}). Check that the folder is writable and the disk has room.`,
      key,
      retryable,
      { cause: error },
    );
  }
}
