/**
 * Inter-process file locks: `<path>` created exclusively, holding
 * "pid host nonce start", where `start` names the owning process's incarnation (Linux: its
 * start time in clock ticks since boot, field 22 of /proc/<pid>/stat, and the boot id), so a
 * pid the kernel has since handed to another process does not keep a dead lock alive.
 * Used for the per-key token cache lock (so N kubectl processes mint once), the refresh lock
 * (so a rotating refresh token is used once) and kubeconfig writes (kubectl's own
 * `<file>.lock` convention, whose files are empty).
 *
 * A lock is broken when its owner on this host is gone (dead pid, or the pid now belongs to a
 * process that started later); when its owner cannot be checked (another host, kubectl's
 * empty files) and it is older than `staleMs`; whatever its owner, when it is older than
 * `maxAgeMs`, longer than any legitimate holder keeps it; and at once when it is not a
 * regular file (say, a planted symbolic link, which is never followed). Node built-ins only.
 */
import { closeSync, constants, fstatSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostname } from 'node:os';
import { uniqueSuffix } from './fsutil';
import { AnkraError, Exit } from '../errors';
import { sleep } from './time';

export interface LockOptions {
  /** Give up after this long (ms). */
  timeoutMs?: number;
  /** A lock whose owner cannot be checked is considered abandoned after this long (ms). */
  staleMs?: number;
  /** Any lock older than this is abandoned, whoever holds it (ms; default 10 minutes). */
  maxAgeMs?: number;
  /** What the lock protects, for the error message. */
  what?: string;
}

export interface Lock {
  release(): void;
}


let bootId: string | undefined | null = null;

/** This boot's id (Linux), so start times from before a reboot never match; '' elsewhere. */
function currentBootId(): string {
  if (bootId === null) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = undefined;
    }
  }
  return bootId ?? '';
}

/**
 * Which incarnation of process `pid` runs now: its start time (clock ticks since boot,
 * field 22 of /proc/<pid>/stat) and the boot id. undefined where /proc is not available
 * or the process is gone.
 */
export function processStart(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = fields[19]; // field 22 overall; fields[0] is field 3
  return start && /^\d+$/.test(start) ? `${start}@${currentBootId()}` : undefined;
}

/** Whether process `pid` exists (one of another user's counts). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Holder {
  content: string;
  mtimeMs: number;
  regular: boolean;
}

/** The lock file as it is now, never through a symbolic link; undefined when it is gone. */
function inspect(path: string): Holder | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // A symbolic link (ELOOP) is nobody's lock; an unreadable file is judged by its age.
    try {
      const st = lstatSync(path);
      return { content: '', mtimeMs: st.mtimeMs, regular: st.isFile() };
    } catch {
      return undefined;
    }
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { content: '', mtimeMs: st.mtimeMs, regular: false };
    const buf = Buffer.alloc(Math.min(st.size, 4096));
    const n = buf.length ? readSync(fd, buf, 0, buf.length, 0) : 0;
    return { content: buf.toString('utf8', 0, n), mtimeMs: st.mtimeMs, regular: true };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether an existing lock may be broken (see the module comment). A live local owner is
 * otherwise waited for, however slow: breaking its lock would let a rotating refresh token
 * be used twice.
 */
function isAbandoned(h: Holder, now: number, staleMs: number, maxAgeMs: number): boolean {
  const age = now - h.mtimeMs;
  // Locks are regular files: a link, a directory or a FIFO in its place is nobody's lock.
  if (!h.regular || age > maxAgeMs) return true;
  const [pidText, host, , start] = h.content.split(' ');
  const pid = Number(pidText);
  const local = host === hostname() && Number.isInteger(pid) && pid > 0;
  if (!local) return age > staleMs;
  if (!processAlive(pid)) return true;
  // The pid is in use: by the owner, or by a process that got the pid after it died.
  if (start && start !== '-') {
    const current = processStart(pid);
    if (current !== undefined && current !== start) return true;
  }
  return false;
}

/**
 * Remove an abandoned lock without removing a fresh one another process just took: move it
 * aside, and if what moved is not what was judged, put it back.
 */
function breakAbandoned(path: string, judged: Holder): void {
  const aside = `${path}.${uniqueSuffix()}.stale`;
  try {
    renameSync(path, aside);
  } catch {
    return;
  }
  const moved = inspect(aside);
  if (!moved || moved.content !== judged.content || moved.regular !== judged.regular) {
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

/** Take the lock if it is free. Another process creating it first is "taken", never an error. */
function tryAcquire(path: string, token: string): boolean {
  let fd: number | undefined;
  for (let attempt = 0; fd === undefined; attempt++) {
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'ENOENT' || attempt > 2) throw err;
      // The directory is missing: create it (racing with others doing the same is fine).
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    }
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
  const maxAgeMs = Math.max(opts.maxAgeMs ?? 600_000, staleMs);
  const token = `${process.pid} ${hostname()} ${uniqueSuffix()} ${processStart(process.pid) ?? '-'}`;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (tryAcquire(path, token)) {
      return {
        release() {
          if (inspect(path)?.content === token) {
            try {
              unlinkSync(path);
            } catch {
              // already released or broken by someone else
            }
          }
        },
      };
    }
    const holder = inspect(path);
    if (holder && isAbandoned(holder, Date.now(), staleMs, maxAgeMs)) {
      breakAbandoned(path, holder);
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
