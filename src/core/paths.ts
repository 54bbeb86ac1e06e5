/**
 * Where ankra keeps its files (XDG base directories). Node built-ins only: the
 * exec-credential fast path uses it.
 */
import { homedir } from 'node:os';
import { join, isAbsolute } from 'node:path';

export interface Paths {
  home: string;
  /** Settings and, without a keychain, credentials: `$XDG_CONFIG_HOME/ankra`. */
  configDir: string;
  /** `$XDG_CACHE_HOME/ankra`: completion listings, the code cache. */
  cacheDir: string;
  /** Minted Kubernetes tokens: `$XDG_CACHE_HOME/ankra/tokens`. */
  tokenDir: string;
  /** Ankra's Go CLI login, read as a fallback credential, never written. */
  goCliConfig: string;
}

function xdg(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const v = env[name];
  // The XDG spec says relative values are invalid and must be ignored.
  return v && isAbsolute(v) ? v : fallback;
}

export function resolvePaths(env: NodeJS.ProcessEnv): Paths {
  const home = env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir();
  const config = xdg(env, 'XDG_CONFIG_HOME', join(home, '.config'));
  const cache = xdg(env, 'XDG_CACHE_HOME', join(home, '.cache'));
  return {
    home,
    configDir: join(config, 'ankra'),
    cacheDir: join(cache, 'ankra'),
    tokenDir: join(cache, 'ankra', 'tokens'),
    goCliConfig: join(home, '.ankra.yaml'),
  };
}

export const DEFAULT_BASE_URL = 'https://platform.ankra.app';

/** Canonical form of a base URL, so `https://X/` and `https://x` share settings and caches. */
export function normalizeBaseUrl(raw: string): string {
  const u = new URL(raw);
  u.hash = '';
  u.search = '';
  let s = u.toString();
  while (s.endsWith('/')) s = s.slice(0, -1);
  return s;
}
