/**
 * The emulator's OpenID provider (fixtures/emulator/oidc.ts) against the real openid-client
 * v6, the client `ankra login` uses, over HTTPS with the emulator's throw-away CA.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import * as client from 'openid-client';
import { Agent, fetch as undiciFetch, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Account, Oidc } from '../fixtures/emulator/contracts';
import { DEFAULT_OIDC_TTL, OidcRejection, createOidc } from '../fixtures/emulator/oidc';
import { generateTls } from '../fixtures/emulator/tls';
import { parseForm } from './helpers/form';

const ALICE: Account = { id: 'user-alice', email: 'alice@acme.test', name: 'Alice Anders' };
const BOB: Account = { id: 'user-bob', email: 'bob@acme.test', name: 'Bob Berg' };
/** Signs in only in the revokeRefreshTokens test, so that its count is exact. */
const CAROL: Account = { id: 'user-carol', email: 'carol@acme.test', name: 'Carol Coe' };
const ACCOUNTS = [ALICE, BOB, CAROL];
const SCOPE = 'openid email profile offline_access';
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

let server: Server;
let agent: Agent;
let oidc: Oidc;
let issuer: string;
let config: client.Configuration;
/** Epoch ms of every device-code poll the client sent to the token endpoint. */
let polls: number[] = [];

beforeAll(async () => {
  const tls = await generateTls();
  server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    if (req.url?.startsWith('/oidc')) return oidc.handle(req, res);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}/oidc`;
  oidc = await createOidc({
    issuer,
    findAccount: (id) => ACCOUNTS.find((a) => a.id === id),
    findAccountByEmail: (email) => ACCOUNTS.find((a) => a.email === email),
    autoApprove: null,
  });
  agent = new Agent({ connect: { ca: tls.caPem } });
  config = await client.discovery(new URL(issuer), oidc.clientId, undefined, client.None(), {
    [client.customFetch]: recordingFetch,
  });
});

afterEach(() => {
  oidc.setTtl(DEFAULT_OIDC_TTL);
  oidc.setAutoApprove(null);
  oidc.slowDown(0);
  polls = [];
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await agent.close();
});

/** undici's fetch trusting the test CA; notes when a device code is polled. */
const recordingFetch: client.CustomFetch = (url, options) => {
  if (options.body instanceof URLSearchParams && options.body.get('grant_type') === DEVICE_CODE_GRANT) {
    polls.push(Date.now());
  }
  // undici's Response is the WHATWG Response openid-client expects; only the declared types differ.
  return undiciFetch(url, { ...options, dispatcher: agent }) as unknown as Promise<Response>;
};

function startDeviceFlow(): Promise<client.DeviceAuthorizationResponse> {
  return client.initiateDeviceAuthorization(config, { scope: SCOPE });
}

function poll(flow: client.DeviceAuthorizationResponse, signal?: AbortSignal) {
  return client.pollDeviceAuthorizationGrant(config, flow, undefined, signal && { signal });
}

/** A completed login for this account, approved through the hook. */
async function signIn(account: Account) {
  const flow = await startDeviceFlow();
  await oidc.approve(flow.user_code, account.email);
  return poll(flow);
}

async function expectOAuthError(promise: Promise<unknown>, error: string): Promise<void> {
  const err: unknown = await promise.then(
    () => expect.unreachable(`expected ${error}`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(client.ResponseBodyError);
  expect(err).toMatchObject({ error });
}

function completeUri(flow: client.DeviceAuthorizationResponse): string {
  if (!flow.verification_uri_complete) throw new Error('no verification_uri_complete');
  return flow.verification_uri_complete;
}

async function getPage(url: string): Promise<{ status: number; html: string }> {
  const res = await request(url, { dispatcher: agent });
  return { status: res.statusCode, html: await res.body.text() };
}

/** Loads the verification page (a `verification_uri_complete`), fills in the email and presses a button. */
async function submitVerificationPage(pageUrl: string, email: string, button: 'approve' | 'deny') {
  const form = await getPage(pageUrl);
  expect(form.status).toBe(200);
  const { action, fields } = parseForm(form.html);
  expect(fields.get('user_code')).toBe(new URL(pageUrl).searchParams.get('user_code'));
  fields.set('email', email);
  fields.set('action', button);
  const res = await request(new URL(action, pageUrl).href, {
    dispatcher: agent,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: fields.toString(),
  });
  return { status: res.statusCode, html: await res.body.text() };
}

describe('emulator OIDC provider', () => {
  it('advertises the device flow, refresh, revocation and an ES256 signing key in discovery', () => {
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(issuer);
    expect(metadata.device_authorization_endpoint).toBe(`${issuer}/device/auth`);
    expect(metadata.revocation_endpoint).toBe(`${issuer}/token/revocation`);
    expect(metadata.grant_types_supported).toEqual(expect.arrayContaining([DEVICE_CODE_GRANT, 'refresh_token']));
    expect(metadata.id_token_signing_alg_values_supported).toEqual(['ES256']);
    expect(oidc.scopes).toEqual(['openid', 'email', 'profile', 'offline_access']);
  });

  it('completes a device flow approved unattended, with a fractional interval, after a pending poll', async () => {
    oidc.setAutoApprove(ALICE.email);
    const flow = await startDeviceFlow();
    expect(flow).toMatchObject({ interval: 0.2, expires_in: 600, verification_uri: `${issuer}/device` });
    expect(flow.verification_uri_complete).toBe(`${issuer}/device?user_code=${flow.user_code}`);

    const tokens = await poll(flow);

    expect(polls.length).toBeGreaterThanOrEqual(2); // the first poll was still pending
    // 0.2 s polls, not openid-client's default 5 s: the first gap is far below 5 s
    const [p1 = 0, p2 = 0] = polls;
    expect(p2 - p1).toBeLessThan(2500);
    expect(tokens).toMatchObject({ token_type: 'bearer', scope: SCOPE, expires_in: 300 });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.claims()).toMatchObject({
      iss: issuer,
      aud: 'ankra-cli',
      sub: ALICE.id,
      email: ALICE.email,
      email_verified: true,
      name: ALICE.name,
    });
  });

  it('approves through the approve hook, whatever the case and dash of the user code', async () => {
    const flow = await startDeviceFlow();
    await oidc.approve(flow.user_code.toLowerCase().replace('-', ''), BOB.email);
    await expect(oidc.approve(flow.user_code, BOB.email)).rejects.toThrow(/already approved/);

    const tokens = await poll(flow);
    expect(tokens.claims()).toMatchObject({ sub: BOB.id, email: BOB.email });
  });

  it('approves through the verification page driven by a plain HTTP client', async () => {
    const flow = await startDeviceFlow();
    const result = await submitVerificationPage(completeUri(flow), ALICE.email, 'approve');
    expect(result.status).toBe(200);
    expect(result.html).toContain('Device approved');

    const tokens = await poll(flow);
    expect(tokens.claims()).toMatchObject({ sub: ALICE.id });
  });

  it.each([
    ['the verification page', (flow: client.DeviceAuthorizationResponse) => submitVerificationPage(completeUri(flow), '', 'deny')],
    ['the deny hook', (flow: client.DeviceAuthorizationResponse) => oidc.deny(flow.user_code)],
    ['unattended denial', async () => oidc.setAutoApprove(ALICE.email, 'deny')],
  ])('answers access_denied after a denial through %s', async (_, deny) => {
    const flow = await startDeviceFlow();
    await deny(flow);
    await expectOAuthError(poll(flow), 'access_denied');
  });

  it('answers expired_token once the device code expires, and refuses to approve it', async () => {
    oidc.setTtl({ deviceCodeS: 1 });
    const flow = await startDeviceFlow();
    expect(flow.expires_in).toBe(1);
    // openid-client stops polling by itself after expires_in; a longer signal lets the server say it.
    await expectOAuthError(poll(flow, AbortSignal.timeout(5000)), 'expired_token');
    await expect(oidc.approve(flow.user_code, ALICE.email)).rejects.toThrow(/expired/);
  });

  it('slow_down: openid-client adds 5 s to its interval and still completes', async () => {
    oidc.slowDown(1);
    oidc.setAutoApprove(ALICE.email);
    const flow = await startDeviceFlow();

    const tokens = await poll(flow);

    expect(tokens.claims()).toMatchObject({ sub: ALICE.id });
    expect(polls).toHaveLength(2);
    const [first = 0, second = 0] = polls;
    // 0.2 s interval + 5 s after slow_down (RFC 8628 §3.5) = 5.2 s
    expect(second - first).toBeGreaterThanOrEqual(5100);
    expect(second - first).toBeLessThan(10_000); // one 5 s increment, not two
  });

  it('rotates the refresh token on every use; reusing an old one fails and ends the session', async () => {
    const login = await signIn(ALICE);
    const first = await client.refreshTokenGrant(config, login.refresh_token ?? '');
    expect(first.refresh_token).toEqual(expect.any(String));
    expect(first.refresh_token).not.toBe(login.refresh_token);
    expect(first.access_token).not.toBe(login.access_token);
    expect(first.claims()).toMatchObject({ sub: ALICE.id, email: ALICE.email });
    const second = await client.refreshTokenGrant(config, first.refresh_token ?? '');

    await expectOAuthError(client.refreshTokenGrant(config, login.refresh_token ?? ''), 'invalid_grant');
    // oidc-provider treats reuse as theft and revokes the whole grant, newest token included.
    await expectOAuthError(client.refreshTokenGrant(config, second.refresh_token ?? ''), 'invalid_grant');
    expect(await oidc.verifyAccessToken(second.access_token)).toBeUndefined();
  });

  it('revokeRefreshTokens ends every refresh token of one account only', async () => {
    const [carol1, carol2, bob] = await Promise.all([signIn(CAROL), signIn(CAROL), signIn(BOB)]);

    expect(await oidc.revokeRefreshTokens(CAROL.email)).toBe(2);

    for (const login of [carol1, carol2]) {
      await expectOAuthError(client.refreshTokenGrant(config, login.refresh_token ?? ''), 'invalid_grant');
    }
    await expect(client.refreshTokenGrant(config, bob.refresh_token ?? '')).resolves.toBeDefined();
    expect(await oidc.revokeRefreshTokens(CAROL.email)).toBe(0);
    await expect(oidc.revokeRefreshTokens('nobody@acme.test')).rejects.toBeInstanceOf(OidcRejection);
  });

  it('verifyAccessToken: the account for a valid token; nothing once revoked, expired or unknown', async () => {
    const login = await signIn(ALICE);
    expect(await oidc.verifyAccessToken(login.access_token)).toEqual(ALICE);
    await client.tokenRevocation(config, login.access_token);
    expect(await oidc.verifyAccessToken(login.access_token)).toBeUndefined();
    expect(await oidc.verifyAccessToken('not-a-token')).toBeUndefined();

    oidc.setTtl({ accessTokenS: 1 });
    const shortLived = await signIn(BOB);
    expect(shortLived.expires_in).toBe(1);
    expect(await oidc.verifyAccessToken(shortLived.access_token)).toEqual(BOB);
    // Expiry is kept in whole seconds: a 1 s token lapses at the next second boundary.
    await sleep(1100);
    expect(await oidc.verifyAccessToken(shortLived.access_token)).toBeUndefined();
  });

  it('rejects approval for an unknown email, on the hook and on the page, leaving the code pending', async () => {
    const flow = await startDeviceFlow();
    await expect(oidc.approve(flow.user_code, 'nobody@acme.test')).rejects.toBeInstanceOf(OidcRejection);
    const page = await submitVerificationPage(completeUri(flow), 'nobody@acme.test', 'approve');
    expect(page.status).toBe(400);
    expect(page.html).toContain('no account with the email');
    expect(parseForm(page.html).fields.get('user_code')).toBe(flow.user_code);
    expect(() => oidc.setAutoApprove('nobody@acme.test')).toThrow(OidcRejection);

    await oidc.approve(flow.user_code, ALICE.email);
    await expect(poll(flow)).resolves.toBeDefined();
  });

  it('rejects unknown user codes on the page, and bad hook arguments', async () => {
    const page = await submitVerificationPage(`${issuer}/device?user_code=BCDF-GHJK`, ALICE.email, 'approve');
    expect(page.status).toBe(400);
    expect(page.html).toContain('unknown user code');
    expect(() => oidc.setTtl({ accessTokenS: 0.5 })).toThrow(RangeError);
    expect(() => oidc.setTtl({ pollIntervalS: 0 })).toThrow(RangeError);
    expect(() => oidc.slowDown(-1)).toThrow(RangeError);
  });
});
