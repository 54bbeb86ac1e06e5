/**
 * Where ankra keeps its files (XDG base directories). Node built-ins only: the
 * exec-credential fast path uses it.
 *
 * Every path is absolute. The home directory is HOME when that is an absolute path; when
 * HOME is unset, the user's entry in the password database; otherwise (HOME empty or
 * relative, or unset for a uid without a passwd entry, as under OpenShift or
 * `docker run --user N`) it is unknown: `home` is then NO_HOME, a directory that does not
 * exist, and `homeProblem` says why. Nothing is ever resolved against the current directory.
 */
import { userInfo } from 'node:os';
import { join, isAbsolute } from 'node:path';

export interface Paths {
  home: string;
  /** Why the home directory is unknown (then `home` is NO_HOME); undefined when known. */
  homeProblem?: string;
  /** Settings and, without a keychain, credentials: `$XDG_CONFIG_HOME/ankra`. */
  configDir: string;
  /** `$XDG_CACHE_HOME/ankra`: completion listings, the code cache. */
  cacheDir: string;
  /** Minted Kubernetes tokens: `$XDG_CACHE_HOME/ankra/tokens`. */
  tokenDir: string;
  /**
   * Set when tokenDir cannot be trusted to exist or be private because it was derived from
   * an unknown home: the token cache is then not used, and this says why and what to do.
   */
  tokenDirProblem?: string;
  /** Ankra's Go CLI login, read as a fallback credential, never written. */
  goCliConfig: string;
}

/** Stands for an unknown home directory: absolute, and (by Debian's convention) never there. */
export const NO_HOME = '/nonexistent';

function xdg(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  // The XDG spec says relative values are invalid and must be ignored.
  return v && isAbsolute(v) ? v : undefined;
}

/** The home directory, or why there is none. Never throws (os.homedir() can). */
export function resolveHome(env: NodeJS.ProcessEnv): { home: string } | { problem: string } {
  const h = env.HOME;
  if (h !== undefined) {
    if (h !== '' && isAbsolute(h)) return { home: h };
    return { problem: h === '' ? 'HOME is set but empty' : `HOME is not an absolute path (${JSON.stringify(h)})` };
  }
  try {
    const fromPasswd = userInfo().homedir;
    if (fromPasswd && isAbsolute(fromPasswd)) return { home: fromPasswd };
  } catch {
    // no passwd entry for this uid
  }
  const uid = process.getuid?.();
  return { problem: `HOME is not set and ${uid === undefined ? 'this user' : `uid ${uid}`} has no home directory` };
}

export function resolvePaths(env: NodeJS.ProcessEnv): Paths {
  const h = resolveHome(env);
  const home = 'home' in h ? h.home : NO_HOME;
  const homeProblem = 'problem' in h ? h.problem : undefined;
  const config = xdg(env, 'XDG_CONFIG_HOME') ?? join(home, '.config');
  const cacheRoot = xdg(env, 'XDG_CACHE_HOME');
  const paths: Paths = {
    home,
    configDir: join(config, 'ankra'),
    cacheDir: join(cacheRoot ?? join(home, '.cache'), 'ankra'),
    tokenDir: join(cacheRoot ?? join(home, '.cache'), 'ankra', 'tokens'),
    goCliConfig: join(home, '.ankra.yaml'),
  };
  if (homeProblem) {
    paths.homeProblem = homeProblem;
    if (!cacheRoot) paths.tokenDirProblem = `${homeProblem}; set HOME, or XDG_CACHE_HOME to a private directory of yours`;
  }
  return paths;
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
