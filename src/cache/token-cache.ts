/**
 * The cache of minted Kubernetes tokens: one small JSON file per key in
 * `$XDG_CACHE_HOME/ankra/tokens/` (dir 0700, files 0600, written atomically). The key is the
 * sha256 of every input that changes the token (base URL, organisation, cluster, login), so
 * another login never sees someone else's token. Node built-ins only: this is the hot path.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/fsutil';

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
  return createHash('sha256')
    .update(JSON.stringify(['ankra-token-cache/v1', p.baseUrl, p.org ?? '', p.cluster, p.identity]))
    .digest('hex');
}

export const cacheFile = (dir: string, key: string) => join(dir, `${key}.json`);
export const lockFile = (dir: string, key: string) => join(dir, `${key}.lock`);
export const servedFile = (dir: string, key: string) => join(dir, `${key}.served`);

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
  try {
    unlinkSync(servedFile(dir, key));
  } catch {
    // none recorded
  }
}

/*
 * Which processes a cached token was handed to. kubectl (client-go) runs the plugin once
 * per process and keeps the credential until it expires; it runs it again only when the
 * server answered 401. So a second request for the same token from the same parent process
 * means the token was rejected (say, the grant was revoked): the plugin must not serve it
 * again but ask Ankra, which then explains what happened. One line per (token, process),
 * appended; reset when a new token is cached.
 */
const servedLine = (entry: CachedToken, ppid: number) => `${entry.issued_at} ${ppid}`;

export function alreadyServed(dir: string, key: string, entry: CachedToken, ppid: number): boolean {
  try {
    return readFileSync(servedFile(dir, key), 'utf8').split('\n').includes(servedLine(entry, ppid));
  } catch {
    return false;
  }
}

export function recordServed(dir: string, key: string, entry: CachedToken, ppid: number): void {
  try {
    appendFileSync(servedFile(dir, key), `${servedLine(entry, ppid)}\n`, { mode: 0o600 });
  } catch {
    // Only a hint for later: never worth failing kubectl over.
  }
}

export function forgetCached(dir: string, key: string): void {
  for (const f of [cacheFile(dir, key), servedFile(dir, key)]) {
    try {
      unlinkSync(f);
    } catch {
      // already gone
    }
  }
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
    if (!name.endsWith('.json')) continue;
    const path = join(dir, name);
    if (baseUrl !== undefined) {
      let owner: unknown;
      try {
        owner = (JSON.parse(readFileSync(path, 'utf8')) as { base_url?: unknown }).base_url;
      } catch {
        owner = undefined; // unreadable: clear it too
      }
      if (owner !== undefined && owner !== baseUrl) continue;
    }
    try {
      unlinkSync(path);
      n++;
    } catch {
      // already gone
    }
    try {
      unlinkSync(servedFile(dir, name.slice(0, -'.json'.length)));
    } catch {
      // none recorded
    }
  }
  return n;
}
