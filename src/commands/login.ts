/**
 * `ankra login`: Ankra's CLI login (a browser approval, polled with PKCE; the result is a
 * named, revocable Ankra API token kept in the OS keychain); `--issuer/--client-id` for
 * deployments behind an OIDC identity provider (RFC 8628 device flow); `--with-token` to
 * store an API token read from stdin (CI). A login replaces the previous one only once it
 * has succeeded, and revokes the token it replaces.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { defineCommand, flag } from '../cli/spec';
import type { Deps } from '../deps';
import type { SessionMeta } from '../core/config';
import type { Organisation } from '../api/types';
import { readConfig, updateConfig } from '../core/config';
import { day, parseTime, relative } from '../core/time';
import { AnkraError, AuthError, CancelledError, CredentialRejectedError, UsageError, messageOf, oneLine } from '../errors';
import { isCI } from '../ui/browser';
import { canOpenBrowser, openBrowser } from '../ui/browser';
import { stdinIsTTY } from '../ui/stdio';
import type { SessionSecret } from '../auth/credentials';
import { chooseSessionStore, printStoreNotice, saveSession } from '../auth/session';
import type { SecretStore } from '../auth/store';
import { readGoCliMachineId } from '../auth/gocli';

const POLL_MS = 2_000;
const LOGIN_TIMEOUT_MS = 10 * 60_000;

export default defineCommand({
  path: ['login'],
  aliases: [['auth', 'login']],
  summary: 'log in to Ankra in your browser (or store an API token with --with-token)',
  details:
    'Prints a link (and a QR code on a terminal) and opens your browser: sign in there and approve the CLI. ' +
    'The result is a named Ankra API token ("CLI Login"), kept in your OS keychain and revoked by `ankra logout`. ' +
    'Where nobody can approve (CI), use `ankra login --with-token` or ANKRA_API_TOKEN.',
  args: {},
  flags: {
    noBrowser: flag.bool('do not open a browser; print the link only'),
    withToken: flag.bool('read an Ankra API token from stdin (for CI)'),
    issuer: flag.string('url', 'an OIDC issuer in front of Ankra (with --client-id): log in with its device flow instead'),
    clientId: flag.string('id', 'the OIDC client id (with --issuer)'),
  },
  examples: ['ankra login', 'ankra --base-url https://ankra.example.com login', 'echo "$ANKRA_TOKEN" | ankra login --with-token'],
  check(o) {
    if (Boolean(o.issuer) !== Boolean(o.clientId)) throw new UsageError('--issuer and --client-id go together', { hint: 'pass both, or neither for Ankra\'s own login' });
    if (o.withToken && o.issuer) throw new UsageError('--with-token takes no --issuer/--client-id', { hint: 'pipe an API token: `echo "$ANKRA_TOKEN" | ankra login --with-token`' });
    if (o.issuer) parseIssuer(o.issuer);
  },
  async run(opts, deps) {
    if (deps.flags.token) throw new UsageError('--token cannot be combined with login', { hint: 'pipe the token: `echo "$TOKEN" | ankra login --with-token`' });
    if (opts.withToken) return loginWithToken(deps);
    if (opts.issuer && opts.clientId) return loginWithDevice(deps, opts.issuer, opts.clientId, !opts.noBrowser);
    return loginInBrowser(deps, !opts.noBrowser);
  },
});

function parseIssuer(raw: string): URL {
  try {
    const u = new URL(raw);
    if (u.protocol === 'https:' || u.protocol === 'http:') return u;
  } catch {
    // below
  }
  throw new UsageError(`invalid --issuer ${JSON.stringify(raw)}: expected an https:// URL`, { hint: 'pass e.g. --issuer https://login.example.com --client-id ankra-cli' });
}

/** A person can approve a login in a browser: not CI, and a terminal on stdin or stderr. */
function requirePerson(deps: Deps): void {
  if (isCI(deps.env) || (!deps.out.stderrIsTTY && !stdinIsTTY())) {
    throw new AuthError(`nobody can approve a browser login here (${isCI(deps.env) ? 'CI is set' : 'no terminal'})`, {
      hint: 'use an API token: `echo "$ANKRA_TOKEN" | ankra login --with-token`, or set ANKRA_API_TOKEN',
    });
  }
}

/** With -o json|yaml, what the login produced (never a secret). */
async function printResult(deps: Deps, r: Record<string, unknown>): Promise<void> {
  await deps.out.result({ server: deps.target.baseUrl, ...r });
}

function readStdinToken(): string {
  // A terminal on stdin would wait for a token typed there, echoed: ask for a pipe instead.
  if (stdinIsTTY()) throw new UsageError('--with-token reads the token from stdin', { hint: 'pipe it: `echo "$ANKRA_TOKEN" | ankra login --with-token`' });
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

/** Who the token belongs to, from the organisation's member list (best effort). */
async function whoIs(deps: Deps, token: string, known?: Organisation[]): Promise<string | undefined> {
  try {
    const { AnkraApi } = await import('../api/ankra');
    const api = new AnkraApi(await deps.http(), { bearer: async () => token, rejectedHint: () => '' }, undefined);
    const orgs = known ?? (await api.organisations());
    const org = orgs.find((o) => o.user_current) ?? orgs[0];
    if (!org) return undefined;
    return (await api.organisation(org.organisation_id)).users.find((u) => u.user_current)?.email ?? undefined;
  } catch (err) {
    deps.debug(`could not learn the login's email: ${messageOf(err)}`);
    return undefined;
  }
}

async function loginWithToken(deps: Deps): Promise<number> {
  const token = readStdinToken();
  // A store forced by ANKRA_CREDENTIAL_STORE is checked first (a missing keychain fails before
  // anything is sent); otherwise the token is checked first.
  const forced = Boolean(deps.env.ANKRA_CREDENTIAL_STORE);
  let choice = forced ? await chooseSessionStore(deps) : undefined;
  const { AnkraApi } = await import('../api/ankra');
  const probe = new AnkraApi(await deps.http(), { bearer: async () => token, rejectedHint: () => 'check the token (it may be expired or revoked); nothing was saved' }, undefined);
  const email = await whoIs(deps, token, await probe.organisations());
  choice ??= await chooseSessionStore(deps);
  const { store } = choice;
  await finish(deps, store, { kind: 'api_token', token }, { kind: 'api_token', ...(email ? { email } : {}) });
  deps.out.success(`Logged in to ${deps.target.baseUrl}${email ? ` as ${email}` : ''} with an API token (kept in ${store.where})`);
  printStoreNotice(deps, choice);
  await printResult(deps, { method: 'api_token', email: email ?? null, store: store.kind, store_location: store.where });
  return 0;
}

/** Ankra's CLI login: init, a browser approval, polls. */
async function loginInBrowser(deps: Deps, browser: boolean): Promise<number> {
  requirePerson(deps);
  // Where the secret will go is settled first: a keychain forced but missing fails before anyone approves anything.
  const choice = await chooseSessionStore(deps);
  const { pkcePair, machineId, startLogin, waitForApproval } = await import('../auth/cli-login');
  const api = await deps.anonymousApi();
  const pkce = pkcePair();
  // ours, else the one Ankra's Go CLI keeps (so both CLIs are one machine), else derived as it does
  const machine = { id: readConfig(deps.paths.configDir).machine_id ?? readGoCliMachineId(deps.paths.goCliConfig) ?? machineId(), name: hostname() };
  const init = await startLogin(api, pkce, machine);
  const url = oneLine(init.auth_url);
  const out = deps.out;
  out.info(`To log in to ${deps.target.baseUrl}, open this link and approve the CLI:`);
  out.info(`  ${out.paint(url, 'cyan', 'err')}`);
  await out.qrCode(url);
  if (browser && canOpenBrowser(deps.env)) openBrowser(url, deps.env);

  const progress = await out.progress('Waiting for you to sign in and approve in the browser (Ctrl-C to cancel)');
  let approved;
  try {
    approved = await waitForApproval(api, init.ticket, pkce, {
      signal: deps.signal,
      timing: { intervalMs: Number(deps.env.ANKRA_LOGIN_POLL_MS) > 0 ? Number(deps.env.ANKRA_LOGIN_POLL_MS) : POLL_MS, timeoutMs: LOGIN_TIMEOUT_MS },
      onStatus: (s) => progress.update(s === 'mfa_pending' ? 'Finish two-factor authentication in your browser…' : 'Approve the sign-in in your browser…'),
      debug: deps.debug,
    });
  } catch (err) {
    progress.stop();
    if (err instanceof CancelledError) throw new CancelledError('login cancelled; any previous login is unchanged');
    throw err instanceof AnkraError && !(err instanceof AuthError) ? new AnkraError(`login failed: ${err.message}`, err.exitCode, { hint: err.hint ?? 'run `ankra login` again' }) : err;
  }
  progress.stop();
  const { store } = choice;
  const email = await whoIs(deps, approved.token);
  await updateConfig(deps.paths.configDir, (cfg) => {
    cfg.machine_id ??= machine.id;
  });
  await finish(deps, store, { kind: 'api_token', token: approved.token }, {
    kind: 'api_token',
    ...(email ? { email } : {}),
    ...(approved.token_id ? { token_id: approved.token_id } : {}),
    ...(approved.token_name ? { token_name: approved.token_name } : {}),
    ...(approved.expires_at ? { expires_at: approved.expires_at } : {}),
  });
  const expiry = approved.expires_at ? parseTime(approved.expires_at) : NaN;
  const name = approved.token_name ? ` (token "${approved.token_name}"${Number.isFinite(expiry) ? `, expires ${day(expiry)}, ${relative(expiry, deps.now())}` : ''})` : '';
  out.success(`Logged in to ${deps.target.baseUrl}${email ? ` as ${email}` : ''}${name}; kept in ${store.where}`);
  printStoreNotice(deps, choice);
  await printResult(deps, { method: 'ankra_login', email: email ?? null, token_name: approved.token_name ?? null, expires_at: approved.expires_at ?? null, store: store.kind, store_location: store.where });
  return 0;
}

/** Saves the new login, then revokes the token of an Ankra login it replaced (best effort). */
async function finish(deps: Deps, store: SecretStore, secret: SessionSecret, meta: Omit<SessionMeta, 'id' | 'store' | 'created_at'>, oidc?: { issuer: string; client_id: string }): Promise<void> {
  const { previous, previousSecret } = await saveSession(deps, store, secret, meta, oidc);
  if (previous?.token_id && previousSecret?.kind === 'api_token' && previousSecret.token !== (secret.kind === 'api_token' ? secret.token : '')) {
    try {
      const { AnkraApi } = await import('../api/ankra');
      await new AnkraApi(await deps.http(), { bearer: async () => previousSecret.token, rejectedHint: () => '' }, undefined).revokeApiToken(previous.token_id);
      deps.debug(`revoked the replaced login's token ${previous.token_id}`);
    } catch (err) {
      // Refused credentials: that token no longer works (expired or revoked), nothing to do.
      if (err instanceof CredentialRejectedError) deps.debug(`the replaced login's token was refused already (${messageOf(err)}): nothing to revoke`);
      else deps.out.warn(`could not revoke the token of the login this one replaces (${messageOf(err)}); it stays valid until it expires`);
    }
  }
}

const minutes = (s: number) => (s >= 90 ? `${Math.round(s / 60)} min` : `${Math.max(1, Math.round(s))} s`);

/** The OIDC device flow, for deployments that put an identity provider in front of Ankra. */
async function loginWithDevice(deps: Deps, issuer: string, clientId: string, browser: boolean): Promise<number> {
  const choice = await chooseSessionStore(deps);
  const { store } = choice;
  const { startDeviceLogin } = await import('../auth/oidc');
  const oidc = { issuer, clientId, caFile: deps.caFile, env: deps.env, debug: deps.debug };
  const device = await startDeviceLogin(oidc, ['openid', 'email', 'profile', 'offline_access']);
  const out = deps.out;
  const uri = oneLine(device.verificationUri);
  const complete = device.verificationUriComplete ? oneLine(device.verificationUriComplete) : undefined;
  out.info(`To log in to ${deps.target.baseUrl}, open ${out.paint(uri, 'cyan', 'err')} and enter the code ${out.paint(oneLine(device.userCode), 'bold', 'err')}`);
  if (complete) out.info(`(or open ${complete})`);
  await out.qrCode(complete ?? uri);
  if (browser && canOpenBrowser(deps.env)) openBrowser(complete ?? uri, deps.env);
  const progress = await out.progress(`Waiting for you to approve the login (the code expires in ${minutes(device.expiresInS)})`);
  let tokens;
  try {
    tokens = await device.wait(deps.signal);
  } catch (err) {
    if (deps.signal.aborted) throw new CancelledError('login cancelled; any previous login is unchanged');
    throw err;
  } finally {
    progress.stop();
  }
  const claims = tokens.claims;
  await finish(
    deps,
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
  out.success(`Logged in to ${deps.target.baseUrl} as ${claims?.email ?? claims?.sub ?? 'you'} (session kept in ${store.where})`);
  printStoreNotice(deps, choice);
  await printResult(deps, { method: 'oidc', email: claims?.email ?? null, store: store.kind, store_location: store.where });
  if (!tokens.refresh_token) out.warn('the identity provider issued no refresh token: you will need to log in again when the session expires');
  return 0;
}
