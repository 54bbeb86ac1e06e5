/**
 * Small file helpers shared by the token cache, settings and the credential file.
 * Node built-ins only (the exec-credential fast path uses them).
 *
 * Private files (tokens and what goes with them) are opened without following symbolic
 * links (O_NOFOLLOW) and used only when they are regular files of ours that nobody else may
 * read or write, inside a directory that passes `privateDirProblem`.
 */
import { accessSync, closeSync, constants, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { delimiter, dirname, basename, isAbsolute, join } from 'node:path';

/**
 * Unique enough for temp and lock file names: they are created with O_EXCL, so a clash
 * fails loudly instead of overwriting. (No node:crypto: it is slow to load on the hot path.)
 */
export function uniqueSuffix(): string {
  return `${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 10)}`;
}

/** Create a directory (and parents) with mode 0700 for what ankra creates. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * As ensurePrivateDir, one level at a time, so a failure carries its real cause (a recursive
 * mkdir reports ENOENT where the file system is read-only). Racing creators are fine.
 */
function makeDirs(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw err;
    makeDirs(parent);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
    }
  }
}

/**
 * Write a file atomically: a temp file in the same directory, fsync, rename. Readers see
 * the old or the new content, never a torn one. The temp file is created exclusively (so a
 * planted link is never followed), and removed on failure. `durable: false` skips the fsync,
 * for caches: a crash may then lose the new content, never tear it.
 */
export function writeFileAtomic(path: string, data: string, mode = 0o600, opts: { durable?: boolean } = {}): void {
  const dir = dirname(path);
  ensurePrivateDir(dir);
  const tmp = join(dir, `.${basename(path)}.${uniqueSuffix()}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
    writeSync(fd, data);
    if (opts.durable !== false) fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
}

/** Parse a JSON file; undefined when it is missing, unreadable or not JSON. */
export function readJsonFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ------------------------------------------------------------------ private files

// Windows has neither flag; there the checks below fall back to what lstat can tell.
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
// A FIFO planted where a file should be must not block the open.
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;

/** This process's uid, or undefined where there are no uids (Windows). */
export const myUid = (): number | undefined => process.getuid?.();

/** Why a file's stats make it unfit to hold a secret of ours; undefined when it is fit. */
function privateFileProblem(st: Stats): string | undefined {
  if (!st.isFile()) return 'not a regular file';
  const uid = myUid();
  if (uid !== undefined && st.uid !== uid) return `owned by uid ${st.uid}`;
  if (uid !== undefined && (st.mode & 0o077) !== 0) return `mode ${(st.mode & 0o777).toString(8)}`;
  if (st.nlink > 1) return 'hard-linked';
  return undefined;
}

/**
 * The text of a private file, or undefined when it is missing, a symbolic link, not a
 * regular file, not ours, readable or writable by others, or larger than `maxBytes`.
 */
export function readPrivateFile(path: string, maxBytes = 64 * 1024): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return undefined; // missing, or a symbolic link (ELOOP)
  }
  try {
    const st = fstatSync(fd);
    if (privateFileProblem(st) || st.size > maxBytes) return undefined;
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.toString('utf8', 0, off);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Append to a private file, creating it 0600. Never follows a symbolic link and never
 * writes into a file that is not a private one of ours. Returns whether it wrote.
 */
export function appendPrivateFile(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600);
  } catch {
    return false;
  }
  try {
    if (privateFileProblem(fstatSync(fd))) return false;
    writeSync(fd, text);
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Create a new file exclusively (never through a link); false when the name is taken. */
export function createExclusive(path: string, text = '', mode = 0o600): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    if (text) writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

export function unlinkQuietly(...paths: string[]): void {
  for (const p of paths) {
    try {
      unlinkSync(p);
    } catch {
      // already gone
    }
  }
}

export interface PrivateDirOptions {
  /** Create the directory (and missing parents, 0700) when it does not exist. */
  create?: boolean;
  /**
   * Also require the parent to be ours and writable by nobody else, so nobody else can
   * swap the directory for another between the check and its use.
   */
  checkParent?: boolean;
}

/**
 * Why `dir` cannot hold secrets, as a short clause naming the fix; undefined when it can:
 * it exists (or was just created), is a real directory (not a link), is ours and has no
 * permission bits for group or others.
 */
export function privateDirProblem(dir: string, opts: PrivateDirOptions = {}): string | undefined {
  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') return `${dir} cannot be created: a file is in the way; remove it`;
    if (code !== 'ENOENT') return `${dir} cannot be read (${code ?? 'error'})`;
    if (!opts.create) return `${dir} does not exist`;
    try {
      makeDirs(dir);
      st = lstatSync(dir);
    } catch (mkErr) {
      const why = (mkErr as NodeJS.ErrnoException).code;
      if (why === 'EROFS') return `${dir} cannot be created: the file system is read-only`;
      if (why === 'EACCES' || why === 'EPERM') return `${dir} cannot be created: permission denied`;
      if (why === 'ENOTDIR' || why === 'EEXIST') return `${dir} cannot be created: a file is in the way; remove it`;
      return `${dir} cannot be created (${why ?? 'error'})`;
    }
  }
  if (st.isSymbolicLink()) return `${dir} is a symbolic link; remove it`;
  if (!st.isDirectory()) return `${dir} is not a directory; remove it`;
  const uid = myUid();
  if (uid !== undefined) {
    if (st.uid !== uid) return `${dir} is owned by uid ${st.uid}, not by you (uid ${uid}); remove it`;
    if ((st.mode & 0o022) !== 0) return `${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)}); run \`chmod 700 ${dir}\``;
    if ((st.mode & 0o077) !== 0) return `${dir} is readable by others (mode ${(st.mode & 0o777).toString(8)}); run \`chmod 700 ${dir}\``;
    if (opts.checkParent) {
      const parent = dirname(dir);
      try {
        const p = lstatSync(parent);
        if (p.uid !== uid && p.uid !== 0) return `${parent} is owned by uid ${p.uid}, not by you (uid ${uid})`;
        // Writable by others without the sticky bit: they could rename our directory away.
        if ((p.mode & 0o022) !== 0 && (p.mode & 0o1000) === 0) return `${parent} is writable by others (mode ${(p.mode & 0o777).toString(8)}); run \`chmod 700 ${parent}\``;
      } catch {
        return `${parent} cannot be read`;
      }
    }
  }
  return undefined;
}

/** `name` on PATH (absolute directories only), as an absolute path; undefined when it is not there. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
