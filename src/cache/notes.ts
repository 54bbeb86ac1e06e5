/**
 * "Say it once" for warnings that must not repeat on every kubectl call, remembered even when
 * the token cache directory is unusable (which is what such a warning is usually about).
 *
 * The memory is an empty marker file in a private directory `ankra-<uid>` (0700, ours, not a
 * link, checked before each use) under the first usable of: $XDG_RUNTIME_DIR (a per-user
 * directory), the temp directory (TMPDIR), /dev/shm (writable even in containers with a
 * read-only root file system). Markers hold nothing secret. When none is usable the warning
 * is shown every time: better repeated than lost. Node built-ins only.
 */
import { lstatSync, mkdirSync, renameSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { createExclusive, privateDirProblem, uniqueSuffix, unlinkQuietly } from '../core/fsutil';
import { sha256Hex } from '../core/sha256';

/** How long a warning stays quiet once said. */
export const NOTE_PERIOD_MS = 24 * 3600_000;

function candidates(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  if (env.XDG_RUNTIME_DIR && isAbsolute(env.XDG_RUNTIME_DIR)) out.push(env.XDG_RUNTIME_DIR);
  // As os.tmpdir() on POSIX, but from the given environment.
  const tmp = [env.TMPDIR, env.TMP, env.TEMP].find((v) => v && isAbsolute(v));
  out.push(tmp ?? '/tmp', '/dev/shm');
  return [...new Set(out)];
}

/** The private notes directory, created on first use; undefined when nowhere is usable. */
export function notesDir(env: NodeJS.ProcessEnv): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  for (const base of candidates(env)) {
    const dir = join(base, `ankra-${uid}`);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch {
      // exists already (checked next), or base is not writable
    }
    if (!privateDirProblem(dir)) return dir;
  }
  return undefined;
}

/**
 * Whether to say `text` now: true the first time, then false for NOTE_PERIOD_MS. The marker
 * is named after the text, so a different problem is said again.
 */
export function sayOnce(env: NodeJS.ProcessEnv, text: string, nowMs = Date.now()): boolean {
  const dir = notesDir(env);
  if (!dir) return true;
  const marker = join(dir, `said-${sha256Hex(text).slice(0, 32)}`);
  try {
    if (createExclusive(marker)) return true;
    if (nowMs - lstatSync(marker).mtimeMs < NOTE_PERIOD_MS) return false;
    const aside = `${marker}.${uniqueSuffix()}.old`;
    renameSync(marker, aside);
    unlinkQuietly(aside);
    return createExclusive(marker);
  } catch {
    return true;
  }
}
