/**
 * Which server, organisation and credential a command uses, decided without touching the
 * keychain, so the exec plugin's fast path can key its cache on it. Node built-ins only.
 *
 * Base URL: --base-url > ANKRA_BASE_URL > the server of the last `ankra login` > the Go
 * CLI's ~/.ankra.yaml > https://platform.ankra.app. The exec plugin skips "the last login":
 * the kubeconfig entries ankra writes pin their server, and an entry without one was written
 * by the Go CLI, which resolves it from the environment and ~/.ankra.yaml only, so a login to
 * another server must not redirect it.
 * Credential (as in Ankra's Go CLI): --token > a saved login (ours, else the Go CLI's
 * ~/.ankra.yaml, whose token is only ever sent to the Go CLI's own server) > ANKRA_API_TOKEN.
 */
import { sha256Hex } from '../core/sha256';
import { DEFAULT_BASE_URL, normalizeBaseUrl, type Paths } from '../core/paths';
import { readConfig, sessionMeta, type ConfigFile, type SessionMeta } from '../core/config';
import { readGoCliLogin, type GoCliLogin } from './gocli';
import { UsageError } from '../errors';

export interface GlobalFlags {
  baseUrl?: string;
  org?: string;
  token?: string;
  caFile?: string;
}

export type BaseUrlOrigin = 'flag' | 'env' | 'login' | 'gocli' | 'default';

export interface Target {
  baseUrl: string;
  baseUrlFrom: BaseUrlOrigin;
  /** As given (a name or an id), or from the settings; undefined means the server's default. */
  org: string | undefined;
  profile: string;
}

export type SourceKind = 'flag' | 'session' | 'env' | 'gocli';

export interface CredentialSource {
  kind: SourceKind;
  /** Stable and secret-free: what the token cache key uses for "who". */
  identity: string;
  /** For flag, env and gocli sources, the API token itself. */
  token?: string;
  session?: SessionMeta;
  /** The Go CLI's login, when that is the source. */
  gocli?: GoCliLogin;
  /** For humans: "API token from ANKRA_API_TOKEN". */
  label: string;
}

export interface Resolved {
  target: Target;
  source: CredentialSource | undefined;
  /** An ANKRA_API_TOKEN that lost to a stronger credential (worth a note on stderr). */
  envTokenIgnored: boolean;
  config: ConfigFile;
}

const fingerprint = (secret: string) => sha256Hex(secret).slice(0, 24);

export function parseBaseUrl(raw: string, from: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`invalid base URL ${JSON.stringify(raw)} (from ${from}): expected an https:// URL`, {
      hint: 'pass e.g. --base-url https://platform.ankra.app',
    });
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new UsageError(`invalid base URL ${JSON.stringify(raw)} (from ${from}): expected an https:// URL`, {
      hint: 'pass e.g. --base-url https://platform.ankra.app',
    });
  }
  return normalizeBaseUrl(raw);
}

export interface ResolveOptions {
  /** Resolving for `cluster kube-token`: never fall back to the last login's server. */
  exec?: boolean;
}

/** The server the Go CLI's token belongs to; an unreadable base-url matches nothing. */
function goCliServer(login: GoCliLogin): string | undefined {
  try {
    return login.baseUrl ? parseBaseUrl(login.baseUrl, '~/.ankra.yaml') : DEFAULT_BASE_URL;
  } catch {
    return undefined;
  }
}

export function resolve(flags: GlobalFlags, env: NodeJS.ProcessEnv, paths: Paths, opts: ResolveOptions = {}): Resolved {
  const config = readConfig(paths.configDir);
  let gocli: GoCliLogin | undefined | null = null; // null: not read yet
  const goCli = () => (gocli === null ? (gocli = readGoCliLogin(paths.goCliConfig)) : gocli);

  let baseUrl: string;
  let baseUrlFrom: BaseUrlOrigin;
  if (flags.baseUrl) [baseUrl, baseUrlFrom] = [parseBaseUrl(flags.baseUrl, '--base-url'), 'flag'];
  else if (env.ANKRA_BASE_URL) [baseUrl, baseUrlFrom] = [parseBaseUrl(env.ANKRA_BASE_URL, 'ANKRA_BASE_URL'), 'env'];
  else if (config.current_base_url && !opts.exec) [baseUrl, baseUrlFrom] = [parseBaseUrl(config.current_base_url, 'ankra settings'), 'login'];
  else if (goCli()?.baseUrl) [baseUrl, baseUrlFrom] = [parseBaseUrl(goCli()?.baseUrl ?? '', '~/.ankra.yaml'), 'gocli'];
  else [baseUrl, baseUrlFrom] = [DEFAULT_BASE_URL, 'default'];

  const profile = env.ANKRA_PROFILE || 'default';
  const org = flags.org || env.ANKRA_ORG || config.servers[baseUrl]?.org?.id || undefined;
  const target: Target = { baseUrl, baseUrlFrom, org, profile };

  const envToken = env.ANKRA_API_TOKEN || undefined;
  const meta = sessionMeta(config, baseUrl, profile);
  let source: CredentialSource | undefined;
  if (flags.token) {
    source = { kind: 'flag', identity: `token:${fingerprint(flags.token)}`, token: flags.token, label: 'API token from --token' };
  } else if (meta) {
    source = {
      kind: 'session',
      identity: `session:${meta.id}`,
      session: meta,
      label: meta.kind === 'oidc' ? 'OIDC session (ankra login --issuer)' : meta.token_id ? 'ankra login' : 'API token (ankra login --with-token)',
    };
  } else {
    const login = goCli();
    if (login?.token && goCliServer(login) === baseUrl) {
      source = { kind: 'gocli', identity: `token:${fingerprint(login.token)}`, token: login.token, label: "login of Ankra's Go CLI (~/.ankra.yaml)", gocli: login };
    } else if (envToken) {
      source = { kind: 'env', identity: `token:${fingerprint(envToken)}`, token: envToken, label: 'API token from ANKRA_API_TOKEN' };
    }
  }
  const envTokenIgnored = envToken !== undefined && source !== undefined && source.kind !== 'env';
  return { target, source, envTokenIgnored, config };
}
