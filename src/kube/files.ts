/**
 * The file system edge of the kubeconfig module: reading a kubeconfig (regular files only,
 * UTF-8 only, never blocking on a FIFO or device) and replacing it. A write goes to a temp
 * file in the same directory (fsync, the original's mode and owner) that is renamed over
 * the original; a symlinked kubeconfig is written through to its target, so the link
 * survives. Where rename cannot replace the file (a single file bind-mounted into a
 * container: EBUSY, or EXDEV), the file is rewritten in place, as kubectl does, with a
 * backup copy beside it until done.
 */
import { isUtf8 } from 'node:buffer';
import type * as Crypto from 'node:crypto';
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { access, lstat, mkdir, open, readdir, readlink, realpath, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AnkraError, Exit } from '../errors';
import { invalidKubeconfig, parseKubeconfig } from './parse';
import type { ParsedKubeconfig } from './parse';
import { builtin } from '../core/builtin';
import { processAlive } from '../core/lock';

const crypto = builtin<typeof Crypto>('node:crypto');

export interface LoadedFile {
  path: string;
  exists: boolean;
  parsed: ParsedKubeconfig;
  /** Mode and owner of an existing file, kept when it is replaced. */
  meta?: { mode: number; uid: number; gid: number };
  /** The bytes read: a later read that finds the same bytes reuses `parsed`. */
  bytes?: Buffer;
}

/**
 * The last read of each path in this process. A command often reads a file more than once
 * (list, then remove; a plan before the lock and one under it): an unchanged file is
 * parsed once, and a plan made from it before the lock stands under the lock.
 */
const lastRead = new Map<string, LoadedFile>();

/**
 * Reads and validates one file; a missing file reads as empty. Anything but a regular file
 * (after following symlinks) is refused before it is opened, and the file is opened
 * non-blocking and checked again, so a FIFO swapped in meanwhile cannot hang the caller
 * (shell completion reads the kubeconfig too). When the bytes are those of the last read of
 * the same path, that read's parse is reused.
 */
export async function loadFile(path: string): Promise<LoadedFile> {
  const file = await readKubeconfig(path, lastRead.get(path));
  if (file.exists) lastRead.set(path, file);
  else lastRead.delete(path);
  return file;
}

async function readKubeconfig(path: string, previous: LoadedFile | undefined): Promise<LoadedFile> {
  let info: Stats;
  let bytes: Buffer;
  try {
    info = await stat(path);
    if (!info.isFile()) throw invalidKubeconfig(path, notRegular(info));
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      info = await handle.stat();
      if (!info.isFile()) throw invalidKubeconfig(path, notRegular(info));
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof AnkraError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { path, exists: false, parsed: parseKubeconfig(path, '') };
    throw new AnkraError(`cannot read kubeconfig ${path}: ${fsReason(err)}`, Exit.FAILURE, {
      hint: 'check its permissions, or pass --kubeconfig with a file you can read',
      cause: err,
    });
  }
  const meta = { mode: info.mode & 0o7777, uid: info.uid, gid: info.gid };
  if (previous?.bytes?.equals(bytes)) return { path, exists: true, parsed: previous.parsed, meta, bytes };
  if (!isUtf8(bytes)) throw notUtf8(path, bytes);
  return { path, exists: true, parsed: parseKubeconfig(path, bytes.toString('utf8')), meta, bytes };
}

function notRegular(info: Stats): string {
  if (info.isDirectory()) return 'it is a directory';
  const kind = info.isFIFO()
    ? 'a named pipe (FIFO)'
    : info.isCharacterDevice()
      ? 'a character device'
      : info.isBlockDevice()
        ? 'a block device'
        : info.isSocket()
          ? 'a socket'
          : 'not a file';
  return `it is ${kind}, not a regular file`;
}

/** kubectl refuses such a file too ("yaml: invalid trailing UTF-8 octet"); we say where. */
function notUtf8(path: string, bytes: Buffer): AnkraError {
  const text = bytes.toString('utf8');
  let at = -1;
  for (let i = text.indexOf('\uFFFD'); i !== -1; i = text.indexOf('\uFFFD', i + 1)) {
    const offset = Buffer.byteLength(text.slice(0, i));
    // a U+FFFD written in the file is valid UTF-8 (EF BF BD); a replaced byte is not
    if (bytes[offset] !== 0xef || bytes[offset + 1] !== 0xbf || bytes[offset + 2] !== 0xbd) {
      at = offset;
      break;
    }
  }
  const where = at < 0 ? '' : ` (byte 0x${bytes[at]!.toString(16).padStart(2, '0')} on line ${bytes.subarray(0, at).toString('latin1').split('\n').length})`;
  return new AnkraError(`${path} is not a valid kubeconfig: it is not UTF-8 text${where}`, Exit.FAILURE, {
    hint: 'convert it to UTF-8 (e.g. `iconv -f latin1 -t utf-8`) or fix that line, then run the command again',
  });
}

/**
 * What a write of ours left in `path`: a later read in this process that finds these bytes
 * takes `parsed` for them (the caller knows what they mean) instead of parsing them.
 */
export function rememberWritten(path: string, bytes: Buffer, parsed: ParsedKubeconfig): void {
  lastRead.set(path, { path, exists: true, parsed, bytes });
}

/** How a file was written: a temp file renamed over it, or rewritten in place. */
export type WriteMethod = 'rename' | 'in-place';

export interface WriteOutcome {
  method: WriteMethod;
  /** Why rename was not used (EBUSY: a bind-mounted file; EXDEV: across file systems). */
  renameRefused?: string;
}

/**
 * The file a write to `file` changes (symlinks followed), after checking that it may be
 * changed at all: a read-only file (no write permission bit, which root would ignore), one
 * the caller may not write, or one on a read-only file system is refused, as kubectl's
 * write would be ("permission denied"), and left as it is.
 */
export async function prepareWrite(file: LoadedFile): Promise<string> {
  let target: string;
  try {
    target = await writeTarget(file.path);
  } catch (err) {
    throw cannotWrite(file.path, err);
  }
  if (!file.meta) return target;
  const mode = `mode ${(file.meta.mode & 0o777).toString(8).padStart(4, '0')}`;
  const leftAlone = { hint: `ankra left it unchanged; make it writable (\`chmod u+w ${file.path}\`) or pass --kubeconfig with another file` };
  if ((file.meta.mode & 0o222) === 0) throw new AnkraError(`kubeconfig ${file.path} is read-only (${mode})`, Exit.FAILURE, leftAlone);
  const code = await access(target, constants.W_OK).then(() => undefined, (err: NodeJS.ErrnoException) => err.code);
  if (code === 'EROFS') {
    throw new AnkraError(`kubeconfig ${file.path} is on a read-only file system (${mode})`, Exit.FAILURE, {
      hint: 'ankra left it unchanged; mount it writable, or pass --kubeconfig with another file',
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    throw new AnkraError(`kubeconfig ${file.path} is not writable by you (${mode}, owner uid ${file.meta.uid})`, Exit.FAILURE, {
      hint: 'ankra left it unchanged; ask its owner, or pass --kubeconfig with a file you own',
    });
  }
  return target;
}

/**
 * Replaces (or creates, 0600 in a 0700 directory) `target`, the file `prepareWrite` named.
 * On failure the original is untouched and no temp file remains. Temp files that writers
 * killed mid-write left beside it are removed first (the caller holds the kubeconfig lock).
 */
export async function writeKubeconfigFile(file: LoadedFile, target: string, text: string | Buffer): Promise<WriteOutcome> {
  let tmp: string | undefined;
  try {
    if (!file.meta) await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    await removeDeadWritersTemps(target);
    tmp = join(dirname(target), `.${basename(target)}.ankra-${process.pid}-${crypto().randomBytes(4).toString('hex')}.tmp`);
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
      await handle.chmod(file.meta?.mode ?? 0o600);
      await keepOwner(handle, file.meta);
    } finally {
      await handle.close();
    }
    try {
      await rename(tmp, target);
      return { method: 'rename' };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!file.exists || (code !== 'EBUSY' && code !== 'EXDEV')) throw err;
      await unlink(tmp).catch(() => undefined);
      tmp = undefined;
      await writeInPlace(file, target, text);
      return { method: 'in-place', renameRefused: code };
    }
  } catch (err) {
    if (tmp) await unlink(tmp).catch(() => undefined);
    if (err instanceof AnkraError) throw err;
    throw cannotWrite(file.path, err);
  }
}

function cannotWrite(path: string, err: unknown): AnkraError {
  return new AnkraError(`cannot write kubeconfig ${path}: ${fsReason(err)}`, Exit.FAILURE, {
    hint: 'it is unchanged; check that you may write to its directory, or pass --kubeconfig with another file',
    cause: err,
  });
}

/**
 * Rewrites the file itself, for when rename cannot replace it (a bind-mounted file). A
 * reader must never find it empty or half old, half new, so: a backup copy of the old
 * bytes beside it (fsynced) first; then one write of the whole new text from offset 0,
 * padded when shorter than the old text with a YAML comment that covers the old tail, so
 * the file means the new content from the moment that write lands; fsync; then ftruncate
 * to the new length and fsync again; the backup is removed last. What the platform does
 * not promise: a reader racing the write itself may see it land page by page. Should the
 * write fail, the old bytes are written back; if even that fails, the error names the backup.
 */
async function writeInPlace(file: LoadedFile, target: string, text: string | Buffer): Promise<void> {
  const old = file.bytes ?? Buffer.alloc(0);
  const backup = join(dirname(target), `.${basename(target)}.ankra-${process.pid}-${crypto().randomBytes(4).toString('hex')}.bak`);
  const copy = await open(backup, 'wx', 0o600);
  try {
    await copy.writeFile(old);
    await copy.sync();
  } catch (err) {
    await copy.close();
    await unlink(backup).catch(() => undefined);
    throw err;
  }
  await copy.close();

  let handle: FileHandle | undefined;
  try {
    handle = await open(target, constants.O_RDWR | constants.O_NONBLOCK);
    if (!(await handle.stat()).isFile()) throw new Error(`${target} is no longer a regular file`);
    await overwrite(handle, typeof text === 'string' ? Buffer.from(text, 'utf8') : text, old.length);
  } catch (err) {
    const opened = handle;
    const restored = opened !== undefined && (await opened.stat().then((now) => overwrite(opened, old, now.size)).then(() => true, () => false));
    await handle?.close();
    if (!restored && handle !== undefined) {
      throw new AnkraError(`cannot write kubeconfig ${file.path} in place: ${fsReason(err)}; its previous content is in ${backup}`, Exit.FAILURE, {
        hint: `copy it back (\`cp ${backup} ${file.path}\`) before using kubectl`,
        cause: err,
      });
    }
    await unlink(backup).catch(() => undefined);
    throw err;
  }
  await handle.close();
  await unlink(backup);
}

/** One write of `data` (padded to `oldLength`) at offset 0, then cut to its length. */
async function overwrite(handle: FileHandle, data: Buffer, oldLength: number): Promise<void> {
  const padded = data.length < oldLength ? Buffer.concat([data, commentPadding(data, oldLength - data.length)]) : data;
  for (let done = 0; done < padded.length; ) done += (await handle.write(padded, done, padded.length - done, done)).bytesWritten;
  await handle.datasync();
  if (padded.length !== data.length) {
    await handle.truncate(data.length);
    await handle.sync();
  }
}

/**
 * `n` bytes that, appended to YAML text, change nothing it means: a comment line at
 * column 0 (which also ends a block scalar), or a space after a last line without a line
 * break when only one byte is needed.
 */
function commentPadding(data: Buffer, n: number): Buffer {
  const lineStart = data.length === 0 || data[data.length - 1] === 0x0a;
  if (lineStart) return Buffer.from(`#${' '.repeat(n - 1)}`);
  return Buffer.from(n === 1 ? ' ' : `\n#${' '.repeat(n - 2)}`);
}

/**
 * Temp files (`.<name>.ankra-<pid>-<hex>.tmp`) whose writer is gone: killed between
 * creating and renaming them. Only those of dead processes are removed: a live writer's
 * temp file is its write in progress. Backups (`.bak`) of a writer killed during an
 * in-place write are left for the user: they hold the file's previous content.
 */
async function removeDeadWritersTemps(target: string): Promise<void> {
  const dir = dirname(target);
  const pattern = new RegExp(`^\\.${escapeRegExp(basename(target))}\\.ankra-(\\d+)-[0-9a-f]+\\.tmp$`);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(pattern.exec(name)?.[1] ?? 0);
    if (pid > 0 && pid !== process.pid && !processAlive(pid)) await unlink(join(dir, name)).catch(() => undefined);
  }
}


function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
