/**
 * `ankra login`: the OIDC device authorization grant (RFC 8628) against the issuer the
 * Ankra API advertises, or `--with-token` to store an API token read from stdin. The new
 * login replaces the old one only once it has succeeded: a denied, expired or cancelled
 * login leaves the previous session as it was.
 */
import { readFileSync } from 'node:fs';
import type { Context } from '../../context';
import { AnkraApi } from '../../api/ankra';
import type { OidcDiscovery } from '../../api/types';
import { AnkraError, CancelledError, Exit, NotFoundError, UsageError, oneLine } from '../../errors';
import { startDeviceLogin, type OidcClientOptions, type TokenResult } from '../../auth/oidc';
import { canOpenBrowser, openBrowser } from '../../ui/browser';
import { stdinIsTTY } from '../../ui/stdio';
import { chooseSessionStore, printStoreNotice, saveSession } from './session';

export interface Options {
  issuer?: string;
  clientId?: string;
  browser: boolean;
  withToken: boolean;
}

export async function run(ctx: Context, opts: Options): Promise<number> {
  if (ctx.global.token) throw new UsageError('--token cannot be combined with login', { hint: 'pipe the token: `echo "$TOKEN" | ankra login --with-token`' });
  if (Boolean(opts.issuer) !== Boolean(opts.clientId)) {
    throw new UsageError('--issuer and --client-id go together', { hint: 'pass both, or neither to use what the Ankra API advertises' });
  }
  if (opts.withToken && opts.issuer) throw new UsageError('--with-token takes no --issuer/--client-id', { hint: 'pipe an API token: `echo "$ANKRA_TOKEN" | ankra login --with-token`' });
  if (opts.issuer) parseIssuer(opts.issuer);
  return opts.withToken ? loginWithToken(ctx) : loginWithDevice(ctx, opts);
}

function parseIssuer(raw: string): URL {
  try {
    const u = new URL(raw);
    if (u.protocol === 'https:' || u.protocol === 'http:') return u;
  } catch {
    // below
  }
  throw new UsageError(`invalid --issuer ${JSON.stringify(raw)}: expected an https:// URL`, { hint: 'pass e.g. --issuer https://login.example.com --client-id ankra-cli' });
}

function readStdinToken(): string {
  // A terminal on stdin would wait for a token typed there, echoed: ask for a pipe instead.
  if (stdinIsTTY()) {
    throw new UsageError('--with-token reads the token from stdin', { hint: 'pipe it: `echo "$ANKRA_TOKEN" | ankra login --with-token`' });
  }
  let raw: string;
  try {
    raw = readFileSync(0, 'utf8');
  } catch {
    raw = '';
  }
  const token = raw.trim();
  const hint = 'pipe exactly one token: `echo "$ANKRA_TOKEN" | ankra login --with-token`';
  if (!token) throw new UsageError('no API token on stdin', { hint });
  if (/\s/.test(token)) throw new UsageError('expected one API token on stdin, got several words', { hint });
  return token;
}

/** With -o json|yaml, what the login produced (never a secret). */
async function printResult(ctx: Context, r: { method: 'oidc' | 'api_token'; email: string | null; store: string; store_location: string }): Promise<void> {
  if (ctx.out.format !== 'table') await ctx.out.data({ server: ctx.target.baseUrl, ...r }, undefined);
}

async function loginWithToken(ctx: Context): Promise<number> {
  const token = readStdinToken();
  // A store forced by ANKRA_CREDENTIAL_STORE is checked first (a missing keychain fails before
  // anything is sent); otherwise the token is checked first, so a rejected one is not preceded
  // by a warning about where it would have been kept.
  const forced = Boolean(ctx.env.ANKRA_CREDENTIAL_STORE);
  let choice = forced ? await chooseSessionStore(ctx) : undefined;
  // One call proves the token works before anything is stored.
  const probe = new AnkraApi(ctx.http(), { bearer: async () => token, rejectedHint: () => 'check the token (it may be expired or revoked); nothing was saved' }, undefined);
  await probe.organisations();
  choice ??= await chooseSessionStore(ctx);
  const { store } = choice;
  await saveSession(ctx, store, { kind: 'api_token', token }, { kind: 'api_token' });
  ctx.out.success(`Logged in to ${ctx.target.baseUrl} with an API token (kept in ${store.where})`);
  printStoreNotice(ctx, choice);
  await printResult(ctx, { method: 'api_token', email: null, store: store.kind, store_location: store.where });
  return 0;
}

/** The issuer the Ankra API advertises (`GET /api/v1/cli/oidc`), unauthenticated. */
async function discover(ctx: Context): Promise<OidcDiscovery> {
  try {
    return await new AnkraApi(ctx.http(), undefined, undefined).oidcDiscovery();
  } catch (err) {
    if (err instanceof NotFoundError) {
      throw new AnkraError(`${ctx.target.baseUrl} does not advertise an identity provider for the CLI (GET /api/v1/cli/oidc: not found)`, Exit.FAILURE, {
        hint: 'pass --issuer URL --client-id ID, or store an API token with `ankra login --with-token`',
      });
    }
    throw err;
  }
}

const minutes = (s: number) => (s >= 90 ? `${Math.round(s / 60)} min` : `${Math.max(1, Math.round(s))} s`);

async function loginWithDevice(ctx: Context, opts: Options): Promise<number> {
  const choice = await chooseSessionStore(ctx);
  const { store } = choice;
  const discovered = opts.issuer ? undefined : await discover(ctx);
  const issuer = opts.issuer ?? discovered?.issuer ?? '';
  const clientId = opts.clientId ?? discovered?.client_id ?? '';
  const scopes = discovered?.scopes ?? ['openid', 'email', 'profile', 'offline_access'];
  const oidc: OidcClientOptions = { issuer, clientId, caFile: ctx.caFile, env: ctx.env, debug: ctx.debug };

  const device = await startDeviceLogin(oidc, scopes);
  const out = ctx.out;
  // The identity provider's words, shown on the terminal: cleaned first.
  const uri = oneLine(device.verificationUri);
  const complete = device.verificationUriComplete ? oneLine(device.verificationUriComplete) : undefined;
  out.info(`To log in to ${ctx.target.baseUrl}, open ${out.paint(uri, 'cyan', 'err')} and enter the code ${out.paint(oneLine(device.userCode), 'bold', 'err')}`);
  if (complete) out.info(`(or open ${complete})`);
  await out.qrCode(complete ?? uri);
  if (opts.browser && canOpenBrowser(ctx.env)) openBrowser(complete ?? uri, ctx.env);

  // Ctrl-C cancels the wait at once; the previous session, if any, is left as it was.
  const abort = new AbortController();
  const previous = process.rawListeners('SIGINT');
  process.removeAllListeners('SIGINT');
  const onSigint = () => abort.abort();
  process.on('SIGINT', onSigint);
  const progress = await out.progress(`Waiting for you to approve the login (the code expires in ${minutes(device.expiresInS)})`);
  let tokens: TokenResult;
  try {
    tokens = await device.wait(abort.signal);
  } catch (err) {
    if (abort.signal.aborted) throw new CancelledError('login cancelled; any previous login is unchanged');
    throw err;
  } finally {
    progress.stop();
    process.removeListener('SIGINT', onSigint);
    for (const l of previous) process.on('SIGINT', l as () => void);
  }

  const claims = tokens.claims;
  await saveSession(
    ctx,
    store,
    { kind: 'oidc', access_token: tokens.access_token, ...(tokens.refresh_token ? { refresh_token: tokens.refresh_token } : {}), expires_at: tokens.expires_at },
    {
      kind: 'oidc',
      issuer,
      client_id: clientId,
      ...(claims?.email ? { email: claims.email } : {}),
      ...(claims?.sub ? { subject: claims.sub } : {}),
      ...(claims?.name ? { name: claims.name } : {}),
    },
    { issuer, client_id: clientId },
  );
  out.success(`Logged in to ${ctx.target.baseUrl} as ${claims?.email ?? claims?.sub ?? 'you'} (session kept in ${store.where})`);
  printStoreNotice(ctx, choice);
  await printResult(ctx, { method: 'oidc', email: claims?.email ?? null, store: store.kind, store_location: store.where });
  if (!tokens.refresh_token) out.warn('the identity provider issued no refresh token: you will need to log in again when the session expires');
  return 0;
}
