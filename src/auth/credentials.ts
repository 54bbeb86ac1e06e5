/**
 * "Get me a bearer token": the one function every command and the exec plugin's miss path
 * use. Flag, environment and Go CLI tokens are used as they are; a saved login is read from
 * its store, and an OIDC access token with less than a minute left is refreshed first,
 * under a lock shared by every ankra process, so a rotating refresh token is used once.
 *
 * A saved login that expired or that Ankra rejected is remembered as such in its metadata
 * (when and why), so every later command says so at once instead of "not logged in" or
 * another round trip.
 */
import { join } from 'node:path';
import type { BearerSource } from '../api/ankra';
import { AuthError } from '../errors';
import { updateConfig, type SessionMeta } from '../core/config';
import { withLock } from '../core/lock';
import { sha256Hex } from '../core/sha256';
import { day, parseTime } from '../core/time';
import type { Paths } from '../core/paths';
import type { CredentialSource, Target } from './source';
import { accountName, openStore, type SecretStore } from './store';

/** "not logged in", or how the last login ended. */
export function notLoggedIn(target: Pick<Target, 'baseUrl'>): AuthError {
  return new AuthError(`not logged in to ${target.baseUrl}`, { hint: 'run `ankra login` (in CI, set ANKRA_API_TOKEN)' });
}

/** The error for a session that has ended, with when and why. */
export function sessionEnded(baseUrl: string, ended: NonNullable<SessionMeta['ended']>): AuthError {
  return new AuthError(`your login to ${baseUrl} ${ended.reason} on ${day(parseTime(ended.at))}`, { hint: 'run `ankra login`' });
}

/** What the store keeps for a login (JSON in the keychain entry or the credentials file). */
export type SessionSecret =
  | { kind: 'api_token'; token: string }
  | { kind: 'oidc'; access_token: string; refresh_token?: string; expires_at: string };

/** Refresh when less than this is left on the access token. */
export const REFRESH_MARGIN_MS = 60_000;

export function parseSecret(raw: string | undefined): SessionSecret | undefined {
  if (!raw) return undefined;
  try {
    const s = JSON.parse(raw) as Record<string, unknown>;
    if (s.kind === 'api_token' && typeof s.token === 'string' && s.token) return { kind: 'api_token', token: s.token };
    if (s.kind === 'oidc' && typeof s.access_token === 'string' && typeof s.expires_at === 'string') {
      return {
        kind: 'oidc',
        access_token: s.access_token,
        expires_at: s.expires_at,
        ...(typeof s.refresh_token === 'string' ? { refresh_token: s.refresh_token } : {}),
      };
    }
  } catch {
    // damaged: treated as absent
  }
  return undefined;
}

/**
 * The lock that serialises changes to one login across processes: refreshes (a rotating
 * refresh token is used once), and login and logout replacing or removing the session.
 */
export function sessionLockPath(configDir: string, account: string): string {
  return join(configDir, `session-${sha256Hex(account).slice(0, 16)}.lock`);
}

export interface CredentialDeps {
  paths: Paths;
  env: NodeJS.ProcessEnv;
  caFile: string | undefined;
  debug: (line: string) => void;
  now?: () => number;
}

export class Credentials implements BearerSource {
  private cached: SessionSecret | undefined;
  private store: SecretStore | undefined;

  constructor(
    readonly source: CredentialSource,
    readonly target: Target,
    private readonly deps: CredentialDeps,
  ) {}

  private get now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private get account(): string {
    return accountName(this.target.baseUrl, this.target.profile);
  }

  private get refreshLock(): string {
    return sessionLockPath(this.deps.paths.configDir, this.account);
  }

  email(): string | undefined {
    return this.source.session?.email;
  }

  rejectedHint(): string {
    switch (this.source.kind) {
      case 'flag':
        return 'check the token passed with --token';
      case 'env':
        return 'check ANKRA_API_TOKEN, or run `ankra login`';
      case 'gocli':
        return "the Go CLI's token in ~/.ankra.yaml is no longer valid: run `ankra login`";
      default:
        return 'run `ankra login`';
    }
  }

  async bearer(): Promise<string> {
    if (this.source.token) return this.source.token;
    const meta = this.source.session;
    if (meta?.ended) throw sessionEnded(this.target.baseUrl, meta.ended);
    if (meta?.expires_at && parseTime(meta.expires_at) <= this.now) {
      throw await this.end(`expired`, meta.expires_at);
    }
    const secret = await this.loadSecret();
    if (secret.kind === 'api_token') return secret.token;
    if (Date.parse(secret.expires_at) - this.now > REFRESH_MARGIN_MS) return secret.access_token;
    return (await this.refresh(secret.access_token)).access_token;
  }

  /** After a 401: an OIDC session may have been revoked early; one refresh is worth a try. */
  async renew(): Promise<boolean> {
    const secret = this.cached;
    if (secret?.kind !== 'oidc' || !secret.refresh_token) return false;
    try {
      await this.refresh(secret.access_token);
      return true;
    } catch (err) {
      // "session expired: run `ankra login`" says more than the 401 that led here.
      if (err instanceof AuthError) throw err;
      return false;
    }
  }

  /** Ankra refused the credential (a 401 that no refresh could mend): remember it for a saved login. */
  async rejected(detail: string | undefined): Promise<AuthError> {
    const why = detail ? ` (${detail})` : '';
    if (this.source.kind !== 'session') {
      return new AuthError(`the Ankra API at ${this.target.baseUrl} rejected the ${this.source.label}${why}`, { hint: this.rejectedHint() });
    }
    await this.end('was rejected by Ankra (revoked, expired or replaced)').catch(() => undefined);
    return new AuthError(`Ankra rejected your login to ${this.target.baseUrl}${why}: it was revoked, expired or replaced`, { hint: 'run `ankra login`' });
  }

  /**
   * Marks this login as ended (only if it is still the saved one: a login that completed
   * meanwhile is kept) and returns the error to show.
   */
  private async end(reason: string, at = new Date(this.now).toISOString()): Promise<AuthError> {
    const { baseUrl, profile } = this.target;
    const id = this.source.session?.id;
    const ended = { at, reason };
    await updateConfig(this.deps.paths.configDir, (cfg) => {
      const session = cfg.servers[baseUrl]?.sessions?.[profile];
      if (session && session.id === id) session.ended = ended;
    });
    return sessionEnded(baseUrl, ended);
  }

  /** The access token's expiry for `auth status`, when it is an OIDC session. */
  async sessionSecret(): Promise<SessionSecret> {
    return this.loadSecret();
  }

  private async openSessionStore(meta: SessionMeta): Promise<SecretStore> {
    this.store ??= await openStore(meta.store, this.deps.paths.configDir);
    return this.store;
  }

  private async loadSecret(): Promise<SessionSecret> {
    if (this.cached) return this.cached;
    const meta = this.source.session;
    if (!meta) throw new AuthError(`not logged in to ${this.target.baseUrl}`, { hint: 'run `ankra login`' });
    const store = await this.openSessionStore(meta);
    const secret = parseSecret(await store.get(this.account));
    if (!secret) {
      throw new AuthError(`your login to ${this.target.baseUrl} is gone from ${store.where}`, { hint: 'run `ankra login`' });
    }
    this.cached = secret;
    return secret;
  }

  /**
   * Refresh under the cross-process lock. `stale` is the access token we found too old:
   * if the store holds another one when we get the lock, someone refreshed already.
   */
  private async refresh(stale: string): Promise<Extract<SessionSecret, { kind: 'oidc' }>> {
    const meta = this.source.session;
    if (!meta?.issuer || !meta.client_id) throw new AuthError('your session cannot be refreshed', { hint: 'run `ankra login`' });
    const store = await this.openSessionStore(meta);
    return withLock(this.refreshLock, { what: 'the session refresh', timeoutMs: 60_000 }, async () => {
      const current = parseSecret(await store.get(this.account));
      if (current?.kind === 'oidc' && current.access_token !== stale && Date.parse(current.expires_at) - this.now > REFRESH_MARGIN_MS) {
        this.cached = current;
        return current;
      }
      if (current?.kind !== 'oidc' || !current.refresh_token) throw await this.end('expired');
      const { refreshTokens, SessionRejected } = await import('./oidc');
      try {
        const t = await refreshTokens(
          { issuer: meta.issuer ?? '', clientId: meta.client_id ?? '', caFile: this.deps.caFile, env: this.deps.env, debug: this.deps.debug },
          current.refresh_token,
        );
        const next: Extract<SessionSecret, { kind: 'oidc' }> = {
          kind: 'oidc',
          access_token: t.access_token,
          refresh_token: t.refresh_token ?? current.refresh_token,
          expires_at: t.expires_at,
        };
        await store.set(this.account, JSON.stringify(next));
        this.cached = next;
        this.deps.debug('refreshed the session access token');
        return next;
      } catch (err) {
        if (err instanceof SessionRejected) throw await this.end(`expired (the identity provider refused to refresh it: ${err.reason})`);
        throw err;
      }
    });
  }
}
