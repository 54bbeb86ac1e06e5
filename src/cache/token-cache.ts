/**
 * The cache of minted Kubernetes tokens: one small JSON file per key in
 * `$XDG_CACHE_HOME/ankra/tokens/` (dir 0700, files 0600, written atomically). The key is the
 * sha256 of every input that changes the token (base URL, organisation, cluster, login), so
 * another login never sees someone else's token. Node built-ins only: this is the hot path.
 *
 * Files are used only inside a private directory of ours (`openTokenDir`), and opened
 * without following symbolic links; a file that is not a private regular file of ours is
 * treated as absent. Beside `<key>.json`:
 *   `<key>.lock`    the per-key lock of the slow path (src/core/lock.ts);
 *   `<key>.served`  which client processes were handed the cached token;
 *   `<key>.error`   a failure remembered for a few seconds, and who was told about it;
 *   `<key>.check`   when the cluster was last asked whether the token still works.
 */
import { lstatSync, readdirSync, readlinkSync, renameSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { appendPrivateFile, createExclusive, privateDirProblem, readPrivateFile, uniqueSuffix, unlinkQuietly, writeFileAtomic } from '../core/fsutil';
import type { Paths } from '../core/paths';
import { sha256Hex } from '../core/sha256';

export interface CacheKeyParts {
  baseUrl: string;
  org: string | undefined;
  cluster: string;
  identity: string;
}

export interface CachedToken {
  v: 1;
  token: string;
  /** RFC 3339 */
  expires_at: string;
  /** RFC 3339: when it was minted, to know its lifetime. */
  issued_at: string;
  /** Not secret; lets `ankra logout` clear the tokens of one server. */
  base_url: string;
  /**
   * The cluster's Kubernetes API through Ankra's proxy, from the mint answer: where a check
   * sends the token to learn whether it still works. Absent in entries of older versions.
   */
  server?: string;
}

/** Tokens with less than this left are not served from the cache. */
export const MIN_MARGIN_MS = 60_000;
/** No cached expiry is trusted further ahead than this (Ankra's tokens live minutes). */
export const MAX_CACHED_LIFETIME_MS = 25 * 3600_000;

export function cacheKey(p: CacheKeyParts): string {
  return sha256Hex(JSON.stringify(['ankra-token-cache/v1', p.baseUrl, p.org ?? '', p.cluster, p.identity]));
}

export const cacheFile = (dir: string, key: string) => join(dir, `${key}.json`);
export const lockFile = (dir: string, key: string) => join(dir, `${key}.lock`);
export const servedFile = (dir: string, key: string) => join(dir, `${key}.served`);
export const errorFile = (dir: string, key: string) => join(dir, `${key}.error`);
export const checkFile = (dir: string, key: string) => join(dir, `${key}.check`);

/**
 * The token directory, created 0700 when missing, or why it cannot be used: no home
 * directory, read-only, a file or link in the way, owned by someone else, or open to others
 * (another user could then read tokens or plant files). The problem names the fix.
 */
export function openTokenDir(paths: Paths, create = true): { dir: string } | { problem: string } {
  if (paths.tokenDirProblem) return { problem: paths.tokenDirProblem };
  const problem = privateDirProblem(paths.tokenDir, { create, checkParent: true });
  if (!problem) return { dir: paths.tokenDir };
  // A problem ankra cannot name a fix for in place: point at another place.
  return { problem: /read-only|permission denied|cannot be (created|read) \(|does not exist/.test(problem) ? `${problem}; set XDG_CACHE_HOME to a writable directory of yours` : problem };
}

// ------------------------------------------------------------------ entries

function parse(text: string, nowMs: number): CachedToken | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.v !== 1 || typeof o.token !== 'string' || o.token === '' || typeof o.expires_at !== 'string' || typeof o.issued_at !== 'string') {
    return undefined;
  }
  if (o.server !== undefined && typeof o.server !== 'string') return undefined;
  const expires = Date.parse(o.expires_at);
  // An expiry this far ahead is no entry ankra wrote: never hand kubectl what it cannot parse.
  if (Number.isNaN(expires) || Number.isNaN(Date.parse(o.issued_at)) || expires > nowMs + MAX_CACHED_LIFETIME_MS) return undefined;
  return o as unknown as CachedToken;
}

/** The cached entry, or undefined when missing, unreadable, corrupt, foreign or not private. */
export function readCached(dir: string, key: string, nowMs = Date.now()): CachedToken | undefined {
  const text = readPrivateFile(cacheFile(dir, key));
  return text === undefined ? undefined : parse(text, nowMs);
}

/**
 * Whether a cached token may still be handed out: more than max(60 s, 10% of its
 * lifetime) must remain, so kubectl never starts a request with a token about to lapse.
 */
export function isFresh(entry: CachedToken, nowMs: number): boolean {
  const expires = Date.parse(entry.expires_at);
  const lifetime = expires - Date.parse(entry.issued_at);
  const margin = Math.max(MIN_MARGIN_MS, lifetime * 0.1);
  return expires - nowMs > margin;
}

/** Cache a new token: everything known about the previous one goes. */
export function writeCached(dir: string, key: string, entry: CachedToken): void {
  writeFileAtomic(cacheFile(dir, key), `${JSON.stringify(entry)}\n`);
  unlinkQuietly(servedFile(dir, key), errorFile(dir, key), checkFile(dir, key));
}

/** Drop everything cached for a key: the token, who it was served to, a remembered failure. */
export function forgetCached(dir: string, key: string): void {
  unlinkQuietly(cacheFile(dir, key), servedFile(dir, key), errorFile(dir, key), checkFile(dir, key));
}

/** Remove cached tokens (all, or those of one server). Returns how many. */
export function clearCache(dir: string, baseUrl?: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    // Temp files of a write that was killed half-way may hold a token too.
    if (name.startsWith('.') && name.endsWith('.tmp')) unlinkQuietly(join(dir, name));
    if (!name.endsWith('.json')) continue;
    const key = name.slice(0, -'.json'.length);
    if (baseUrl !== undefined) {
      let owner: unknown;
      try {
        owner = (JSON.parse(readPrivateFile(join(dir, name)) ?? '') as { base_url?: unknown }).base_url;
      } catch {
        owner = undefined; // unreadable: clear it too
      }
      if (owner !== undefined && owner !== baseUrl) continue;
    }
    forgetCached(dir, key);
    n++;
  }
  // What went with tokens that are gone (who was served, failures, checks): nothing secret,
  // but nothing worth keeping either.
  for (const name of names) {
    const m = /^([0-9a-f]{64})\.(served|error|check)$/.exec(name);
    if (m && !names.includes(`${m[1]}.json`)) unlinkQuietly(join(dir, name));
  }
  return n;
}

// ------------------------------------------------------------------ who was served

/*
 * Which processes a cached token was handed to. kubectl (client-go) runs the plugin once
 * per process and keeps the credential until it expires; it runs it again when the server
 * answered 401 (client-go sets KUBERNETES_EXEC_INFO; only such calls are tracked). The
 * Python client runs it again on every configuration load. So a second request for the
 * same token from the same parent process means the token may have been rejected: the
 * plugin then asks the cluster (one request) before serving it again, and mints only when
 * the cluster refuses it. One line per (token, process), appended; reset when a new token
 * is cached.
 *
 * "The same process" is its pid and its executable: a kubectl dispatcher (as in Google's
 * Cloud SDK) runs the plugin, then exec()s the real kubectl under the same pid, which runs
 * it again; that is a new program, not a rejection. (A pid reused by another kubectl within
 * a token's lifetime costs one check with the cluster, nothing more.) Where the executable
 * cannot be read cheaply (no /proc: macOS, Windows), nothing is tracked: a pid alone would
 * make every dispatched kubectl call look like a rejection.
 */
export function callerOf(ppid: number): string | undefined {
  try {
    return `${ppid} ${readlinkSync(`/proc/${ppid}/exe`)}`;
  } catch {
    return undefined;
  }
}

/** The caller to track for this call: only client-go-style callers (KUBERNETES_EXEC_INFO). */
export function trackedCaller(env: NodeJS.ProcessEnv): string | undefined {
  return env.KUBERNETES_EXEC_INFO ? callerOf(process.ppid) : undefined;
}

const servedLine = (entry: CachedToken, caller: string) => `${entry.issued_at} ${caller}`;

export function alreadyServed(dir: string, key: string, entry: CachedToken, caller: string): boolean {
  return (readPrivateFile(servedFile(dir, key), 1024 * 1024) ?? '').split('\n').includes(servedLine(entry, caller));
}

export function recordServed(dir: string, key: string, entry: CachedToken, caller: string): void {
  // Only a hint for later: never worth failing kubectl over.
  if (!appendPrivateFile(servedFile(dir, key), `${servedLine(entry, caller)}\n`)) {
    // Something that is not our private file sits there (say, a planted link): replace it.
    unlinkQuietly(servedFile(dir, key));
    appendPrivateFile(servedFile(dir, key), `${servedLine(entry, caller)}\n`);
  }
}

// ------------------------------------------------------------------ remembered failures

/**
 * A failure remembered for a few seconds. `replay`: it will not change in seconds (no grant,
 * no such cluster, gateway off), so kubectl's retries get it from here instead of costing
 * an API call (and rate-limit budget) each. `told`: the callers who were shown the line;
 * kubectl runs a failing plugin several times per command, and the explanation is printed
 * once per command.
 */
export interface CachedError {
  v: 1;
  message: string;
  exit_code: number;
  /** epoch ms */
  until: number;
  replay?: boolean;
  told?: string[];
}

export const ERROR_TTL_MS = 5_000;

export function readCachedError(dir: string, key: string, nowMs: number): CachedError | undefined {
  try {
    const e = JSON.parse(readPrivateFile(errorFile(dir, key)) ?? '') as Partial<CachedError>;
    // An `until` further away than the TTL means the clock went back: not trusted.
    if (e.v === 1 && typeof e.message === 'string' && typeof e.exit_code === 'number' && typeof e.until === 'number' && e.until > nowMs && e.until <= nowMs + ERROR_TTL_MS) {
      return { ...e, told: Array.isArray(e.told) ? e.told.filter((t) => typeof t === 'string') : [] } as CachedError;
    }
  } catch {
    // none, or unreadable
  }
  return undefined;
}

/**
 * Remember a failure for ERROR_TTL_MS, and whether `caller` still needs to be told about it
 * (false when this same caller was already shown this same message).
 */
export function rememberError(dir: string, key: string, e: { message: string; exitCode: number; replay: boolean }, caller: string | undefined, nowMs: number): boolean {
  const prev = readCachedError(dir, key, nowMs);
  const same = prev?.message === e.message;
  const told = same ? (prev?.told ?? []) : [];
  const tell = caller === undefined || !told.includes(caller);
  const next: CachedError = { v: 1, message: e.message, exit_code: e.exitCode, until: nowMs + ERROR_TTL_MS, replay: e.replay, told: caller && tell ? [...told, caller] : told };
  try {
    writeFileAtomic(errorFile(dir, key), `${JSON.stringify(next)}\n`);
  } catch {
    // a read-only cache: nothing remembered, the line is printed every time
  }
  return tell;
}

/** A replayed failure: whether `caller` still needs to be told (and record that it was). */
export function tellReplayed(dir: string, key: string, e: CachedError, caller: string | undefined): boolean {
  if (caller === undefined) return true;
  if (e.told?.includes(caller)) return false;
  try {
    writeFileAtomic(errorFile(dir, key), `${JSON.stringify({ ...e, told: [...(e.told ?? []), caller] })}\n`);
  } catch {
    // told again next time: harmless
  }
  return true;
}

/** Compatibility: remember a lasting failure (replayed to kubectl's retries). */
export function writeCachedError(dir: string, key: string, message: string, exitCode: number, nowMs: number): void {
  rememberError(dir, key, { message, exitCode, replay: true }, undefined, nowMs);
}

// ------------------------------------------------------------------ checks

/**
 * A token is worth checking (asking the cluster whether it still works) when it was minted
 * more than this long ago and not checked within this long. Clients that never re-run the
 * plugin after a 401 (client-node, the Python client, controllers) thus get a dead token
 * for at most about this long after Ankra revoked it, instead of until it expires.
 */
export const CHECK_AFTER_MS = 5_000;

/** Whether the cached token is due for a check now (cheap: one lstat, only for older tokens). */
export function checkDue(dir: string, key: string, entry: CachedToken, nowMs: number): boolean {
  if (!entry.server || nowMs - Date.parse(entry.issued_at) < CHECK_AFTER_MS) return false;
  try {
    return nowMs - lstatSync(checkFile(dir, key)).mtimeMs >= CHECK_AFTER_MS;
  } catch {
    return true; // never checked
  }
}

/**
 * Claim the next check of a key (at most one process wins per CHECK_AFTER_MS): the marker
 * `<key>.check` is created exclusively; an old one is first moved aside, which only one
 * process can do. Its modification time is when the last check started.
 */
export function claimCheck(dir: string, key: string, nowMs: number): boolean {
  const marker = checkFile(dir, key);
  try {
    if (createExclusive(marker)) return true;
    if (nowMs - lstatSync(marker).mtimeMs < CHECK_AFTER_MS) return false;
    const aside = `${marker}.${uniqueSuffix()}.old`;
    renameSync(marker, aside); // ENOENT: another process moved it first and wins
    unlinkQuietly(aside);
    return createExclusive(marker);
  } catch {
    return false;
  }
}

/** Record that the token was just checked (by a synchronous check in the slow path). */
export function markChecked(dir: string, key: string, nowMs: number): void {
  if (claimCheck(dir, key, nowMs)) return;
  try {
    const t = nowMs / 1000;
    if (lstatSync(checkFile(dir, key)).isFile()) utimesSync(checkFile(dir, key), t, t);
  } catch {
    // only a hint
  }
}
