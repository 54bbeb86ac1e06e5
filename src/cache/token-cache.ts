/**
 * The cache of minted Kubernetes tokens: one small JSON file per key in
 * `$XDG_CACHE_HOME/ankra/tokens/` (dir 0700, files 0600, written atomically). The key is the
 * sha256 of every input that changes the token (base URL, organisation, cluster, login), so
 * another login never sees someone else's token. Node built-ins only: this is the hot path.
 */
import { appendFileSync, readdirSync, readFileSync, readlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/fsutil';
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
}

/** Tokens with less than this left are not served from the cache. */
export const MIN_MARGIN_MS = 60_000;

export function cacheKey(p: CacheKeyParts): string {
  return sha256Hex(JSON.stringify(['ankra-token-cache/v1', p.baseUrl, p.org ?? '', p.cluster, p.identity]));
}

export const cacheFile = (dir: string, key: string) => join(dir, `${key}.json`);
export const lockFile = (dir: string, key: string) => join(dir, `${key}.lock`);
export const servedFile = (dir: string, key: string) => join(dir, `${key}.served`);
export const errorFile = (dir: string, key: string) => join(dir, `${key}.error`);

/**
 * A failure that will not change in seconds (no grant, no such cluster, gateway off),
 * remembered briefly: kubectl retries a failing plugin up to ten times per command, and
 * each retry would otherwise cost an API call (and rate-limit budget) for the same answer.
 */
export interface CachedError {
  v: 1;
  message: string;
  exit_code: number;
  /** epoch ms */
  until: number;
}

export const ERROR_TTL_MS = 5_000;

export function readCachedError(dir: string, key: string, nowMs: number): CachedError | undefined {
  try {
    const e = JSON.parse(readFileSync(errorFile(dir, key), 'utf8')) as Partial<CachedError>;
    // An `until` further away than the TTL means the clock went back: not trusted.
    if (e.v === 1 && typeof e.message === 'string' && typeof e.exit_code === 'number' && typeof e.until === 'number' && e.until > nowMs && e.until <= nowMs + ERROR_TTL_MS) {
      return e as CachedError;
    }
  } catch {
    // none, or unreadable
  }
  return undefined;
}

export function writeCachedError(dir: string, key: string, message: string, exitCode: number, nowMs: number): void {
  const e: CachedError = { v: 1, message, exit_code: exitCode, until: nowMs + ERROR_TTL_MS };
  writeFileAtomic(errorFile(dir, key), `${JSON.stringify(e)}\n`);
}

function parse(text: string): CachedToken | undefined {
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
  if (Number.isNaN(Date.parse(o.expires_at)) || Number.isNaN(Date.parse(o.issued_at))) return undefined;
  return o as unknown as CachedToken;
}

/** The cached entry, or undefined when missing, unreadable, corrupt or foreign. */
export function readCached(dir: string, key: string): CachedToken | undefined {
  try {
    return parse(readFileSync(cacheFile(dir, key), 'utf8'));
  } catch {
    return undefined;
  }
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

export function writeCached(dir: string, key: string, entry: CachedToken): void {
  writeFileAtomic(cacheFile(dir, key), `${JSON.stringify(entry)}\n`);
  unlinkQuietly(servedFile(dir, key), errorFile(dir, key));
}

/*
 * Which processes a cached token was handed to. kubectl (client-go) runs the plugin once
 * per process and keeps the credential until it expires; it runs it again only when the
 * server answered 401 (client-go sets KUBERNETES_EXEC_INFO; only such calls are tracked).
 * So a second request for the same token from the same parent process means the token was
 * rejected (say, the grant was revoked): the plugin must not serve it again but ask Ankra,
 * which then explains what happened. One line per (token, process), appended; reset when a
 * new token is cached.
 *
 * "The same process" is its pid and its executable: a kubectl dispatcher (as in Google's
 * Cloud SDK) runs the plugin, then exec()s the real kubectl under the same pid, which runs
 * it again; that is a new program, not a rejection. Where the executable cannot be read
 * cheaply (no /proc: macOS, Windows), nothing is tracked: a pid alone would make every
 * dispatched kubectl call mint.
 */
export function callerOf(ppid: number): string | undefined {
  try {
    return `${ppid} ${readlinkSync(`/proc/${ppid}/exe`)}`;
  } catch {
    return undefined;
  }
}

const servedLine = (entry: CachedToken, caller: string) => `${entry.issued_at} ${caller}`;

export function alreadyServed(dir: string, key: string, entry: CachedToken, caller: string): boolean {
  try {
    return readFileSync(servedFile(dir, key), 'utf8').split('\n').includes(servedLine(entry, caller));
  } catch {
    return false;
  }
}

export function recordServed(dir: string, key: string, entry: CachedToken, caller: string): void {
  try {
    appendFileSync(servedFile(dir, key), `${servedLine(entry, caller)}\n`, { mode: 0o600 });
  } catch {
    // Only a hint for later: never worth failing kubectl over.
  }
}

function unlinkQuietly(...paths: string[]): void {
  for (const p of paths) {
    try {
      unlinkSync(p);
    } catch {
      // already gone
    }
  }
}

/** Drop everything cached for a key: the token, who it was served to, a remembered failure. */
export function forgetCached(dir: string, key: string): void {
  unlinkQuietly(cacheFile(dir, key), servedFile(dir, key), errorFile(dir, key));
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
        owner = (JSON.parse(readFileSync(join(dir, name), 'utf8')) as { base_url?: unknown }).base_url;
      } catch {
        owner = undefined; // unreadable: clear it too
      }
      if (owner !== undefined && owner !== baseUrl) continue;
    }
    forgetCached(dir, key);
    n++;
  }
  return n;
}
