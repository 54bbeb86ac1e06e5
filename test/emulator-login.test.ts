/**
 * The emulator's side of Ankra's CLI login (api-contract.md, "Login") and of API tokens:
 * init and its validation, the approval page driven as a browser would, the PKCE-checked
 * poll with every outcome (awaiting, two-factor, issued once, 403, 410, 426), the hooks
 * that script it, and the issued token as a real, revocable, expiring Ankra API token.
 * In process, over real HTTPS.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI_LOGIN_TOKEN_NAME, DETAIL } from '../src/api/types';
import type { ApiToken, CreatedApiToken, LoginInit, LoginPoll, Organisation } from '../src/api/types';
import { EMAIL, startEmulator } from './helpers/emulator';
import type { ApiResponse, InProcessEmulator } from './helpers/emulator';
import { parseForm } from './helpers/form';

interface Pkce {
  verifier: string;
  challenge: string;
}

/** As the Go CLI makes them: 32 random bytes, base64url; the challenge is base64url(SHA-256(verifier)). */
function pkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

const MACHINE = { machine_id: '0123456789abcdef0123456789abcdef', machine_name: 'laptop-1' };
const DAY_MS = 24 * 60 * 60 * 1000;

function expectDetail(res: ApiResponse, status: number, detail: string): void {
  expect({ status: res.status, body: res.body }).toEqual({ status, body: { detail } });
}

/** Small verbs over one emulator: the CLI's two calls and the browser's page. */
function client(emu: InProcessEmulator) {
  const init = (challenge: string | null, extra: Record<string, string> = {}) => {
    const q = new URLSearchParams({ ...MACHINE, base_url: emu.baseUrl, ...extra });
    if (challenge !== null) q.set('code_challenge', challenge);
    return emu.api<LoginInit>('GET', `/api/v1/cli/login/init?${q}`);
  };
  const start = async (extra: Record<string, string> = {}): Promise<Pkce & LoginInit> => {
    const p = pkce();
    const res = await init(p.challenge, extra);
    expect(res.status).toBe(200);
    return { ...p, ...res.body };
  };
  const poll = (ticket: string, verifier: string) => emu.api<LoginPoll>('POST', '/api/v1/cli/login/poll', { body: { ticket, code_verifier: verifier } });
  const page = async (url: string) => {
    const res = await emu.api<string>('GET', url);
    return { status: res.status, html: res.text };
  };
  /** Loads `auth_url`, picks `email` in the form and submits it. */
  const approveInBrowser = async (authUrl: string, email: string) => {
    const form = await page(authUrl);
    expect(form.status).toBe(200);
    const { action, fields } = parseForm(form.html);
    fields.set('email', email);
    const res = await emu.api<string>('POST', new URL(action, authUrl).href, {
      rawBody: fields.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    return { status: res.status, html: res.text };
  };
  return { init, start, poll, page, approveInBrowser };
}

describe('CLI login', () => {
  let emu: InProcessEmulator;
  let c: ReturnType<typeof client>;
  // A fresh emulator per test: logins left waiting by one test must not meet the next.
  beforeEach(async () => {
    emu = await startEmulator();
    c = client(emu);
  });
  afterEach(() => emu.stop());

  it('init answers a ticket and a page to open, without authentication', async () => {
    const started = await c.start();
    expect(Object.keys(started).sort()).toEqual(['auth0_domain', 'auth_url', 'challenge', 'state', 'ticket', 'verifier']);
    expect(started.ticket).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(started.auth_url).toBe(`${emu.baseUrl}/cli/login?state=${started.state}`);
    expect(started.auth0_domain).toBe(new URL(emu.baseUrl).host);
    // Each login is its own session.
    const other = await c.start();
    expect([other.ticket, other.state]).not.toContain(started.ticket);
    expect(other.state).not.toBe(started.state);
    // The hook shows what the CLI sent, never the ticket.
    const view = await emu.hook<{ sessions: Record<string, unknown>[] }>('GET', 'cli-login');
    expect(view.sessions).toContainEqual(
      expect.objectContaining({ state: started.state, ...MACHINE, base_url: emu.baseUrl, approved_by: null, polls: 0 }),
    );
    expect(JSON.stringify(view)).not.toContain(started.ticket);
  });

  it('init refuses a missing or malformed code_challenge FastAPI-style', async () => {
    const missing = await c.init(null);
    expect(missing.status).toBe(422);
    expect(missing.body).toEqual({ detail: [{ loc: ['query', 'code_challenge'], msg: 'Field required', type: 'missing' }] });
    const good = pkce().challenge;
    for (const bad of [good.slice(1), `${good}A`, `${good.slice(1)}+`, `${good.slice(1)}=`, '']) {
      const res = await c.init(bad);
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ detail: [{ loc: ['query', 'code_challenge'], type: 'string_pattern_mismatch' }] });
    }
  });

  it('a person approves on the page; the poll then issues a named API token once', async () => {
    const login = await c.start();
    expect((await c.poll(login.ticket, login.verifier)).body).toEqual({ token: null, status: 'awaiting_approval', mfa_required: false });

    const form = await c.page(login.auth_url);
    expect(form.status).toBe(200);
    expect(form.html).toContain('laptop-1');
    // Only active members of some organisation may sign in: Carol is only invited.
    expect(parseForm(form.html).options['email']).toEqual([EMAIL.admin, EMAIL.alice, EMAIL.bob, EMAIL.globexAdmin]);

    const approved = await c.approveInBrowser(login.auth_url, EMAIL.alice);
    expect(approved.status).toBe(200);
    expect(approved.html).toContain('CLI signed in');

    const before = emu.state.clock.now();
    const issued = await c.poll(login.ticket, login.verifier);
    expect(issued.status).toBe(200);
    expect(issued.body).toEqual({
      token: expect.stringMatching(/^\S{32,}$/),
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      token_id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      token_name: CLI_LOGIN_TOKEN_NAME,
      mfa_required: false,
      status: 'issued',
    });
    const lifetime = Date.parse(issued.body.expires_at ?? '') - before;
    expect(lifetime).toBeGreaterThan(90 * DAY_MS - 2000);
    expect(lifetime).toBeLessThanOrEqual(90 * DAY_MS + 1000);

    // A real Ankra API token for Alice, listed under its id.
    const token = issued.body.token ?? '';
    const orgs = await emu.api<Organisation[]>('GET', '/api/v1/org/organisation', { token });
    expect(orgs.body.map((o) => o.slug)).toEqual(['acme']);
    const mine = await emu.api<ApiToken[]>('GET', '/api/v1/org/account/tokens', { token });
    expect(mine.body.find((t) => t.id === issued.body.token_id)).toMatchObject({ name: 'CLI Login', revoked: false });

    // Spent: the ticket and the page are gone.
    expectDetail(await c.poll(login.ticket, login.verifier), 410, DETAIL.loginExpired);
    const spentPage = await c.page(login.auth_url);
    expect(spentPage.status).toBe(400);
    expect(() => parseForm(spentPage.html)).toThrow(/no form/);
  });

  it('refuses a verifier that does not match the challenge (403), and the right one still works', async () => {
    const login = await c.start();
    await emu.approveLogin(EMAIL.bob, { ticket: login.ticket });
    expectDetail(await c.poll(login.ticket, pkce().verifier), 403, DETAIL.verifierRefused);
    expectDetail(await c.poll(login.ticket, login.challenge), 403, DETAIL.verifierRefused);
    const issued = await c.poll(login.ticket, login.verifier);
    expect(issued.body.status).toBe('issued');
    expect((await emu.api<Organisation[]>('GET', '/api/v1/org/organisation', { token: issued.body.token ?? '' })).body).toHaveLength(2);
  });

  it('410 for an unknown ticket and for a session past its lifetime on the emulator clock', async () => {
    expectDetail(await c.poll('no-such-ticket', pkce().verifier), 410, DETAIL.loginExpired);
    expect(DETAIL.loginExpired).toMatch(/expired/);

    const login = await c.start();
    await emu.hook('POST', 'clock', { advance_s: 599 });
    expect((await c.poll(login.ticket, login.verifier)).body.status).toBe('awaiting_approval');
    await emu.hook('POST', 'clock', { advance_s: 2 });
    expectDetail(await c.poll(login.ticket, login.verifier), 410, DETAIL.loginExpired);
    expect((await c.page(login.auth_url)).status).toBe(400);
    expect((await emu.api('POST', '/_emulator/cli-login/approve', { body: { ticket: login.ticket, email: EMAIL.alice } })).status).toBe(400);

    // session_ttl_s shortens it, for sessions polled afterwards.
    expect(await emu.cliLogin({ session_ttl_s: 30 })).toMatchObject({ session_ttl_s: 30 });
    const short = await c.start();
    await emu.approveLogin(EMAIL.alice, { state: short.state });
    await emu.hook('POST', 'clock', { advance_s: 31 });
    expectDetail(await c.poll(short.ticket, short.verifier), 410, DETAIL.loginExpired);
  });

  it('426 on init and poll while the hook says this CLI must be upgraded', async () => {
    const login = await c.start();
    expect(await emu.cliLogin({ upgrade_required: true })).toMatchObject({ upgrade_required: true });
    const init = await c.init(pkce().challenge);
    expectDetail(init, 426, DETAIL.upgradeRequired);
    expect(DETAIL.upgradeRequired).toMatch(/upgrade/);
    expectDetail(await c.poll(login.ticket, login.verifier), 426, DETAIL.upgradeRequired);
    await emu.cliLogin({ upgrade_required: false });
    expect((await c.poll(login.ticket, login.verifier)).status).toBe(200);
  });

  it('auto-approves and scripts the answers before the token: awaiting, then two-factor, then issued', async () => {
    const settings = await emu.cliLogin({ auto_approve: EMAIL.alice, awaiting_polls: 2, mfa_polls: 2 });
    expect(settings).toEqual({
      auto_approve: EMAIL.alice,
      awaiting_polls: 2,
      mfa_polls: 2,
      upgrade_required: false,
      session_ttl_s: 600,
      token_ttl_s: 90 * 24 * 3600,
      sessions: expect.any(Array),
    });
    const login = await c.start();
    const answers: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const { body } = await c.poll(login.ticket, login.verifier);
      answers.push(body.token === null ? body : { status: body.status, mfa_required: body.mfa_required, token_name: body.token_name });
    }
    expect(answers).toEqual([
      { token: null, status: 'awaiting_approval', mfa_required: false },
      { token: null, status: 'awaiting_approval', mfa_required: false },
      { token: null, status: 'mfa_pending', mfa_required: true },
      { token: null, status: 'mfa_pending', mfa_required: true },
      { status: 'issued', mfa_required: false, token_name: 'CLI Login' },
    ]);
  });

  it('two-factor comes after a person’s approval too', async () => {
    await emu.cliLogin({ mfa_polls: 1 });
    const login = await c.start();
    expect((await c.poll(login.ticket, login.verifier)).body.status).toBe('awaiting_approval');
    await emu.approveLogin(EMAIL.admin);
    expect((await c.poll(login.ticket, login.verifier)).body).toEqual({ token: null, status: 'mfa_pending', mfa_required: true });
    expect((await c.poll(login.ticket, login.verifier)).body.status).toBe('issued');
  });

  it('the approve hook takes a ticket, a state, or the only waiting login, and refuses what cannot sign in', async () => {
    const a = await c.start();
    const b = await c.start();
    const approve = (body: Record<string, unknown>) => emu.api<{ detail?: string }>('POST', '/_emulator/cli-login/approve', { body });
    // Two are waiting: the hook will not guess.
    const ambiguous = await approve({ email: EMAIL.alice });
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.body.detail).toMatch(/waiting/);
    expect(await emu.approveLogin(EMAIL.alice, { ticket: a.ticket })).toEqual({ approved: true, state: a.state, email: EMAIL.alice });
    expect((await approve({ ticket: a.ticket, email: EMAIL.bob })).status).toBe(400); // already approved
    for (const email of [EMAIL.carol, 'nobody@acme.test']) expect((await approve({ state: b.state, email })).status).toBe(400);
    expect((await approve({ ticket: 'nope', email: EMAIL.bob })).status).toBe(400);
    expect((await approve({ ticket: b.ticket })).status).toBe(400);
    expect(await emu.approveLogin(EMAIL.globexAdmin)).toMatchObject({ state: b.state, email: EMAIL.globexAdmin });
    expect((await c.poll(b.ticket, b.verifier)).body.status).toBe('issued');
    expect((await c.poll(a.ticket, a.verifier)).body.status).toBe('issued');
    for (const bad of [{ auto_approve: 'nobody@acme.test' }, { auto_approve: EMAIL.carol }, { awaiting_polls: -1 }, { session_ttl_s: 0 }]) {
      expect((await emu.api('POST', '/_emulator/cli-login', { body: bad })).status).toBe(400);
    }
  });

  it('the page refuses someone who may not sign in, shows the form again, and escapes what the client sent', async () => {
    const hostile = '<script>alert(1)</script>"&\u001b[31m';
    const login = await c.start({ machine_name: hostile });
    const form = await c.page(login.auth_url);
    expect(form.html).not.toContain('<script>alert');
    expect(form.html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;&#34;&#38;');
    const refused = await c.approveInBrowser(login.auth_url, EMAIL.carol);
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('not an active member');
    expect(parseForm(refused.html).fields.get('state')).toBe(login.state);
    expect((await c.poll(login.ticket, login.verifier)).body.status).toBe('awaiting_approval');
    expect((await emu.api('PUT', '/cli/login')).status).toBe(405);
    const big = await emu.api('POST', '/cli/login', { rawBody: `state=${'x'.repeat(20_000)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(big.status).toBe(413);
  });

  it('rejects malformed poll bodies with 422, and lets 5xx faults through for the CLI to ride out', async () => {
    const post = (opts: { rawBody?: string; body?: unknown }) => emu.api('POST', '/api/v1/cli/login/poll', opts);
    expect((await post({ rawBody: '{"ticket": ' })).body).toMatchObject({ detail: [{ loc: ['body', 0], type: 'json_invalid' }] });
    expect((await post({ rawBody: '' })).body).toMatchObject({ detail: [{ loc: ['body'], type: 'missing' }] });
    const both = await post({ body: { ticket: 7 } });
    expect(both.status).toBe(422);
    expect((both.body as { detail: { loc: unknown[] }[] }).detail.map((d) => d.loc)).toEqual([
      ['body', 'ticket'],
      ['body', 'code_verifier'],
    ]);

    await emu.cliLogin({ auto_approve: EMAIL.bob });
    const login = await c.start();
    await emu.hook('POST', 'faults', { path_prefix: '/api/v1/cli/login/poll', status: 503, times: 1 });
    expect((await c.poll(login.ticket, login.verifier)).status).toBe(503);
    expect((await c.poll(login.ticket, login.verifier)).body.status).toBe('issued');
  });

  it('--auto-approve approves CLI logins (and device codes) from the start', async () => {
    const other = await startEmulator({ autoApprove: EMAIL.bob });
    try {
      const oc = client(other);
      const login = await oc.start();
      const issued = await oc.poll(login.ticket, login.verifier);
      expect(issued.body.status).toBe('issued');
      expect((await other.api<Organisation[]>('GET', '/api/v1/org/organisation', { token: issued.body.token ?? '' })).body).toHaveLength(2);
      expect((await other.hook<{ auto_approve: string }>('GET', 'cli-login')).auto_approve).toBe(EMAIL.bob);
    } finally {
      await other.stop();
    }
    await expect(startEmulator({ autoApprove: EMAIL.carol })).rejects.toThrow(/not an active member/);
  });
});

describe('API tokens', () => {
  let emu: InProcessEmulator;
  beforeEach(async () => {
    emu = await startEmulator();
  });
  afterEach(() => emu.stop());

  const tokens = (token: string) => emu.api<ApiToken[]>('GET', '/api/v1/org/account/tokens', { token });
  const revoke = (token: string, id: string) => emu.api('POST', `/api/v1/org/account/tokens/${id}/revoke`, { token });
  const orgs = (token: string) => emu.api('GET', '/api/v1/org/organisation', { token });

  it('lists the caller’s tokens without secrets', async () => {
    const alice = emu.tokens[EMAIL.alice] ?? '';
    const res = await tokens(alice);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      {
        id: emu.tokenIds[EMAIL.alice],
        name: 'Emulator seed token',
        created_at: expect.any(String),
        expires_at: expect.any(String),
        revoked: false,
        revoked_at: null,
        last_used_at: expect.any(String),
      },
    ]);
    expect(res.text).not.toContain(alice);
    expect((await emu.api('GET', '/api/v1/org/account/tokens')).status).toBe(401);
  });

  it('creates a named token with its id, lifetime in days, and validates the body', async () => {
    const admin = emu.tokens[EMAIL.admin] ?? '';
    const before = emu.state.clock.now();
    const res = await emu.api<CreatedApiToken>('POST', '/api/v1/org/account/tokens', { token: admin, body: { name: 'ci', expires_in_days: 7 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'ci', token: expect.stringMatching(/^ankra_pat_/), id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const lifetime = Date.parse(res.body.expires_at) - before;
    expect(Math.abs(lifetime - 7 * DAY_MS)).toBeLessThan(2000);
    expect((await orgs(res.body.token)).status).toBe(200);
    expect((await tokens(admin)).body.map((t) => t.name)).toEqual(['Emulator seed token', 'ci']);

    const later = new Date(emu.state.clock.now() + 3 * DAY_MS).toISOString();
    const byDate = await emu.api<CreatedApiToken>('POST', '/api/v1/org/account/tokens', { token: admin, body: { name: 'go-cli', expires_at: later } });
    expect(Math.abs(Date.parse(byDate.body.expires_at) - Date.parse(later))).toBeLessThan(2000);

    for (const [body, loc] of [
      [{}, 'name'],
      [{ name: '' }, 'name'],
      [{ name: 5 }, 'name'],
      [{ name: 'x', expires_in_days: 0 }, 'expires_in_days'],
      [{ name: 'x', expires_in_days: 1.5 }, 'expires_in_days'],
      [{ name: 'x', expires_at: 'tomorrow' }, 'expires_at'],
      [{ name: 'x', expires_at: '2001-01-01T00:00:00Z' }, 'expires_at'],
    ] as const) {
      const bad = await emu.api('POST', '/api/v1/org/account/tokens', { token: admin, body });
      expect(bad.status).toBe(422);
      expect(bad.body).toMatchObject({ detail: [{ loc: ['body', loc] }] });
    }
  });

  it('revokes with the same token (logout): 200, then 401; still listed, as revoked', async () => {
    const alice = emu.tokens[EMAIL.alice] ?? '';
    const id = emu.tokenIds[EMAIL.alice] ?? '';
    const res = await revoke(alice, id);
    expect(res.status).toBe(200);
    expectDetail(await orgs(alice), 401, DETAIL.invalidToken);
    expectDetail(await revoke(alice, id), 401, DETAIL.invalidToken);
    const other = (await emu.apiToken(EMAIL.alice)).token;
    const listed = (await tokens(other)).body.find((t) => t.id === id);
    expect(listed).toMatchObject({ revoked: true, revoked_at: expect.any(String) });
    // Revoking again with another token of the same user is fine.
    expect((await revoke(other, id)).status).toBe(200);
  });

  it('refuses another user’s token id, or an unknown one, with 404', async () => {
    const bob = emu.tokens[EMAIL.bob] ?? '';
    for (const id of [emu.tokenIds[EMAIL.alice] ?? '', '00000000-0000-4000-8000-000000000000', '%zz']) {
      expectDetail(await revoke(bob, id), 404, DETAIL.tokenNotFound);
      expectDetail(await emu.api('DELETE', `/api/v1/org/account/tokens/${id}`, { token: bob }), 404, DETAIL.tokenNotFound);
    }
    expect((await orgs(emu.tokens[EMAIL.alice] ?? '')).status).toBe(200);
  });

  it('deletes a token: gone from the list, refused afterwards', async () => {
    const admin = emu.tokens[EMAIL.admin] ?? '';
    const extra = await emu.apiToken(EMAIL.admin, { name: 'doomed' });
    const res = await emu.api('DELETE', `/api/v1/org/account/tokens/${extra.token_id}`, { token: admin });
    expect(res.status).toBe(200);
    expectDetail(await orgs(extra.token), 401, DETAIL.invalidToken);
    expect((await tokens(admin)).body.map((t) => t.id)).toEqual([emu.tokenIds[EMAIL.admin]]);
  });

  it('expire on the emulator clock: a short one from the hook, a login’s after 90 days', async () => {
    const short = await emu.apiToken(EMAIL.bob, { expires_in_s: 60 });
    expect((await orgs(short.token)).status).toBe(200);
    await emu.hook('POST', 'clock', { advance_s: 61 });
    expectDetail(await orgs(short.token), 401, DETAIL.invalidToken);

    await emu.cliLogin({ auto_approve: EMAIL.alice });
    const c = client(emu);
    const login = await c.start();
    const token = (await c.poll(login.ticket, login.verifier)).body.token ?? '';
    await emu.hook('POST', 'clock', { advance_s: 90 * 24 * 3600 - 5 });
    expect((await orgs(token)).status).toBe(200);
    await emu.hook('POST', 'clock', { advance_s: 10 });
    expectDetail(await orgs(token), 401, DETAIL.invalidToken);
    // token_ttl_s shortens the next ones.
    await emu.cliLogin({ token_ttl_s: 120 });
    const next = await c.start();
    const issued = (await c.poll(next.ticket, next.verifier)).body;
    expect(Date.parse(issued.expires_at ?? '') - emu.state.clock.now()).toBeLessThanOrEqual(120_000);
  });
});
