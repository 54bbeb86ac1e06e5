/**
 * ankra's settings file, `$XDG_CONFIG_HOME/ankra/config.json` (0600): the current base URL,
 * and per server the default organisation and cluster, the OIDC client, and the metadata
 * (never the secret) of each profile's session. Node built-ins only: the exec-credential
 * fast path reads it to learn which login its cached tokens belong to.
 */
import { join } from 'node:path';
import { isRecord, readJsonFile, writeFileAtomic } from './fsutil';
import { withLock } from './lock';

export interface NamedRef {
  id: string;
  name: string;
}

export type SessionKind = 'oidc' | 'api_token';
export type StoreKind = 'keychain' | 'file';

/** What is known about a login without reading its secret. */
export interface SessionMeta {
  /** Random per login: part of the token-cache key, so a new login never sees old tokens. */
  id: string;
  kind: SessionKind;
  store: StoreKind;
  email?: string;
  subject?: string;
  name?: string;
  issuer?: string;
  client_id?: string;
  created_at: string;
  /** Ankra's CLI login: the API token's id (to revoke it), name and expiry. */
  token_id?: string;
  token_name?: string;
  expires_at?: string;
  /** Set when the session expired or Ankra rejected it: later commands say so instead of "not logged in". */
  ended?: { at: string; reason: string };
}

export interface ServerConfig {
  org?: NamedRef;
  /** Default cluster per organisation id ('' when no organisation was chosen). */
  clusters?: Record<string, NamedRef>;
  oidc?: { issuer: string; client_id: string };
  sessions?: Record<string, SessionMeta>;
}

export interface ConfigFile {
  version: 1;
  current_base_url?: string;
  servers: Record<string, ServerConfig>;
  /** Ankra's CLI login identifies this machine with a stable id (as the Go CLI does). */
  machine_id?: string;
  /** The file store has been announced once (see auth/store.ts). */
  file_store_noticed?: boolean;
}

export function configPath(configDir: string): string {
  return join(configDir, 'config.json');
}

/** Read the settings; a missing or damaged file reads as empty (it is rewritten on the next save). */
export function readConfig(configDir: string): ConfigFile {
  const raw = readJsonFile(configPath(configDir));
  if (!isRecord(raw) || !isRecord(raw.servers)) return { version: 1, servers: {} };
  return raw as unknown as ConfigFile;
}

export function sessionMeta(cfg: ConfigFile, baseUrl: string, profile: string): SessionMeta | undefined {
  const s = cfg.servers[baseUrl]?.sessions?.[profile];
  return isRecord(s) && typeof s.id === 'string' ? s : undefined;
}

/** Read-modify-write under a lock, so concurrent ankra processes do not lose each other's changes. */
export async function updateConfig(configDir: string, mutate: (cfg: ConfigFile) => void): Promise<ConfigFile> {
  const path = configPath(configDir);
  return withLock(`${path}.lock`, { what: path, timeoutMs: 10_000 }, async () => {
    const cfg = readConfig(configDir);
    mutate(cfg);
    writeFileAtomic(path, `${JSON.stringify(cfg, null, 2)}\n`);
    return cfg;
  });
}

export function serverConfig(cfg: ConfigFile, baseUrl: string): ServerConfig {
  let s = cfg.servers[baseUrl];
  if (!s) {
    s = {};
    cfg.servers[baseUrl] = s;
  }
  return s;
}
