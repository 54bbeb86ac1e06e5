/**
 * Reading kubeconfig files and replacing them atomically: a temp file in the same
 * directory, fsync, the original's mode (and owner, under sudo), rename over the original.
 * A symlinked kubeconfig is written through to its target, so the link survives.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readFile, readlink, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AnkraError, Exit } from '../errors';
import { invalidKubeconfig, parseKubeconfig } from './parse';
import type { ParsedKubeconfig } from './parse';

export interface LoadedFile {
  path: string;
  exists: boolean;
  parsed: ParsedKubeconfig;
  /** Mode and owner of an existing file, kept when it is replaced. */
  meta?: { mode: number; uid: number; gid: number };
}

/** Reads and validates one file; a missing file reads as empty. */
export async function loadFile(path: string): Promise<LoadedFile> {
  let text: string;
  let info;
  try {
    [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { path, exists: false, parsed: parseKubeconfig(path, '') };
    if (code === 'EISDIR') throw invalidKubeconfig(path, 'it is a directory');
    throw new AnkraError(`cannot read kubeconfig ${path}: ${fsReason(err)}`, Exit.FAILURE, {
      hint: 'check its permissions, or pass --kubeconfig with a file you can read',
      cause: err,
    });
  }
  return { path, exists: true, parsed: parseKubeconfig(path, text), meta: { mode: info.mode & 0o7777, uid: info.uid, gid: info.gid } };
}

/** Replaces (or creates, 0600 in a 0700 directory) the file; on failure the original is untouched and no temp file remains. */
export async function writeFileAtomic(file: LoadedFile, text: string): Promise<void> {
  let tmp: string | undefined;
  try {
    const target = await writeTarget(file.path);
    if (!file.meta) await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    tmp = join(dirname(target), `.${basename(target)}.ankra-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
      await handle.chmod(file.meta?.mode ?? 0o600);
      await keepOwner(handle, file.meta);
    } finally {
      await handle.close();
    }
    await rename(tmp, target);
  } catch (err) {
    if (tmp) await unlink(tmp).catch(() => undefined);
    throw new AnkraError(`cannot write kubeconfig ${file.path}: ${fsReason(err)}`, Exit.FAILURE, {
      hint: 'it is unchanged; check that you may write to its directory, or pass --kubeconfig with another file',
      cause: err,
    });
  }
}

/** The file a path finally names, following symlinks (also one whose target does not exist yet). */
async function writeTarget(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const link = await lstat(path).catch(() => undefined);
    return link?.isSymbolicLink() ? resolve(dirname(path), await readlink(path)) : path;
  }
}

/**
 * rename() gives the file the writer's owner: under sudo, root's. Hand it back to the
 * original owner so the user can still read their kubeconfig; only root may, so others skip it.
 */
async function keepOwner(handle: { chown(uid: number, gid: number): Promise<void> }, meta: LoadedFile['meta']): Promise<void> {
  if (meta && process.getuid?.() === 0 && (meta.uid !== 0 || meta.gid !== 0)) await handle.chown(meta.uid, meta.gid);
}

/** "permission denied (EACCES)" from Node's "EACCES: permission denied, open '/…/.config.ankra-1-ab.tmp'": our temp paths mean nothing to the user. */
export function fsReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const m = /^([A-Z]+): ([^,]+)/.exec(message);
  return m ? `${m[2]} (${m[1]})` : message;
}
