/**
 * A saved session end to end: refresh of an OIDC session (a deployment with an identity
 * provider in front of Ankra) after the access token expires (also from the exec plugin's
 * cache-miss path, and once for many processes at a time), a refresh token the issuer
 * rejects and an API token Ankra rejects (remembered: later commands say when and why),
 * logout (secret, token cache, server-side revocation; --local-only; the server down),
 * `login --with-token`, and `auth status -o json` for every way of being authenticated.
 * The built binary against the in-process emulator over HTTPS.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ankra, findSecrets, sandbox, type RunResult, type Sandbox } from './helpers/cli';
import { EMAIL, IDS, startEmulator, type EmulatorHandle, type InProcessEmulator } from './helpers/emulator';
import { cachedTokenFiles, credentialsPath, fileSecret, secretStrings, settingsPath, type OidcSecret } from './helpers/login';

let emu: InProcessEmulator;
const boxes: Sandbox[] = [];
const STAGING = IDS.clusters.staging;

function box(extra: NodeJS.ProcessEnv = {}, server: EmulatorHandle = emu): Sandbox {
  const sb = sandbox({ ANKRA_BASE_URL: server.baseUrl, ANKRA_CA_FILE: server.caFile, ...extra });
  boxes.push(sb);
  return sb;
}

async function prepare(server: EmulatorHandle): Promise<void> {
  await server.hook('POST', 'ttl', { poll_interval_s: 0.05 });
  await server.hook('POST', 'oidc/auto-approve', { email: EMAIL.alice });
  const grant = await server.api('POST', `/api/v1/clusters/${STAGING}/access/grants`, {
    token: server.tokens[EMAIL.admin],
    body: { user_email: EMAIL.alice, scope: 'cluster', role: 'view' },
  });
  expect([200, 201]).toContain(grant.status);
}

/**
 * Logs in as alice (approved unattended). With `expiring`, the access token is issued with
 * 30 s to live, under the CLI's 60 s refresh margin, so the next command must refresh; the
 * tokens issued after that live the default 300 s again.
 */
async function login(env: NodeJS.ProcessEnv, opts: { expiring?: boolean; server?: EmulatorHandle } = {}): Promise<OidcSecret> {
  const server = opts.server ?? emu;
  if (opts.expiring) await server.hook('POST', 'ttl', { access_token_s: 30 });
  try {
    const r = await ankra(['login', '--issuer', server.issuer, '--client-id', 'ankra-cli', '--no-browser'], { env });
    expect(r.code, r.stderr).toBe(0);
  } finally {
    if (opts.expiring) await server.hook('POST', 'ttl', { access_token_s: 300 });
  }
  const s = fileSecret(env, server.baseUrl);
  if (s?.kind !== 'oidc') throw new Error('no OIDC session saved');
  return s;
}

/** Any command that needs the login: the organisation's clusters. */
const listGrants = (env: NodeJS.ProcessEnv) => ankra(['cluster', 'list', '-o', 'json'], { env });
const kubeToken = (env: NodeJS.ProcessEnv, ...extra: string[]) => ankra([...extra, 'cluster', 'kube-token', '--cluster', STAGING], { env });

async function status(env: NodeJS.ProcessEnv): Promise<RunResult & { json: Record<string, unknown> }> {
  const r = await ankra(['auth', 'status', '-o', 'json'], { env });
  return { ...r, json: JSON.parse(r.stdout) as Record<string, unknown> };
}

/** Uses a refresh token directly at the token endpoint, as any OAuth client could. */
async function refreshStatus(server: EmulatorHandle, refreshToken: string): Promise<number> {
  const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'ankra-cli' });
  const res = await server.api('POST', `${server.issuer}/token`, { rawBody: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  return res.status;
}

function sessionOf(env: NodeJS.ProcessEnv, baseUrl = emu.baseUrl): unknown {
  if (!existsSync(settingsPath(env))) return undefined;
  const cfg = JSON.parse(readFileSync(settingsPath(env), 'utf8')) as { servers: Record<string, { sessions?: Record<string, unknown> }> };
  return cfg.servers[baseUrl]?.sessions?.default;
}

beforeAll(async () => {
  emu = await startEmulator({ acceptOidcTokens: true });
  await prepare(emu);
});

afterAll(async () => {
  await emu?.stop();
  for (const b of boxes) b.cleanup();
});

describe('refresh', () => {
  it('the next command refreshes an expiring access token once, from the exec plugin too, and succeeds', async () => {
    const { env } = box();
    const first = await login(env, { expiring: true });
    await emu.clearRequests();

    const token = await kubeToken(env, '--debug'); // the exec plugin's cache-miss path
    expect(token.code, token.stderr).toBe(0);
    expect(token.stderr).toContain('refreshed the session access token');
    expect(JSON.parse(token.stdout)).toMatchObject({ kind: 'ExecCredential', status: { token: expect.any(String) } });
    const refreshes = await emu.requests({ method: 'POST', path: '/oidc/token' });
    expect(refreshes).toEqual([expect.objectContaining({ status: 200 })]);
    expect(await emu.requests({ method: 'POST', path: `/api/v1/clusters/${STAGING}/k8s-token` })).toEqual([expect.objectContaining({ user: EMAIL.alice, status: 200 })]);

    const second = fileSecret(env, emu.baseUrl) as OidcSecret;
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).not.toBe(first.refresh_token); // rotated
    expect(Date.parse(second.expires_at) - Date.now()).toBeGreaterThan(200_000);

    // The refreshed token is good for a while: no refresh for the next command.
    await emu.clearRequests();
    const list = await listGrants(env);
    expect(list.code, list.stderr).toBe(0);
    expect(await emu.requests({ path: '/oidc/' })).toEqual([]);
    expect(findSecrets([token.stderr, list.stdout, list.stderr, readFileSync(settingsPath(env), 'utf8')], [...secretStrings(first), ...secretStrings(second)])).toEqual([]);
  });

  it('6 commands at once with an expired access token refresh exactly once, and all succeed', async () => {
    const { env } = box();
    const first = await login(env, { expiring: true });
    await emu.clearRequests();

    const runs = await Promise.all([listGrants(env), kubeToken(env), listGrants(env), kubeToken(env), listGrants(env), status(env)]);

    runs.forEach((r) => expect(r.code, r.stderr).toBe(0));
    // The rotating refresh token was used once: one token request, and no reuse (which
    // oidc-provider would answer with invalid_grant, ending the session).
    expect(await emu.requests({ path: '/oidc/token' })).toEqual([expect.objectContaining({ method: 'POST', status: 200 })]);
    const after = fileSecret(env, emu.baseUrl) as OidcSecret;
    expect(after.refresh_token).not.toBe(first.refresh_token);
    // …and the session goes on with the new one.
    const again = await listGrants(env);
    expect(again.code, again.stderr).toBe(0);
  });

  it('a refresh token the issuer rejects: exit 6, and every later command says when and why, without asking again', async () => {
    const { env } = box();
    await login(env, { expiring: true });
    await emu.hook('POST', 'oidc/revoke-refresh', { email: EMAIL.alice });

    const r = await listGrants(env);

    expect(r.code).toBe(6);
    expect(r.stdout).toBe('');
    const said = /^ankra: your login to https:\/\/127\.0\.0\.1:\d+ expired \(the identity provider refused to refresh it: invalid_grant\) on \d{4}-\d\d-\d\d; run `ankra login`\n$/;
    expect(r.stderr).toMatch(said);

    await emu.clearRequests();
    const [next, st] = await Promise.all([listGrants(env), status(env)]);
    expect(next.code).toBe(6);
    expect(next.stderr).toMatch(said);
    expect(await emu.requests({ path: '/oidc/token' })).toEqual([]);
    // auth status reports it, and deletes nothing
    expect(st.code).toBe(6);
    expect(st.json).toMatchObject({ logged_in: false, source: 'session', ended: { reason: expect.stringContaining('expired'), at: expect.any(String) } });
    expect(sessionOf(env)).toMatchObject({ ended: expect.any(Object) });
    expect(fileSecret(env, emu.baseUrl)).toBeDefined();
  });

  it('an API token Ankra rejects (revoked): exit 6, remembered as rejected, until the next login', async () => {
    const { env } = box();
    const { token, token_id } = (await emu.apiToken(EMAIL.alice)) as { token: string; token_id: string };
    expect((await ankra(['login', '--with-token'], { env, input: token })).code).toBe(0);
    expect((await emu.api('POST', `/api/v1/org/account/tokens/${token_id}/revoke`, { token })).status).toBe(200);
    const r = await listGrants(env);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/^ankra: Ankra rejected your login to https:\/\/127\.0\.0\.1:\d+ \(.*\): it was revoked, expired or replaced; run `ankra login`\n$/);
    await emu.clearRequests();
    const next = await listGrants(env);
    expect(next.code).toBe(6);
    expect(next.stderr).toMatch(/^ankra: your login to https:\/\/127\.0\.0\.1:\d+ was rejected by Ankra \(revoked, expired or replaced\) on \d{4}-\d\d-\d\d; run `ankra login`\n$/);
    expect(await emu.requests()).toEqual([]);
    expect((await ankra(['login', '--with-token'], { env, input: emu.tokens[EMAIL.alice] })).code).toBe(0);
    expect((await listGrants(env)).code).toBe(0);
  });
});

describe('logout', () => {
  it('clears the secret and this server\'s token cache, and revokes the session server-side', async () => {
    const { env } = box();
    const secret = await login(env);
    const token = await kubeToken(env);
    expect(token.code, token.stderr).toBe(0);
    expect(cachedTokenFiles(env)).toHaveLength(1);
    await emu.clearRequests();

    const r = await ankra(['logout', '--debug'], { env });

    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Logged out of .* \(alice@acme\.test\); revoked its token; removed it from .*credentials\.json; removed 1 cached Kubernetes token/);
    expect(await emu.requests({ method: 'POST', path: '/oidc/token/revocation' })).toEqual([expect.objectContaining({ status: 200 })]);
    expect(await refreshStatus(emu, secret.refresh_token ?? '')).toBe(400);
    expect(fileSecret(env, emu.baseUrl)).toBeUndefined();
    expect(sessionOf(env)).toBeUndefined();
    expect(cachedTokenFiles(env)).toEqual([]);
    expect(findSecrets([r.stdout, r.stderr], secretStrings(secret))).toEqual([]);
    const st = await status(env);
    expect(st.code).toBe(6);
    // Once more: nothing to do, still fine.
    const again = await ankra(['logout'], { env });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/not logged in/);
  });

  it('--local-only forgets the session without revoking it', async () => {
    const { env } = box();
    const secret = await login(env);
    await emu.clearRequests();

    const r = await ankra(['logout', '--local-only'], { env });

    expect(r.code, r.stderr).toBe(0);
    expect(await emu.requests({ path: '/oidc/' })).toEqual([]);
    expect(fileSecret(env, emu.baseUrl)).toBeUndefined();
    expect(await refreshStatus(emu, secret.refresh_token ?? '')).toBe(200); // still valid at the issuer
  });

  it('with the server down still clears local state, and warns once', async () => {
    const other = await startEmulator({ acceptOidcTokens: true });
    let stopped = false;
    try {
      await prepare(other);
      const sb = box({}, other);
      // Keep the CA: the stopped emulator removes its own copy.
      const ca = join(sb.dir, 'ca.pem');
      copyFileSync(other.caFile, ca);
      sb.env.ANKRA_CA_FILE = ca;
      await login(sb.env, { server: other });
      expect((await kubeToken(sb.env)).code).toBe(0);
      expect(cachedTokenFiles(sb.env)).toHaveLength(1);
      await other.stop();
      stopped = true;

      // Still logged in, but it cannot be checked: exit 1, not 6.
      const st = await status(sb.env);
      expect(st.code).toBe(1);
      expect(st.json).toMatchObject({ logged_in: true, source: 'session', check: expect.stringMatching(/^failed: cannot reach https:\/\/127\.0\.0\.1:\d+: connection refused/) });

      const r = await ankra(['logout'], { env: sb.env });

      expect(r.code, r.stderr).toBe(0);
      const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/could not revoke the login on the server \(.*\/oidc.*ECONNREFUSED.*\); it was removed from this machine and stays valid until it expires/);
      expect(fileSecret(sb.env, other.baseUrl)).toBeUndefined();
      expect(sessionOf(sb.env, other.baseUrl)).toBeUndefined();
      expect(cachedTokenFiles(sb.env)).toEqual([]);
    } finally {
      if (!stopped) await other.stop();
    }
  });
});

describe('login --with-token and auth status', () => {
  it('--with-token checks the token with one call and stores it like a session; a bad one is not stored', async () => {
    const good = box();
    const bad = box();
    const empty = box();
    await emu.clearRequests();
    const [ok, rejected, none] = await Promise.all([
      ankra(['login', '--with-token', '-o', 'json'], { env: good.env, input: `${emu.tokens[EMAIL.bob]}\n` }),
      ankra(['login', '--with-token'], { env: bad.env, input: 'ankra_pat_not-a-real-token\n' }),
      ankra(['login', '--with-token'], { env: empty.env, input: '' }),
    ]);

    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ server: emu.baseUrl, method: 'api_token', email: EMAIL.bob, store: 'file', store_location: credentialsPath(good.env) });
    expect(fileSecret(good.env, emu.baseUrl)).toEqual({ kind: 'api_token', token: emu.tokens[EMAIL.bob] });
    expect(rejected.code).toBe(6);
    expect(rejected.stderr).toMatch(/^ankra: .*rejected your credentials.*nothing was saved\n$/);
    expect(existsSync(credentialsPath(bad.env))).toBe(false);
    expect(sessionOf(bad.env)).toBeUndefined();
    expect(none.code).toBe(2);
    // The good token: its organisations and who it is (the members); the bad one: one call; the empty stdin sent nothing.
    expect((await emu.requests({ path: '/api/' })).map((e) => `${e.path} ${e.status}`).sort()).toEqual(
      ['/api/v1/org/organisation 200', '/api/v1/org/organisation 401', `/api/v1/org/organisation/${IDS.orgs.acme} 200`].sort(),
    );
    expect(findSecrets([ok.stdout, ok.stderr, readFileSync(settingsPath(good.env), 'utf8')], [emu.tokens[EMAIL.bob] ?? ''])).toEqual([]);

    const st = await status(good.env);
    expect(st.code).toBe(0);
    expect(st.json).toMatchObject({ logged_in: true, method: 'api_token', source: 'session', store: 'file', check: 'ok', server_source: 'env' });
    const list = await ankra(['org', 'list', '-o', 'json'], { env: good.env });
    expect(list.code, list.stderr).toBe(0);

    // An API token is the user's own: logout forgets it and revokes nothing.
    await emu.clearRequests();
    const out = await ankra(['logout', '-o', 'json'], { env: good.env });
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ server: emu.baseUrl, logged_out: true, revoked: false, secret_removed_from: credentialsPath(good.env), removed_tokens: 0 });
    expect(out.stderr).toContain('The API token given with --with-token was not revoked: it is yours to keep or revoke in Ankra.');
    expect(await emu.requests()).toEqual([]);
    expect(fileSecret(good.env, emu.baseUrl)).toBeUndefined();
  });

  it('auth status -o json for each way of being authenticated', async () => {
    const oidc = box();
    await login(oidc.env);
    const withToken = box();
    expect((await ankra(['login', '--with-token'], { env: withToken.env, input: emu.tokens[EMAIL.bob] })).code).toBe(0);
    const flag = box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.alice] });
    const envToken = box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.bob] });
    // The Go CLI's login, read-only: its base-url and token, no ANKRA_BASE_URL.
    const gocli = box();
    delete gocli.env.ANKRA_BASE_URL;
    mkdirSync(gocli.home, { recursive: true });
    const goYaml = join(gocli.home, '.ankra.yaml');
    const goText = `base-url: ${emu.baseUrl}\ntoken: "${emu.tokens[EMAIL.alice]}"\ntoken_id: 1234\n`;
    writeFileSync(goYaml, goText);
    const nobody = box();

    const [o, w, ignored, f, e, g, n] = await Promise.all([
      status(oidc.env),
      status(withToken.env),
      status({ ...withToken.env, ANKRA_API_TOKEN: emu.tokens[EMAIL.alice] }),
      ankra(['--token', emu.tokens[EMAIL.bob] ?? '', 'auth', 'status', '-o', 'json'], { env: flag.env }).then((r) => ({ ...r, json: JSON.parse(r.stdout) as Record<string, unknown> })),
      status(envToken.env),
      status(gocli.env),
      status(nobody.env),
    ]);

    expect(o.code).toBe(0);
    expect(o.json).toMatchObject({ logged_in: true, method: 'oidc', source: 'session', email: EMAIL.alice, store: 'file', check: 'ok' });
    expect(Date.parse(String(o.json.expires_at))).toBeGreaterThan(Date.now());
    expect(w.code).toBe(0);
    expect(w.json).toMatchObject({ logged_in: true, method: 'api_token', source: 'session', store: 'file', check: 'ok' });
    expect(w.stderr).toBe('');
    // ANKRA_API_TOKEN loses to a saved login, with a note on stderr.
    expect(ignored.code).toBe(0);
    expect(ignored.json).toMatchObject({ source: 'session' });
    expect(ignored.stderr).toMatch(/^note: ANKRA_API_TOKEN is set but ignored; using the API token \(ankra login --with-token\)\n$/);
    // --token wins over ANKRA_API_TOKEN, silently? No: the note says so too.
    expect(f.code).toBe(0);
    expect(f.json).toMatchObject({ logged_in: true, method: 'api_token', source: 'flag', store: null, check: 'ok' });
    expect(f.stderr).toMatch(/ANKRA_API_TOKEN is set but ignored; using the API token from --token/);
    expect(e.code).toBe(0);
    expect(e.json).toMatchObject({ logged_in: true, method: 'api_token', source: 'env', store: null, check: 'ok' });
    expect(g.code).toBe(0);
    expect(g.json).toMatchObject({ server: emu.baseUrl, server_source: 'gocli', logged_in: true, method: 'api_token', source: 'gocli', email: EMAIL.alice, check: 'ok' });
    expect(readFileSync(goYaml, 'utf8')).toBe(goText); // never rewritten
    expect(n.code).toBe(6);
    expect(n.json).toMatchObject({ logged_in: false, method: null, source: null, check: 'not logged in' });

    const all = [o, w, ignored, f, e, g, n].flatMap((r) => [r.stdout, r.stderr]);
    expect(findSecrets(all, [...Object.values(emu.tokens), ...secretStrings(fileSecret(oidc.env, emu.baseUrl))])).toEqual([]);
  });
});
