/**
 * What TAB completion offers beyond the kubeconfig: the cluster names and member emails of
 * the last listings, per server and organisation, kept for a day in
 * `$XDG_CACHE_HOME/ankra/completion.json` (0600). Written as a side effect of commands that
 * list them; read by `ankra __complete` without any network call. Never holds a secret.
 * Node built-ins only.
 */
import { join } from 'node:path';
import { isRecord, readJsonFile, writeFileAtomic } from '../core/fsutil';

export const COMPLETION_TTL_MS = 24 * 3_600_000;

export interface CompletionEntry {
  /** epoch ms */
  at: number;
  clusters?: string[];
  members?: string[];
  /** kubectl contexts of Ankra clusters (for `kubeconfig remove`). */
  contexts?: string[];
}

export interface CompletionCache {
  v: 1;
  /** `<base URL> <organisation id>` → the last listings. */
  entries: Record<string, CompletionEntry>;
}

export function completionFile(cacheDir: string): string {
  return join(cacheDir, 'completion.json');
}

export function readCompletionCache(cacheDir: string): CompletionCache {
  const raw = readJsonFile(completionFile(cacheDir));
  return isRecord(raw) && raw.v === 1 && isRecord(raw.entries) ? (raw as unknown as CompletionCache) : { v: 1, entries: {} };
}

/** Remember a listing; failures are ignored (completion is a convenience). */
export function rememberForCompletion(
  cacheDir: string | undefined,
  baseUrl: string,
  orgId: string | undefined,
  what: 'clusters' | 'members' | 'contexts',
  names: string[],
  opts: { merge?: boolean; now?: number } = {},
): void {
  const now = opts.now ?? Date.now();
  if (!cacheDir) return;
  try {
    const cache = readCompletionCache(cacheDir);
    const key = `${baseUrl} ${orgId ?? ''}`;
    const entry = cache.entries[key] ?? { at: 0 };
    const listed = [...new Set([...(opts.merge ? (entry[what] ?? []) : []), ...names])].slice(0, 5000);
    // The same listing, remembered within the last hour: nothing to write.
    if (now - entry.at < 3_600_000 && JSON.stringify(listed) === JSON.stringify(entry[what] ?? null)) return;
    entry[what] = listed;
    entry.at = now;
    cache.entries[key] = entry;
    for (const [k, e] of Object.entries(cache.entries)) if (!isRecord(e) || now - Number(e.at) > COMPLETION_TTL_MS) delete cache.entries[k];
    writeFileAtomic(completionFile(cacheDir), `${JSON.stringify(cache)}\n`, 0o600, { durable: false });
  } catch {
    // a read-only cache dir completes from the kubeconfig only
  }
}
