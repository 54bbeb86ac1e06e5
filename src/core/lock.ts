/**
 * Inter-process file locks: `<path>` created exclusively, holding "pid host nonce".
 * Used for the per-key token cache lock (so N kubectl processes mint once), the refresh
 * lock (so a rotating refresh token is used once) and kubeconfig writes (kubectl's own
 * `<file>.lock` convention). A lock whose process is gone is broken at once; one whose owner
 * cannot be checked, once it is older than `staleMs`. Node built-ins only.
 */
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostname } from 'node:os';
import { uniqueSuffix } from './fsutil';
import { AnkraError, Exit } from '../errors';

export interface LockOptions {
  /** Give up after this long (ms). */
  timeoutMs?: number;
  /** A lock older than this is considered abandoned (ms). */
  staleMs?: number;
  /** What the lock protects, for the error message. */
  what?: string;
}

export interface Lock {
  release(): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether an existing lock may be broken: its owner, on this host, is gone; or it is older
 * than `staleMs` and its owner cannot be checked (another host, or kubectl's empty lock
 * files). A live local owner is always waited for, however slow: breaking its lock would
 * let a rotating refresh token be used twice.
 */
function staleness(path: string, staleMs: number): { content: string } | undefined {
  let content: string;
  let mtimeMs: number;
  try {
    content = readFileSync(path, 'utf8');
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return undefined; // gone already: the next attempt will simply take it
  }
  const [pid, host] = content.split(' ');
  const local = host === hostname() && Number(pid) > 0;
  if (local) return alive(Number(pid)) ? undefined : { content };
  return Date.now() - mtimeMs > staleMs ? { content } : undefined;
}

/**
 * Remove a stale lock without removing a fresh one another process just took: move it
 * aside, and if what moved is not what was judged stale, put it back.
 */
function breakStale(path: string, judged: string): void {
  const aside = `${path}.${uniqueSuffix()}.stale`;
  try {
    renameSync(path, aside);
  } catch {
    return;
  }
  let moved = '';
  try {
    moved = readFileSync(aside, 'utf8');
  } catch {
    // unreadable: treat as stale
  }
  if (moved !== judged) {
    try {
      linkSync(aside, path); // fails if someone took the lock meanwhile: theirs wins
    } catch {
      // nothing to restore onto
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // ignore
  }
}

function tryAcquire(path: string, token: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'ENOENT') throw err;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    fd = openSync(path, 'wx', 0o600);
  }
  try {
    writeSync(fd, token);
  } finally {
    closeSync(fd);
  }
  return true;
}

export async function acquireLock(path: string, opts: LockOptions = {}): Promise<Lock> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const staleMs = opts.staleMs ?? 60_000;
  const token = `${process.pid} ${hostname()} ${uniqueSuffix()}`;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (tryAcquire(path, token)) {
      return {
        release() {
          try {
            if (readFileSync(path, 'utf8') === token) unlinkSync(path);
          } catch {
            // already released or broken by someone else
          }
        },
      };
    }
    const stale = staleness(path, staleMs);
    if (stale) {
      breakStale(path, stale.content);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new AnkraError(`timed out waiting for the lock on ${opts.what ?? path}`, Exit.FAILURE, {
        hint: `if no other ankra or kubectl is running, remove ${path}`,
      });
    }
    // Short, jittered waits: the holder is usually done within one API round trip.
    await sleep(Math.min(10 + attempt * 5, 50) + Math.random() * 15);
  }
}

export async function withLock<T>(path: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(path, opts);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
