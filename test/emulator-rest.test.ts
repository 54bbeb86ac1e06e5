/**
 * The emulator's REST API against api-contract.md (the token lane, and nothing else):
 * every endpoint's happy path and each documented error, organisation scoping and detail,
 * pagination, the reconcile loop, token minting and invalidation, the Kubernetes proxy on
 * its own origin, OIDC tokens refused by default, faults, the world-changing hooks, the
 * clock, the request log and `offContract`. In process, over real HTTPS. The CLI login and
 * API tokens are in emulator-login.test.ts, a large organisation in emulator-scale.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import * as oidcClient from 'openid-client';
import { fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { DETAIL, kubeServerPath } from '../src/api/types';
import type { Cluster, ClusterPage, Grant, K8sToken, Organisation, OrganisationDetail } from '../src/api/types';
import { EMAIL, IDS, offContract, startEmulator } from './helpers/emulator';
import type { ApiResponse, InProcessEmulator } from './helpers/emulator';

const { staging, prodEu, sandbox, globexStaging } = IDS.clusters;
const access = (cluster: string, rest = '') => `/api/v1/clusters/${cluster}/access${rest}`;
const mintPath = (cluster: string) => `/api/v1/clusters/${cluster}/k8s-token`;

interface GrantBody {
  user_email: unknown;
  scope?: unknown;
  namespace?: unknown;
  role?: unknown;
}

/** Small verbs over one emulator, so each test reads as the scenario it checks. */
function client(emu: InProcessEmulator) {
  const token = (email: string): string => {
    const t = emu.tokens[email];
    if (!t) throw new Error(`no token for ${email}`);
    return t;
  };
  const grant = (cluster: string, body: GrantBody, as: string = EMAIL.admin) =>
    emu.api<{ grant: Grant; detail?: unknown }>('POST', access(cluster, '/grants'), { token: token(as), body });
  const grants = async (cluster: string, as: string = EMAIL.admin): Promise<Grant[]> =>
    (await emu.api<{ result: Grant[] }>('GET', access(cluster, '/grants'), { token: token(as) })).body.result;
  const mint = (cluster: string, as: string) => emu.api<K8sToken>('POST', mintPath(cluster), { token: token(as) });
  /** A request under the cluster's `server` (the proxy's origin). */
  const kube = (cluster: string, k8sToken: string | undefined, path = '/version') =>
    emu.api<{ kind?: string; code?: number; reason?: string }>('GET', `${emu.proxyBaseUrl}${kubeServerPath(cluster)}${path}`, {
      ...(k8sToken !== undefined && { token: k8sToken }),
    });
  /** Polls the grant list until the grant reaches `status`. */
  const waitFor = async (cluster: string, id: string, status: Grant['reconcile_status']): Promise<Grant> => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const g = (await grants(cluster)).find((x) => x.id === id);
      if (g?.reconcile_status === status) return g;
      if (Date.now() > deadline) throw new Error(`grant ${id} is ${g?.reconcile_status}, not ${status}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { token, grant, grants, mint, kube, waitFor };
}

function expectDetail(res: ApiResponse, status: number, detail: string): void {
  expect({ status: res.status, body: res.body }).toEqual({ status, body: { detail } });
}

function expectInvalid(res: ApiResponse, loc: (string | number)[]): void {
  expect(res.status).toBe(422);
  const detail = (res.body as { detail: { loc: unknown[]; msg: string; type: string }[] }).detail;
  expect(detail.map((d) => d.loc)).toContainEqual(loc);
  for (const d of detail) expect(typeof d.msg === 'string' && typeof d.type === 'string').toBe(true);
}

describe('read-only endpoints', () => {
  let emu: InProcessEmulator;
  let c: ReturnType<typeof client>;
  beforeAll(async () => {
    emu = await startEmulator();
    c = client(emu);
  });
  afterAll(() => emu.stop());

  it('serves no route the platform keeps for browser sessions: they are unknown routes', async () => {
    const admin = { token: c.token(EMAIL.admin) };
    expectDetail(await emu.api('GET', '/api/v1/cli/oidc'), 404, 'Not Found');
    expectDetail(await emu.api('GET', access(staging, '/capabilities'), admin), 404, 'Not Found');
    expectDetail(await emu.api('GET', access(staging, '/members'), admin), 404, 'Not Found');
    expectDetail(await emu.api('POST', access(staging, '/revoke-all'), admin), 404, 'Not Found');
  });

  it('answers 401 for a missing, unknown or malformed bearer token', async () => {
    for (const opts of [{}, { token: 'ankra_pat_nope' }, { headers: { authorization: 'Basic Zm9vOmJhcg==' } }]) {
      const res = await emu.api('GET', '/api/v1/org/organisation', opts);
      expectDetail(res, 401, DETAIL.invalidToken);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('lists the caller’s organisations, current one marked, invitations included', async () => {
    const bob = await emu.api<Organisation[]>('GET', '/api/v1/org/organisation', { token: c.token(EMAIL.bob) });
    expect(bob.status).toBe(200);
    expect(bob.body).toEqual([
      { organisation_id: IDS.orgs.acme, name: 'Acme', slug: 'acme', user_current: true, status: 'active', role: 'member' },
      { organisation_id: IDS.orgs.globex, name: 'Globex', slug: 'globex', user_current: false, status: 'active', role: 'member' },
    ]);
    const carol = await emu.api<Organisation[]>('GET', '/api/v1/org/organisation', { token: c.token(EMAIL.carol) });
    expect(carol.body).toEqual([expect.objectContaining({ slug: 'acme', status: 'invited' })]);
  });

  it('scopes clusters to the current organisation or the one named by X-Ankra-Organisation-Id', async () => {
    const names = (r: ApiResponse<ClusterPage>) => r.body.result.map((x) => `${x.organisation_id === IDS.orgs.acme ? 'acme' : 'globex'}/${x.name}`);
    const acme = await emu.api<ClusterPage>('GET', '/api/v1/clusters', { token: c.token(EMAIL.bob) });
    expect(names(acme)).toEqual(['acme/staging', 'acme/prod-eu', 'acme/sandbox-1']);
    const globex = await emu.api<ClusterPage>('GET', '/api/v1/clusters', { token: c.token(EMAIL.bob), org: IDS.orgs.globex });
    expect(names(globex)).toEqual(['globex/staging']);
    expect(globex.body.result[0]).toMatchObject({ id: globexStaging, state: 'online', kind: 'imported', kube_version: 'v1.32.1' });

    for (const org of [IDS.orgs.globex, 'not-an-org', '00000000-0000-4000-8000-000000000000']) {
      expectDetail(await emu.api('GET', '/api/v1/clusters', { token: c.token(EMAIL.alice), org }), 403, DETAIL.notMember);
    }
    // Invited is not a member yet.
    expectDetail(await emu.api('GET', '/api/v1/clusters', { token: c.token(EMAIL.carol) }), 403, DETAIL.notMember);
  });

  it('finds one cluster by exact id (cluster_id), not another organisation’s', async () => {
    const byId = (id: string, as: string = EMAIL.admin) =>
      emu.api<ClusterPage>('GET', `/api/v1/clusters?cluster_id=${encodeURIComponent(id)}&page=1&page_size=1`, { token: c.token(as) });
    const one = await byId(prodEu);
    expect(one.status).toBe(200);
    expect(one.body.result.map((x) => x.name)).toEqual(['prod-eu']);
    expect(one.body.pagination).toEqual({ total_count: 1, total_pages: 1, page: 1, page_size: 1 });
    for (const id of [globexStaging, prodEu.slice(0, -1), 'c0ffee00-0000-4000-8000-000000000000', '']) {
      expect((await byId(id)).body).toEqual({ result: [], pagination: { total_count: 0, total_pages: 0, page: 1, page_size: 1 } });
    }
    // Bob sees Globex's cluster by id once he names Globex.
    const globex = await emu.api<ClusterPage>('GET', `/api/v1/clusters?cluster_id=${globexStaging}`, { token: c.token(EMAIL.bob), org: IDS.orgs.globex });
    expect(globex.body.result.map((x) => x.id)).toEqual([globexStaging]);
    // Both filters together must both match.
    const both = await emu.api<ClusterPage>('GET', `/api/v1/clusters?cluster_id=${staging}&cluster_name=prod-eu`, { token: c.token(EMAIL.admin) });
    expect(both.body.result).toEqual([]);
  });

  it('paginates clusters and finds one by exact name', async () => {
    const page = (q: string) => emu.api<ClusterPage>('GET', `/api/v1/clusters?${q}`, { token: c.token(EMAIL.admin) });
    const p1 = await page('page=1&page_size=2');
    const p2 = await page('page=2&page_size=2');
    const p3 = await page('page=3&page_size=2');
    expect(p1.body.result.map((x) => x.name)).toEqual(['staging', 'prod-eu']);
    expect(p2.body.result.map((x) => x.name)).toEqual(['sandbox-1']);
    expect(p3.body.result).toEqual([]);
    expect(p1.body.pagination).toEqual({ total_count: 3, total_pages: 2, page: 1, page_size: 2 });
    expect((await page('')).body.pagination).toEqual({ total_count: 3, total_pages: 1, page: 1, page_size: 25 });

    expect((await page('cluster_name=staging')).body.result.map((x) => x.id)).toEqual([staging]);
    expect((await page('cluster_name=stag')).body).toEqual({
      result: [],
      pagination: { total_count: 0, total_pages: 0, page: 1, page_size: 25 },
    });
  });

  it('rejects bad page parameters FastAPI-style', async () => {
    const page = (q: string) => emu.api('GET', `/api/v1/clusters?${q}`, { token: c.token(EMAIL.admin) });
    expectInvalid(await page('page=0'), ['query', 'page']);
    expectInvalid(await page('page=abc'), ['query', 'page']);
    expectInvalid(await page('page_size=0'), ['query', 'page_size']);
    expectInvalid(await page('page_size=101'), ['query', 'page_size']);
    expectInvalid(await page('page_size=1.5'), ['query', 'page_size']);
    expect((await page('page_size=100')).status).toBe(200);
  });

  it('details an organisation with its members and invitations, to active members only', async () => {
    const res = await emu.api<OrganisationDetail>('GET', `/api/v1/org/organisation/${IDS.orgs.acme}`, { token: c.token(EMAIL.alice) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ organisation_id: IDS.orgs.acme, name: 'Acme', slug: 'acme', created_at: '2024-11-02T08:00:00Z' });
    const users = res.body.users;
    expect(users.map((u) => u.email)).toEqual([EMAIL.admin, EMAIL.alice, EMAIL.bob, EMAIL.carol]);
    expect(users[0]).toEqual({ id: IDS.users.admin, invite_id: null, email: EMAIL.admin, status: 'active', role: 'admin', user_current: false });
    expect(users[1]).toEqual({ id: IDS.users.alice, invite_id: null, email: EMAIL.alice, status: 'active', role: 'member', user_current: true });
    // An invitation: an invite id, no user id.
    const carol = users[3];
    expect(carol).toMatchObject({ id: null, email: EMAIL.carol, status: 'invited', role: 'member', user_current: false });
    expect(carol?.invite_id).toMatch(/^[0-9a-f-]{36}$/);
    // The same invite id on every read.
    const again = await emu.api<OrganisationDetail>('GET', `/api/v1/org/organisation/${IDS.orgs.acme}`, { token: c.token(EMAIL.admin) });
    expect(again.body.users[3]?.invite_id).toBe(carol?.invite_id);

    // Bob is in Globex too, whatever his current organisation; the header plays no part.
    const globex = await emu.api<OrganisationDetail>('GET', `/api/v1/org/organisation/${IDS.orgs.globex}`, { token: c.token(EMAIL.bob) });
    expect(globex.body.users.map((u) => [u.email, u.role])).toEqual([
      [EMAIL.globexAdmin, 'admin'],
      [EMAIL.bob, 'member'],
    ]);

    // Not a member, only invited, an unknown or malformed id: the same 403, so ids cannot be probed.
    for (const [as, org] of [
      [EMAIL.alice, IDS.orgs.globex],
      [EMAIL.carol, IDS.orgs.acme],
      [EMAIL.alice, '00000000-0000-4000-8000-000000000000'],
      [EMAIL.alice, 'acme'],
      [EMAIL.alice, '%E0%A4%A'],
    ] as const) {
      expectDetail(await emu.api('GET', `/api/v1/org/organisation/${org}`, { token: c.token(as) }), 403, DETAIL.notMember);
    }
    expectDetail(await emu.api('GET', `/api/v1/org/organisation/${IDS.orgs.acme}`), 401, DETAIL.invalidToken);
  });

  it('answers 404 for unknown paths and 405 for wrong methods, as JSON', async () => {
    expectDetail(await emu.api('GET', '/nope'), 404, 'Not Found');
    expectDetail(await emu.api('GET', '/api/v1/nope', { token: c.token(EMAIL.admin) }), 404, 'Not Found');
    expectDetail(await emu.api('PUT', access(staging, '/grants'), { token: c.token(EMAIL.admin) }), 405, 'Method Not Allowed');
  });
});

describe('cluster errors on access, token and kubeconfig endpoints', () => {
  let emu: InProcessEmulator;
  let c: ReturnType<typeof client>;
  beforeAll(async () => {
    emu = await startEmulator();
    c = client(emu);
  });
  afterAll(() => emu.stop());

  const endpoints: [string, (cluster: string) => string][] = [
    ['GET', (id) => access(id, '/grants')],
    ['POST', (id) => access(id, '/grants')],
    ['DELETE', (id) => access(id, '/grants/3f0e0c1e-0000-4000-8000-000000000000')],
    ['POST', (id) => mintPath(id)],
    ['POST', (id) => `/api/v1/clusters/${id}/kubeconfig`],
  ];

  it.each(endpoints)('%s %s', async (method, path) => {
    const as = { token: c.token(EMAIL.admin), body: { user_email: EMAIL.alice, scope: 'cluster', role: 'view' } };
    expectDetail(await emu.api(method, path('c0ffee00-0000-4000-8000-000000000000'), as), 404, DETAIL.clusterNotFound);
    expectDetail(await emu.api(method, path('not-a-uuid'), as), 404, DETAIL.clusterNotFound);
    expectDetail(await emu.api(method, path('%E0%A4%A'), as), 404, DETAIL.clusterNotFound);
    // Another organisation's cluster looks exactly like a missing one.
    expectDetail(await emu.api(method, path(globexStaging), as), 404, DETAIL.clusterNotFound);
    expectDetail(await emu.api(method, path(sandbox), as), 409, DETAIL.sandbox);

    await emu.hook('POST', 'gateway', { enabled: false });
    try {
      expectDetail(await emu.api(method, path(staging), as), 404, DETAIL.gatewayDisabled);
      expectDetail(await emu.api(method, path(globexStaging), as), 404, DETAIL.clusterNotFound);
    } finally {
      await emu.hook('POST', 'gateway', { enabled: true });
    }
  });

  it('--gateway-disabled starts with the gateway off', async () => {
    const off = await startEmulator({ gatewayDisabled: true });
    try {
      expectDetail(await off.api('GET', access(staging, '/grants'), { token: client(off).token(EMAIL.admin) }), 404, DETAIL.gatewayDisabled);
    } finally {
      await off.stop();
    }
  });
});

describe('grants', () => {
  let emu: InProcessEmulator;
  let c: ReturnType<typeof client>;
  beforeEach(async () => {
    emu = await startEmulator();
    c = client(emu);
  });
  afterEach(() => emu.stop());

  it('creates a pending grant that becomes applied', async () => {
    const res = await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    expect(res.status).toBe(201);
    expect(res.body.grant).toMatchObject({
      organisation_id: IDS.orgs.acme,
      cluster_id: staging,
      ankra_user_id: IDS.users.alice,
      user_email: EMAIL.alice,
      scope: 'cluster',
      namespace: null,
      role: 'view',
      reconcile_status: 'pending',
      reconcile_error: null,
      reconciled_at: null,
    });
    expect(Date.parse(res.body.grant.created_at)).not.toBeNaN();
    const applied = await c.waitFor(staging, res.body.grant.id, 'applied');
    expect(Date.parse(applied.reconciled_at ?? '')).not.toBeNaN();
  });

  it('matches emails case-insensitively and refuses duplicates of user, scope and namespace', async () => {
    const first = await c.grant(staging, { user_email: 'Alice@ACME.test', scope: 'namespace', namespace: 'team-a', role: 'edit' });
    expect(first.status).toBe(201);
    expect(first.body.grant.user_email).toBe(EMAIL.alice);
    const dup = await c.grant(staging, { user_email: EMAIL.alice, scope: 'namespace', namespace: 'team-a', role: 'view' });
    expectDetail(dup, 409, DETAIL.grantExists);
    // Another namespace, another scope or another cluster is a different grant.
    expect((await c.grant(staging, { user_email: EMAIL.alice, scope: 'namespace', namespace: 'staging', role: 'view' })).status).toBe(201);
    expect((await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' })).status).toBe(201);
    expect((await c.grant(prodEu, { user_email: EMAIL.alice, scope: 'namespace', namespace: 'team-a', role: 'edit' })).status).toBe(201);
  });

  const invalidBodies: [string, GrantBody, (string | number)[]][] = [
    ['an unknown role', { user_email: EMAIL.alice, scope: 'cluster', role: 'owner' }, ['body', 'role']],
    ['a missing role', { user_email: EMAIL.alice, scope: 'cluster' }, ['body', 'role']],
    ['an unknown scope', { user_email: EMAIL.alice, scope: 'global', role: 'view' }, ['body', 'scope']],
    ['a namespace scope without namespace', { user_email: EMAIL.alice, scope: 'namespace', role: 'view' }, ['body', 'namespace']],
    ['a cluster scope with a namespace', { user_email: EMAIL.alice, scope: 'cluster', namespace: 'team-a', role: 'view' }, ['body', 'namespace']],
    ['a namespace that is not a DNS-1123 label', { user_email: EMAIL.alice, scope: 'namespace', namespace: 'Team_A', role: 'view' }, ['body', 'namespace']],
    ['a namespace ending in a dash', { user_email: EMAIL.alice, scope: 'namespace', namespace: 'team-', role: 'view' }, ['body', 'namespace']],
    ['a 64-character namespace', { user_email: EMAIL.alice, scope: 'namespace', namespace: 'a'.repeat(64), role: 'view' }, ['body', 'namespace']],
    ['cluster-admin at namespace scope', { user_email: EMAIL.alice, scope: 'namespace', namespace: 'team-a', role: 'cluster-admin' }, ['body', 'role']],
    ['a malformed email', { user_email: 'alice', scope: 'cluster', role: 'view' }, ['body', 'user_email']],
    ['a non-string email', { user_email: 42, scope: 'cluster', role: 'view' }, ['body', 'user_email']],
    ['someone outside the organisation', { user_email: EMAIL.globexAdmin, scope: 'cluster', role: 'view' }, ['body', 'user_email']],
    ['an unknown person', { user_email: 'nobody@acme.test', scope: 'cluster', role: 'view' }, ['body', 'user_email']],
    ['an invited, not yet active member', { user_email: EMAIL.carol, scope: 'cluster', role: 'view' }, ['body', 'user_email']],
  ];

  it.each(invalidBodies)('422 for %s', async (_name, body, loc) => {
    expectInvalid(await c.grant(staging, body), loc);
    expect(await c.grants(staging)).toEqual([]);
  });

  it('accepts a 63-character namespace and cluster-admin at cluster scope', async () => {
    const long = `a${'-'.repeat(61)}z`;
    expect((await c.grant(staging, { user_email: EMAIL.bob, scope: 'namespace', namespace: long, role: 'admin' })).status).toBe(201);
    expect((await c.grant(staging, { user_email: EMAIL.bob, scope: 'cluster', role: 'cluster-admin' })).status).toBe(201);
  });

  it('422 for a malformed or missing JSON body', async () => {
    const post = (opts: { rawBody?: string; body?: unknown }) =>
      emu.api('POST', access(staging, '/grants'), { token: c.token(EMAIL.admin), ...opts });
    expectInvalid(await post({ rawBody: '{"user_email": ' }), ['body', 0]);
    expectInvalid(await post({ rawBody: '' }), ['body']);
    expectInvalid(await post({ body: ['not', 'an', 'object'] }), ['body']);
    expectInvalid(await post({ body: null }), ['body']);
  });

  it('lets only organisation admins manage or list grants: members get permission_denied', async () => {
    const { body } = await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    for (const [method, path, payload] of [
      ['POST', access(staging, '/grants'), { user_email: EMAIL.bob, scope: 'cluster', role: 'view' }],
      ['DELETE', access(staging, `/grants/${body.grant.id}`), undefined],
      // Even a member who holds a grant there cannot read the list.
      ['GET', access(staging, '/grants'), undefined],
    ] as const) {
      const denied = await emu.api(method, path, { token: c.token(EMAIL.alice), ...(payload && { body: payload }) });
      expect(denied.status).toBe(403);
      expect(denied.body).toEqual({ detail: DETAIL.permissionDenied, permission: 'cluster_access:manage' });
    }
    expect((await c.grants(staging)).map((g) => g.id)).toEqual([body.grant.id]);
  });

  it('lists every grant of a cluster, oldest first, to admins', async () => {
    await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    await c.grant(staging, { user_email: EMAIL.bob, scope: 'namespace', namespace: 'team-a', role: 'edit' });
    expect((await c.grants(staging)).map((g) => g.user_email)).toEqual([EMAIL.alice, EMAIL.bob]);
    expect(await c.grants(prodEu)).toEqual([]);
  });

  it('a cluster offline at reconcile time goes cluster_offline, then applies when it returns', async () => {
    await emu.hook('POST', `clusters/${staging}`, { online: false });
    const { body } = await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    await c.waitFor(staging, body.grant.id, 'cluster_offline');
    const listed = await emu.api<ClusterPage>('GET', '/api/v1/clusters?cluster_name=staging', { token: c.token(EMAIL.admin) });
    expect(listed.body.result[0]?.state).toBe('offline');

    await emu.hook('POST', 'reconcile', { delay_ms: 300 });
    await emu.hook('POST', `clusters/${staging}`, { online: true });
    expect((await c.grants(staging))[0]?.reconcile_status).toBe('pending');
    await c.waitFor(staging, body.grant.id, 'applied');
  });

  it('an armed failure fails the next reconcile only', async () => {
    await emu.hook('POST', 'clusters/prod-eu', { fail_next_reconcile: 'admission webhook "rbac.acme" denied the request' });
    const first = await c.grant(prodEu, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    const failed = await c.waitFor(prodEu, first.body.grant.id, 'failed');
    expect(failed.reconcile_error).toBe('admission webhook "rbac.acme" denied the request');
    const second = await c.grant(prodEu, { user_email: EMAIL.bob, scope: 'cluster', role: 'view' });
    expect((await c.waitFor(prodEu, second.body.grant.id, 'applied')).reconcile_error).toBeNull();
  });

  it('a grant for a namespace the cluster lacks fails to reconcile', async () => {
    const { body } = await c.grant(staging, { user_email: EMAIL.alice, scope: 'namespace', namespace: 'ghost', role: 'view' });
    expect((await c.waitFor(staging, body.grant.id, 'failed')).reconcile_error).toBe('namespaces "ghost" not found');
  });

  it('deletes a grant by id, 404 for unknown ones or ones on another cluster', async () => {
    const { body } = await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    const del = (cluster: string, id: string) => emu.api('DELETE', access(cluster, `/grants/${id}`), { token: c.token(EMAIL.admin) });
    expectDetail(await del(prodEu, body.grant.id), 404, DETAIL.grantNotFound);
    expectDetail(await del(staging, 'f00dfeed-0000-4000-8000-000000000000'), 404, DETAIL.grantNotFound);
    expectDetail(await del(staging, '%zz'), 404, DETAIL.grantNotFound);
    expect((await del(staging, body.grant.id)).body).toEqual({ deleted: true });
    expectDetail(await del(staging, body.grant.id), 404, DETAIL.grantNotFound);
    expect(await c.grants(staging)).toEqual([]);
  });

  it('the hooks and the cluster list agree on the name clash', async () => {
    const ambiguous = await emu.api('POST', '/_emulator/clusters/staging', { body: { online: false } });
    expect(ambiguous.status).toBe(409);
    const byId = await emu.hook<{ id: string; online: boolean }>('POST', `clusters/${globexStaging}`, { online: false });
    expect(byId).toMatchObject({ id: globexStaging, online: false });
  });
});

describe('Kubernetes tokens', () => {
  let emu: InProcessEmulator;
  let c: ReturnType<typeof client>;
  beforeEach(async () => {
    emu = await startEmulator();
    c = client(emu);
  });
  afterEach(() => emu.stop());

  it('refuses a token without a grant, mints one with any grant: 200, server on the proxy’s origin', async () => {
    expectDetail(await c.mint(staging, EMAIL.alice), 403, DETAIL.noAccess);
    // The admin is no exception: admins grant themselves too.
    expectDetail(await c.mint(staging, EMAIL.admin), 403, DETAIL.noAccess);

    await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    const before = emu.state.clock.now();
    const res = await c.mint(staging, EMAIL.alice);
    expect(res.status).toBe(200);
    expect(emu.proxyBaseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(emu.proxyBaseUrl).not.toBe(emu.baseUrl);
    expect(res.body.server).toBe(`${emu.proxyBaseUrl}/api/v1/clusters/${staging}/k8s`);
    expect(res.body.token).toMatch(/^\S{20,}$/);
    expect(res.body.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const ttl = (Date.parse(res.body.expires_at) - before) / 1000;
    expect(ttl).toBeGreaterThan(898);
    expect(ttl).toBeLessThanOrEqual(901);
    // Bound to its cluster and user.
    expect((await c.kube(staging, res.body.token)).status).toBe(200);
    expect((await c.kube(prodEu, res.body.token)).status).toBe(401);
  });

  it('rate limits minting per user with Retry-After, on the emulator clock', async () => {
    await emu.hook('POST', 'rate-limit', { k8s_token_per_minute: 2 });
    await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    await c.grant(staging, { user_email: EMAIL.bob, scope: 'cluster', role: 'view' });
    expect((await c.mint(staging, EMAIL.alice)).status).toBe(200);
    expect((await c.mint(staging, EMAIL.alice)).status).toBe(200);
    const limited = await c.mint(staging, EMAIL.alice);
    expectDetail(limited, 429, DETAIL.rateLimited);
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another user has their own budget; the kubeconfig endpoint mints too.
    expect((await c.mint(staging, EMAIL.bob)).status).toBe(200);
    expect((await emu.api('POST', `/api/v1/clusters/${staging}/kubeconfig`, { token: c.token(EMAIL.alice) })).status).toBe(429);

    await emu.hook('POST', 'clock', { advance_s: retryAfter });
    expect((await c.mint(staging, EMAIL.alice)).status).toBe(200);
  });

  it('tokens expire on the emulator clock', async () => {
    await emu.hook('POST', 'ttl', { k8s_token_s: 60 });
    await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    const { body } = await c.mint(staging, EMAIL.alice);
    expect(Date.parse(body.expires_at) - emu.state.clock.now()).toBeLessThanOrEqual(60_000);
    expect((await c.kube(staging, body.token)).status).toBe(200);
    const clock = await emu.hook<{ offset_s: number; now: string }>('POST', 'clock', { advance_s: 61 });
    expect(clock.offset_s).toBe(61);
    const expired = await c.kube(staging, body.token);
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
  });

  it('deleting a grant invalidates that user’s tokens for the cluster only', async () => {
    const alice = await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    await c.grant(prodEu, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    await c.grant(staging, { user_email: EMAIL.bob, scope: 'cluster', role: 'view' });
    const aliceStaging = (await c.mint(staging, EMAIL.alice)).body.token;
    const aliceProd = (await c.mint(prodEu, EMAIL.alice)).body.token;
    const bobStaging = (await c.mint(staging, EMAIL.bob)).body.token;

    await emu.api('DELETE', access(staging, `/grants/${alice.body.grant.id}`), { token: c.token(EMAIL.admin) });
    expect((await c.kube(staging, aliceStaging)).body).toMatchObject({ kind: 'Status', code: 401 });
    expect((await c.kube(prodEu, aliceProd)).status).toBe(200);
    expect((await c.kube(staging, bobStaging)).status).toBe(200);
    expectDetail(await c.mint(staging, EMAIL.alice), 403, DETAIL.noAccess);
  });

  it('answers 201 instead of 200 when the hook says so (the Go CLI takes both)', async () => {
    await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    expect(await emu.hook('POST', 'k8s-token', { status: 201 })).toMatchObject({ k8s_token_status: 201 });
    expect((await c.mint(staging, EMAIL.alice)).status).toBe(201);
    await emu.hook('POST', 'k8s-token', { status: 200 });
    expect((await c.mint(staging, EMAIL.alice)).status).toBe(200);
    expect((await emu.api('POST', '/_emulator/k8s-token', { body: { status: 202 } })).status).toBe(400);
  });

  it('writes a kubeconfig with the server, the CA and a fresh token', async () => {
    await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    const res = await emu.api<string>('POST', `/api/v1/clusters/${staging}/kubeconfig`, { token: c.token(EMAIL.alice) });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/yaml');
    const config = parseYaml(res.text) as {
      clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[];
      users: { name: string; user: { token: string } }[];
      contexts: { name: string; context: { cluster: string; user: string } }[];
      'current-context': string;
    };
    expect(config.clusters[0]?.name).toBe('ankra-staging');
    expect(config.clusters[0]?.cluster.server).toBe(`${emu.proxyBaseUrl}${kubeServerPath(staging)}`);
    expect(Buffer.from(config.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString()).toBe(emu.caPem);
    expect(config.contexts[0]).toEqual({ name: 'ankra-staging', context: { cluster: 'ankra-staging', user: 'ankra-staging' } });
    expect(config['current-context']).toBe('ankra-staging');
    expect((await c.kube(staging, config.users[0]?.user.token)).status).toBe(200);
  });

  it('the Kubernetes gate answers with Status bodies: 401, 503 offline, 404 gateway off', async () => {
    await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    const { body } = await c.mint(staging, EMAIL.alice);
    expect((await c.kube(staging, undefined)).body).toMatchObject({ kind: 'Status', code: 401 });
    expect((await c.kube(staging, 'bogus')).body).toMatchObject({ kind: 'Status', code: 401 });

    await emu.hook('POST', `clusters/${staging}`, { online: false });
    expect((await c.kube(staging, body.token)).body).toMatchObject({ kind: 'Status', code: 503, reason: 'ServiceUnavailable' });
    await emu.hook('POST', `clusters/${staging}`, { online: true });

    await emu.hook('POST', 'gateway', { enabled: false });
    expect((await c.kube(staging, body.token)).body).toMatchObject({ kind: 'Status', code: 404 });
  });
});

describe('the Kubernetes proxy’s origin', () => {
  let emu: InProcessEmulator;
  let c: ReturnType<typeof client>;
  beforeAll(async () => {
    emu = await startEmulator();
    c = client(emu);
  });
  afterAll(() => emu.stop());

  it('serves Kubernetes paths on its own port only, and nothing else there', async () => {
    await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    const { body } = await c.mint(staging, EMAIL.alice);
    const onApi = `${emu.baseUrl}${kubeServerPath(staging)}/version`;
    // A client that derives `server` from the API's base URL gets the API's unknown route.
    expectDetail(await emu.api('GET', onApi, { token: body.token }), 404, 'Not Found');
    expect((await emu.api('GET', `${body.server}/version`, { token: body.token })).body).toMatchObject({ gitVersion: 'v1.31.4' });
    // The proxy's origin has no REST API, hooks or OIDC.
    for (const path of ['/api/v1/clusters', '/api/v1/org/organisation', '/_emulator/state', '/oidc/.well-known/openid-configuration', '/']) {
      expectDetail(await emu.api('GET', `${emu.proxyBaseUrl}${path}`, { token: c.token(EMAIL.alice) }), 404, 'Not Found');
    }
  });

  it('proxyOnApiOrigin (--proxy-on-api-origin) serves it on the API’s origin', async () => {
    const same = await startEmulator({ proxyOnApiOrigin: true });
    try {
      const sc = client(same);
      expect(same.proxyBaseUrl).toBe(same.baseUrl);
      await sc.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
      const { body } = await sc.mint(staging, EMAIL.alice);
      expect(body.server).toBe(`${same.baseUrl}${kubeServerPath(staging)}`);
      expect((await same.api('GET', `${body.server}/version`, { token: body.token })).status).toBe(200);
      expect((await same.api('GET', `${body.server}/version`, { token: 'nope' })).body).toMatchObject({ kind: 'Status', code: 401 });
    } finally {
      await same.stop();
    }
  });
});

describe('hooks that change the world', () => {
  let emu: InProcessEmulator;
  let c: ReturnType<typeof client>;
  beforeEach(async () => {
    emu = await startEmulator();
    c = client(emu);
  });
  afterEach(() => emu.stop());

  it('creates a cluster with any name, with the default namespaces, as the API lists it', async () => {
    const hostile = 'prod $(rm -rf ~) `id`\n\u001b[31mred\u001b[0m "quoted"';
    const cluster = await emu.hook<Cluster>('POST', 'clusters', { name: hostile, environment: 'production' });
    expect(cluster).toMatchObject({ name: hostile, organisation_id: IDS.orgs.acme, state: 'online', kind: 'imported', environment: 'production' });
    const listed = await emu.api<ClusterPage>('GET', `/api/v1/clusters?cluster_id=${cluster.id}`, { token: c.token(EMAIL.admin) });
    expect(listed.body.result).toEqual([cluster]);
    const byName = await emu.api<ClusterPage>('GET', `/api/v1/clusters?cluster_name=${encodeURIComponent(hostile)}`, { token: c.token(EMAIL.admin) });
    expect(byName.body.result.map((x) => x.id)).toEqual([cluster.id]);

    // Its Kubernetes API has the default namespaces.
    await c.grant(cluster.id, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    await emu.hook('POST', 'reconcile/now');
    const { body } = await c.mint(cluster.id, EMAIL.alice);
    const ns = await emu.api<{ items: { metadata: { name: string } }[] }>('GET', `${body.server}/api/v1/namespaces`, { token: body.token });
    expect(ns.body.items.map((i) => i.metadata.name).sort()).toEqual(['default', 'kube-system', 'staging', 'team-a']);

    const globex = await emu.hook<Cluster>('POST', 'clusters', { name: 'edge', organisation: 'globex', kind: 'sandbox', state: 'offline' });
    expect(globex).toMatchObject({ organisation_id: IDS.orgs.globex, kind: 'sandbox', state: 'offline' });
    for (const [bad, status] of [
      [{}, 400],
      [{ name: '' }, 400],
      [{ name: 'x', kind: 'managed' }, 400],
      [{ name: 'x', state: 'up' }, 400],
      [{ name: 'x', organisation: 'nope' }, 404],
    ] as const) {
      expect((await emu.api('POST', '/_emulator/clusters', { body: bad })).status).toBe(status);
    }
  });

  it('adds users and memberships, each with a fresh API token', async () => {
    const dave = await emu.hook<{ id: string; token: string; token_id: string; role: string; status: string }>('POST', 'users', {
      email: 'dave@acme.test',
      name: 'Dave <b>Dee</b>',
    });
    expect(dave).toMatchObject({ email: 'dave@acme.test', name: 'Dave <b>Dee</b>', organisation_id: IDS.orgs.acme, role: 'member', status: 'active' });
    const orgs = await emu.api<Organisation[]>('GET', '/api/v1/org/organisation', { token: dave.token });
    expect(orgs.body).toEqual([{ organisation_id: IDS.orgs.acme, name: 'Acme', slug: 'acme', user_current: true, status: 'active', role: 'member' }]);
    expect((await c.grant(staging, { user_email: 'dave@acme.test', scope: 'cluster', role: 'view' })).status).toBe(201);

    // An existing user joins another organisation, as an admin.
    const aliceInGlobex = await emu.hook<{ id: string; token: string }>('POST', 'users', { email: EMAIL.alice, organisation: 'globex', role: 'admin' });
    expect(aliceInGlobex.id).toBe(IDS.users.alice);
    const grants = await emu.api('GET', access(globexStaging, '/grants'), { token: aliceInGlobex.token, org: IDS.orgs.globex });
    expect(grants.status).toBe(200);

    // An invitation, then the same person accepting it.
    const invited = await emu.hook<{ status: string; invite_id: string | null }>('POST', 'users', { email: 'erin@acme.test', status: 'invited' });
    expect(invited).toMatchObject({ status: 'invited', invite_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const accepted = await emu.hook<{ status: string; invite_id: string | null }>('POST', 'users', { email: 'erin@acme.test' });
    expect(accepted).toMatchObject({ status: 'active', invite_id: null });

    for (const bad of [{}, { email: 'no-at-sign' }, { email: 'x@y.test', role: 'owner' }, { email: 'x@y.test', status: 'gone' }]) {
      expect((await emu.api('POST', '/_emulator/users', { body: bad })).status).toBe(400);
    }
  });

  it('removes a member from an organisation; their grants stay behind', async () => {
    const { body } = await c.grant(staging, { user_email: EMAIL.bob, scope: 'cluster', role: 'view' });
    expect(await emu.hook('POST', 'members/remove', { email: EMAIL.bob })).toEqual({ removed: true, email: EMAIL.bob, organisation_id: IDS.orgs.acme });
    // The offboarding gap: the grant is still listed, with the email, for an access review to find.
    expect((await c.grants(staging)).map((g) => [g.id, g.user_email])).toEqual([[body.grant.id, EMAIL.bob]]);
    const detail = await emu.api<OrganisationDetail>('GET', `/api/v1/org/organisation/${IDS.orgs.acme}`, { token: c.token(EMAIL.admin) });
    expect(detail.body.users.map((u) => u.email)).not.toContain(EMAIL.bob);
    // Bob can no longer act in Acme, nor be granted there; Globex is untouched.
    expectDetail(await emu.api('GET', '/api/v1/clusters', { token: c.token(EMAIL.bob) }), 403, DETAIL.notMember);
    expectDetail(await c.mint(staging, EMAIL.bob), 403, DETAIL.notMember);
    expectInvalid(await c.grant(prodEu, { user_email: EMAIL.bob, scope: 'cluster', role: 'view' }), ['body', 'user_email']);
    expect((await emu.api('GET', '/api/v1/clusters', { token: c.token(EMAIL.bob), org: IDS.orgs.globex })).status).toBe(200);
    expect((await emu.api('POST', '/_emulator/members/remove', { body: { email: EMAIL.bob } })).status).toBe(404);
    expect((await emu.api('POST', '/_emulator/members/remove', { body: { email: 'nobody@acme.test' } })).status).toBe(404);
  });

  it('limits every other API call per user when api_per_minute is set, with Retry-After', async () => {
    expect(await emu.hook('POST', 'rate-limit', { api_per_minute: 2 })).toMatchObject({ api_per_minute: 2, k8s_token_per_minute: 60 });
    const call = (as: string) => emu.api('GET', '/api/v1/org/organisation', { token: c.token(as) });
    expect((await call(EMAIL.alice)).status).toBe(200);
    expect((await call(EMAIL.alice)).status).toBe(200);
    const limited = await call(EMAIL.alice);
    expectDetail(limited, 429, DETAIL.rateLimited);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await call(EMAIL.bob)).status).toBe(200);
    // The mint has its own limit.
    await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    expect((await c.mint(staging, EMAIL.alice)).status).toBe(200);
    await emu.hook('POST', 'clock', { advance_s: 61 });
    expect((await call(EMAIL.alice)).status).toBe(200);
    await emu.hook('POST', 'rate-limit', { api_per_minute: null });
    for (let i = 0; i < 4; i++) expect((await call(EMAIL.alice)).status).toBe(200);
    expect((await emu.api('POST', '/_emulator/rate-limit', { body: {} })).status).toBe(400);
  });
});

describe('offContract: the request log against the token lane', () => {
  let emu: InProcessEmulator;
  let c: ReturnType<typeof client>;
  beforeAll(async () => {
    emu = await startEmulator();
    c = client(emu);
  });
  afterAll(() => emu.stop());

  it('finds nothing in a session that keeps to the contract, and every call that does not', async () => {
    await emu.clearRequests();
    const admin = c.token(EMAIL.admin);
    await emu.api('GET', '/api/v1/org/organisation', { token: admin });
    await emu.api('GET', `/api/v1/org/organisation/${IDS.orgs.acme}`, { token: admin });
    await emu.api('GET', '/api/v1/clusters?page=1&page_size=100', { token: admin });
    await emu.api('GET', `/api/v1/clusters?cluster_id=${staging}&page=1&page_size=1`, { token: admin });
    const { body } = await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    await c.grants(staging);
    const minted = await c.mint(staging, EMAIL.alice);
    await c.kube(staging, minted.body.token, '/api/v1/namespaces');
    await emu.api('DELETE', access(staging, `/grants/${body.grant.id}`), { token: admin });
    await emu.api('GET', '/api/v1/org/account/tokens', { token: admin });
    expect(await emu.offContract()).toEqual([]);

    await emu.clearRequests();
    await emu.api('GET', '/api/v1/cli/oidc');
    await emu.api('GET', access(staging, '/capabilities'), { token: admin });
    await emu.api('GET', `${emu.baseUrl}${kubeServerPath(staging)}/version`, { token: minted.body.token });
    await emu.api('GET', '/api/v1/clusters?name=staging', { token: admin });
    await emu.api('GET', '/oidc/.well-known/openid-configuration');
    await emu.api('GET', '/cli/login?state=x');
    const off = await emu.offContract();
    expect(off.map((e) => `${e.method} ${e.path}`)).toEqual([
      'GET /api/v1/cli/oidc',
      `GET ${access(staging, '/capabilities')}`,
      `GET ${kubeServerPath(staging)}/version`,
      'GET /api/v1/clusters',
      'GET /oidc/.well-known/openid-configuration',
      'GET /cli/login',
    ]);
    // Opting in to the OIDC provider and the browser page.
    expect((await emu.offContract({ oidc: true, browser: true })).map((e) => e.path)).toEqual([
      '/api/v1/cli/oidc',
      access(staging, '/capabilities'),
      `${kubeServerPath(staging)}/version`,
      '/api/v1/clusters',
    ]);
    // The standalone form takes the origins explicitly.
    const log = await emu.requests();
    expect(offContract(log, emu)).toEqual(off);
    // Were the proxy on the API's origin, the Kubernetes path there would be under `server`.
    expect(offContract(log, { baseUrl: emu.baseUrl, proxyBaseUrl: emu.baseUrl })).toEqual(off.filter((e) => !e.path.includes('/k8s/')));
  });
});

describe('faults, hooks and the request log', () => {
  let emu: InProcessEmulator;
  let c: ReturnType<typeof client>;
  beforeEach(async () => {
    emu = await startEmulator();
    c = client(emu);
  });
  afterEach(() => emu.stop());

  const orgs = () => emu.api('GET', '/api/v1/org/organisation', { token: c.token(EMAIL.alice) });

  it('adds latency, then answers normally', async () => {
    await emu.hook('POST', 'faults', { path_prefix: '/api/v1/org', latency_ms: 300, times: 1 });
    const started = Date.now();
    expect((await orgs()).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    // times: 1 — the fault is used up, and the next answer is plain.
    expect(await emu.hook('GET', 'faults')).toEqual([]);
    expect((await orgs()).status).toBe(200);
  });

  it('answers with an injected status a given number of times, by method', async () => {
    const { id } = await emu.hook<{ id: string }>('POST', 'faults', {
      path_prefix: '/api/v1/org',
      method: 'get',
      status: 503,
      detail: 'upstream hiccup',
      times: 2,
    });
    expect(id).toBeTruthy();
    expectDetail(await orgs(), 503, 'upstream hiccup');
    expectDetail(await orgs(), 503, 'upstream hiccup');
    expect((await orgs()).status).toBe(200);
  });

  it('429 with Retry-After', async () => {
    await emu.hook('POST', 'faults', { path_prefix: mintPath(staging), status: 429, retry_after_s: 7 });
    const res = await emu.api('POST', mintPath(staging), { token: c.token(EMAIL.alice) });
    expectDetail(res, 429, DETAIL.rateLimited);
    expect(res.headers['retry-after']).toBe('7');
  });

  it('resets the connection', async () => {
    await emu.hook('POST', 'faults', { path_prefix: '/api/v1/org', reset: true, times: 1 });
    await expect(orgs()).rejects.toThrow();
    expect((await orgs()).status).toBe(200);
    expect((await emu.requests({ path: '/api/v1/org' })).map((e) => e.status)).toEqual([0, 200]);
  });

  it('answers 200 with malformed JSON', async () => {
    await emu.hook('POST', 'faults', { path_prefix: '/api/v1/clusters', malformed: true });
    const res = await emu.api('GET', '/api/v1/clusters', { token: c.token(EMAIL.alice) });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(() => JSON.parse(res.text) as unknown).toThrow();
    await emu.hook('DELETE', 'faults');
    expect((await emu.api('GET', '/api/v1/clusters', { token: c.token(EMAIL.alice) })).status).toBe(200);
  });

  it('answers a given JSON body, with status 200 unless told, to serve odd or hostile answers', async () => {
    await emu.hook('POST', 'faults', {
      path_prefix: '/api/v1/clusters',
      json: { result: [{ id: staging, name: 7, state: null }], pagination: { total_count: 1, total_pages: 1e9, page: 1, page_size: 25 } },
      times: 2,
    });
    for (let i = 0; i < 2; i++) {
      const res = await emu.api<ClusterPage>('GET', `/api/v1/clusters?page=${i + 1}`, { token: c.token(EMAIL.alice) });
      expect(res.status).toBe(200);
      expect(res.body.pagination?.total_pages).toBe(1e9);
      expect(res.body.result[0]?.name).toBe(7);
    }
    expect((await emu.api<ClusterPage>('GET', '/api/v1/clusters', { token: c.token(EMAIL.alice) })).body.pagination?.total_pages).toBe(1);
    await emu.hook('POST', 'faults', { path_prefix: '/api/v1/org', json: null, status: 418, times: 1 });
    const teapot = await orgs();
    expect([teapot.status, teapot.text]).toEqual([418, 'null']);
    expect((await emu.api('POST', '/_emulator/faults', { body: { path_prefix: '/api', json: {}, status: 100 } })).status).toBe(400);
  });

  it('answers faults under a cluster’s server URL with a Kubernetes Status', async () => {
    await emu.hook('POST', 'faults', { path_prefix: kubeServerPath(staging), status: 500 });
    const res = await c.kube(staging, 'whatever');
    expect(res.body).toMatchObject({ kind: 'Status', code: 500, reason: 'InternalError' });
  });

  it('rejects bad hook bodies with 400 and names the field', async () => {
    const hook = (path: string, body: unknown) => emu.api('POST', `/_emulator/${path}`, { body });
    const bad = [
      await hook('faults', { path_prefix: 'api' }),
      await hook('faults', { path_prefix: '/api' }),
      await hook('faults', { path_prefix: '/api', status: 200 }),
      await hook('faults', { path_prefix: '/api', status: 500, times: 0 }),
      await hook('clock', { advance_s: -5 }),
      await hook('clock', {}),
      await hook('gateway', { enabled: 'yes' }),
      await hook('rate-limit', { k8s_token_per_minute: 0 }),
      await hook('pagination', { max_page_size: 1.5 }),
      await hook('ttl', { k8s_token_s: '60' }),
      await hook('clusters/nope', { online: false }),
      await emu.api('POST', '/_emulator/reconcile', { rawBody: '{' }),
      await emu.api('POST', '/_emulator/reconcile', { body: [1] }),
    ];
    expect(bad.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 404, 400, 400]);
    for (const r of bad) expect(typeof (r.body as { detail: unknown }).detail).toBe('string');
    expect((await emu.api('GET', '/_emulator/nope')).status).toBe(404);
  });

  it('serves larger page sizes in pages of the maximum set by the hook; 100 is the hard limit', async () => {
    await emu.hook('POST', 'pagination', { max_page_size: 2 });
    const page = (size: number) => emu.api<ClusterPage>('GET', `/api/v1/clusters?page_size=${size}`, { token: c.token(EMAIL.admin) });
    const p = await page(50);
    expect(p.status).toBe(200);
    expect(p.body.result).toHaveLength(2);
    expect(p.body.pagination).toMatchObject({ page_size: 2, total_pages: 2, total_count: 3 });
    expectInvalid(await page(101), ['query', 'page_size']);
    await emu.hook('POST', 'pagination', { max_page_size: 100 });
  });

  it('issues extra API tokens for seeded users', async () => {
    const { token, token_id } = await emu.hook<{ token: string; token_id: string }>('POST', 'api-tokens', { email: 'ALICE@acme.test' });
    expect(token).toMatch(/^ankra_pat_/);
    expect(token_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(token).not.toBe(c.token(EMAIL.alice));
    expect((await emu.api('GET', '/api/v1/org/organisation', { token })).status).toBe(200);
    expect((await emu.api('POST', '/_emulator/api-tokens', { body: { email: 'nobody@x.test' } })).status).toBe(404);
  });

  it('shows its state without secrets', async () => {
    await c.grant(staging, { user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    const minted = (await c.mint(staging, EMAIL.alice)).body.token;
    const res = await emu.api('GET', '/_emulator/state');
    expect(res.body).toMatchObject({
      settings: {
        gateway_enabled: true,
        k8s_token_per_minute: 60,
        k8s_token_status: 200,
        api_per_minute: 0,
        max_page_size: 100,
        accept_oidc_tokens: false,
        api_token_s: 90 * 24 * 3600,
      },
      live_k8s_tokens: { total: 1, by_cluster: { [staging]: 1 } },
      grants: [expect.objectContaining({ user_email: EMAIL.alice })],
      grant_count: 1,
    });
    for (const secret of [minted, ...Object.values(emu.tokens)]) expect(res.text).not.toContain(secret);
  });

  it('logs every API request with its user, status and query, oldest first, hooks excluded', async () => {
    await emu.clearRequests();
    await emu.api('GET', '/api/v1/clusters?page=1&page_size=2', { token: c.token(EMAIL.bob) });
    await emu.api('GET', '/api/v1/clusters', { token: 'wrong' });
    await emu.api('GET', '/api/v1/cli/login/init');
    await c.kube(staging, 'wrong');
    await emu.hook('GET', 'state');
    const log = await emu.requests();
    expect(log.map(({ method, path, query, status, user, origin }) => ({ method, path, query, status, user, origin }))).toEqual([
      { method: 'GET', path: '/api/v1/clusters', query: { page: '1', page_size: '2' }, status: 200, user: EMAIL.bob, origin: emu.baseUrl },
      { method: 'GET', path: '/api/v1/clusters', query: {}, status: 401, user: null, origin: emu.baseUrl },
      { method: 'GET', path: '/api/v1/cli/login/init', query: {}, status: 422, user: null, origin: emu.baseUrl },
      { method: 'GET', path: `${kubeServerPath(staging)}/version`, query: {}, status: 401, user: null, origin: emu.proxyBaseUrl },
    ]);
    for (const e of log) expect(Date.parse(e.ts)).not.toBeNaN();
    expect(await emu.requests({ user: EMAIL.bob, status: 200 })).toHaveLength(1);
    expect(await emu.requests({ path: /init$/ })).toHaveLength(1);
    await emu.clearRequests();
    expect(await emu.requests()).toEqual([]);
  });
});

describe('robustness', () => {
  let emu: InProcessEmulator;
  let c: ReturnType<typeof client>;
  beforeAll(async () => {
    emu = await startEmulator();
    c = client(emu);
  });
  afterAll(() => emu.stop());

  it('survives malformed requests and keeps serving', async () => {
    const admin = { token: c.token(EMAIL.admin) };
    expect((await emu.api('POST', access(staging, '/grants'), { ...admin, rawBody: 'x'.repeat(2 * 1024 * 1024) })).status).toBe(413);
    expect((await emu.api('POST', access(staging, '/grants'), { ...admin, rawBody: '\u0000\u00ff{' })).status).toBe(422);
    expect((await emu.api('GET', '/api/v1/clusters/%/access/grants', admin)).status).toBe(404);
    expect((await emu.api('GET', '//api/v1/clusters', admin)).status).toBe(404);
    expect((await emu.api('GET', '/api/v1/clusters?page=%zz', admin)).status).toBe(422);
    expect((await emu.api('POST', '/_emulator/clusters/%E0%A4%A', { body: {} })).status).toBe(400);
    expect((await emu.api('GET', '/api/v1/org/organisation', { headers: { authorization: 'Bearer' } })).status).toBe(401);

    // Not HTTP at all, over TLS.
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(new URL(emu.baseUrl).port), ca: emu.caPem }, () => {
        socket.end('GARBAGE \u0000\r\n\r\n');
      });
      socket.on('error', reject);
      socket.on('close', () => resolve());
      socket.resume();
    });
    expect((await emu.api('GET', '/api/v1/org/organisation', admin)).status).toBe(200);
  });
});

describe('OIDC access tokens', () => {
  let emu: InProcessEmulator;
  beforeAll(async () => {
    emu = await startEmulator({ autoApprove: EMAIL.alice });
  });
  afterAll(() => emu.stop());

  /** A device-flow login with openid-client against the issuer the test names (nothing advertises it), approved unattended. */
  async function login(): Promise<string> {
    const customFetch: oidcClient.CustomFetch = (url, options) =>
      undiciFetch(url, { ...options, dispatcher: emu.dispatcher }) as unknown as Promise<Response>;
    const config = await oidcClient.discovery(new URL(emu.issuer), 'ankra-cli', undefined, oidcClient.None(), {
      [oidcClient.customFetch]: customFetch,
    });
    const flow = await oidcClient.initiateDeviceAuthorization(config, { scope: 'openid email profile offline_access' });
    const tokens = await oidcClient.pollDeviceAuthorizationGrant(config, { ...flow, interval: 0.02 });
    return tokens.access_token;
  }

  it('are refused by the REST API by default, as the platform takes Ankra API tokens only', async () => {
    const accessToken = await login();
    expectDetail(await emu.api('GET', '/api/v1/org/organisation', { token: accessToken }), 401, DETAIL.invalidToken);
    expect(await emu.requests({ path: '/oidc/token' })).not.toEqual([]);
  });

  it('are accepted as the approved user once the hook plays a deployment with an OIDC provider in front', async () => {
    const accessToken = await login();
    expect(await emu.hook('POST', 'oidc/accept-tokens', { enabled: true })).toMatchObject({ accept_oidc_tokens: true });
    try {
      const res = await emu.api<Organisation[]>('GET', '/api/v1/org/organisation', { token: accessToken });
      expect(res.status).toBe(200);
      expect(res.body.map((o) => o.slug)).toEqual(['acme']);
      expect(await emu.requests({ path: '/api/v1/org/organisation', user: EMAIL.alice, status: 200 })).toHaveLength(1);
    } finally {
      await emu.hook('POST', 'oidc/accept-tokens', { enabled: false });
    }
    expect((await emu.api('GET', '/api/v1/org/organisation', { token: accessToken })).status).toBe(401);
  });

  it('acceptOidcTokens (--accept-oidc-tokens) starts in that mode', async () => {
    const other = await startEmulator({ autoApprove: EMAIL.bob, acceptOidcTokens: true });
    try {
      const customFetch: oidcClient.CustomFetch = (url, options) =>
        undiciFetch(url, { ...options, dispatcher: other.dispatcher }) as unknown as Promise<Response>;
      const config = await oidcClient.discovery(new URL(other.issuer), 'ankra-cli', undefined, oidcClient.None(), {
        [oidcClient.customFetch]: customFetch,
      });
      const flow = await oidcClient.initiateDeviceAuthorization(config, { scope: 'openid' });
      const tokens = await oidcClient.pollDeviceAuthorizationGrant(config, { ...flow, interval: 0.02 });
      const res = await other.api<Organisation[]>('GET', '/api/v1/org/organisation', { token: tokens.access_token });
      expect(res.body.map((o) => o.slug)).toEqual(['acme', 'globex']);
    } finally {
      await other.stop();
    }
  });

  it('hooks that the provider refuses answer 400, not 500', async () => {
    const res = await emu.api('POST', '/_emulator/oidc/approve', { body: { user_code: 'NOPE-NOPE', email: EMAIL.alice } });
    expect(res.status).toBe(400);
    expect((await emu.api('POST', '/_emulator/oidc/auto-approve', { body: { email: 'nobody@x.test' } })).status).toBe(400);
    expect((await emu.api('POST', '/_emulator/ttl', { body: { poll_interval_s: 0 } })).status).toBe(400);
    expect((await emu.api('POST', '/_emulator/oidc/accept-tokens', { body: { enabled: 'yes' } })).status).toBe(400);
  });
});

// ------------------------------------------------------------ the real kubectl

const kubectlFound = await new Promise<boolean>((resolve) => execFile('kubectl', ['version', '--client'], (err) => resolve(!err)));
const inCi = process.env.CI === 'true';

interface Kubectl {
  code: number;
  stdout: string;
  stderr: string;
}

describe.skipIf(!kubectlFound && !inCi)('the real kubectl against the facade', () => {
  let emu: InProcessEmulator;
  let c: ReturnType<typeof client>;
  let dir: string;
  beforeAll(async () => {
    expect(kubectlFound, 'kubectl must be on PATH in CI').toBe(true);
    emu = await startEmulator({ reconcileDelayMs: 0 });
    c = client(emu);
    dir = await mkdtemp(join(tmpdir(), 'ankra-kubectl-'));
  });
  afterAll(async () => {
    await emu.stop();
    await rm(dir, { recursive: true, force: true });
  });

  let seq = 0;
  /** Mints alice a token over REST and writes the kubeconfig a user would have; returns a kubectl runner. */
  async function kubectlAs(email: string, cluster = staging): Promise<(...args: string[]) => Promise<Kubectl>> {
    const minted = await c.mint(cluster, email);
    expect(minted.status).toBe(200);
    // kubectl talks to the proxy's own port, never the API's.
    expect(minted.body.server.startsWith(`${emu.proxyBaseUrl}/`)).toBe(true);
    const home = join(dir, `home-${++seq}`);
    const kubeconfig = join(dir, `kubeconfig-${seq}`);
    await writeFile(kubeconfig, kubeconfigYaml(minted.body.server, emu.caPem, minted.body.token), { mode: 0o600 });
    return (...args) => kubectl(kubeconfig, home, args);
  }

  async function grantApplied(body: GrantBody, cluster = staging): Promise<string> {
    const res = await c.grant(cluster, body);
    expect(res.status).toBe(201);
    await c.waitFor(cluster, res.body.grant.id, 'applied');
    return res.body.grant.id;
  }

  /** `kubectl auth can-i` for several questions at once: "yes"/"no" each. */
  async function canI(run: (...args: string[]) => Promise<Kubectl>, questions: string[][]): Promise<string[]> {
    const answers = await Promise.all(questions.map((q) => run('auth', 'can-i', ...q)));
    return answers.map((a) => a.stdout.trim());
  }

  it('view at cluster scope: reads everywhere but secrets, writes nothing; whoami', async () => {
    await grantApplied({ user_email: EMAIL.alice, scope: 'cluster', role: 'view' });
    const run = await kubectlAs(EMAIL.alice);

    const ns = await run('get', 'ns', '-o', 'name');
    expect(ns.stderr).toBe('');
    expect(ns.stdout.trim().split('\n').sort()).toEqual(['namespace/default', 'namespace/kube-system', 'namespace/staging', 'namespace/team-a']);

    expect(
      await canI(run, [
        ['list', 'pods', '-n', 'team-a'],
        ['get', 'configmaps', '-n', 'staging'],
        ['get', 'secrets', '-n', 'staging'],
        ['create', 'configmaps', '-n', 'staging'],
        ['delete', 'pods', '-n', 'team-a'],
      ]),
    ).toEqual(['yes', 'yes', 'no', 'no', 'no']);

    const secrets = await run('get', 'secrets', '-n', 'staging');
    expect(secrets.code).toBe(1);
    expect(secrets.stderr).toContain('Forbidden');

    const whoami = await run('auth', 'whoami', '-o', 'json');
    expect(whoami.code).toBe(0);
    const status = (JSON.parse(whoami.stdout) as { status: { userInfo: { username: string; groups: string[] } } }).status;
    expect(status.userInfo.username).toBe(EMAIL.alice);
    expect(status.userInfo.groups).toEqual(expect.arrayContaining(['system:authenticated', 'ankra:org:acme']));
  });

  it('edit in one namespace: that namespace only, no RBAC, no namespace list', async () => {
    await grantApplied({ user_email: EMAIL.bob, scope: 'namespace', namespace: 'team-a', role: 'edit' });
    const run = await kubectlAs(EMAIL.bob);

    const ns = await run('get', 'ns');
    expect(ns.code).toBe(1);
    expect(ns.stderr).toContain('Forbidden');
    const pods = await run('get', 'pods', '-n', 'team-a', '-o', 'name');
    expect(pods.stdout).toContain('pod/web-');

    expect(
      await canI(run, [
        ['create', 'configmaps', '-n', 'team-a'],
        ['get', 'secrets', '-n', 'team-a'],
        ['create', 'rolebindings', '-n', 'team-a'],
        ['list', 'pods', '-n', 'staging'],
        ['list', 'namespaces'],
      ]),
    ).toEqual(['yes', 'yes', 'no', 'no', 'no']);
  });

  it('admin in a namespace manages RBAC there; cluster-admin can do anything', async () => {
    await grantApplied({ user_email: EMAIL.alice, scope: 'namespace', namespace: 'team-a', role: 'admin' }, prodEu);
    const nsAdmin = await kubectlAs(EMAIL.alice, prodEu);
    expect(
      await canI(nsAdmin, [
        ['create', 'rolebindings', '-n', 'team-a'],
        ['delete', 'secrets', '-n', 'team-a'],
        ['get', 'secrets', '-n', 'staging'],
      ]),
    ).toEqual(['yes', 'yes', 'no']);

    await grantApplied({ user_email: EMAIL.admin, scope: 'cluster', role: 'cluster-admin' }, prodEu);
    const clusterAdmin = await kubectlAs(EMAIL.admin, prodEu);
    expect(await canI(clusterAdmin, [['*', '*'], ['create', 'clusterrolebindings']])).toEqual(['yes', 'yes']);
    expect((await clusterAdmin('get', 'secrets', '-A', '-o', 'name')).stdout).toContain('secret/db-credentials');
  });

  it('Forbidden while the grant is pending; Unauthorized once it is revoked', async () => {
    await emu.hook('POST', 'reconcile', { delay_ms: 60_000 });
    const res = await c.grant(prodEu, { user_email: EMAIL.bob, scope: 'cluster', role: 'view' });
    await emu.hook('POST', 'reconcile', { delay_ms: 0 });
    const run = await kubectlAs(EMAIL.bob, prodEu);
    const pending = await run('get', 'ns');
    expect(pending.code).toBe(1);
    expect(pending.stderr).toContain('Forbidden');

    await emu.api('DELETE', access(prodEu, `/grants/${res.body.grant.id}`), { token: c.token(EMAIL.admin) });
    const revoked = await run('get', 'ns');
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toMatch(/Unauthorized|must be logged in/);
  });

  it('the kubeconfig endpoint’s output works as is', async () => {
    const res = await emu.api('POST', `/api/v1/clusters/${staging}/kubeconfig`, { token: c.token(EMAIL.alice) });
    const kubeconfig = join(dir, 'from-endpoint');
    await writeFile(kubeconfig, res.text, { mode: 0o600 });
    const whoami = await kubectl(kubeconfig, join(dir, 'home-endpoint'), ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    expect(whoami).toMatchObject({ code: 0, stdout: EMAIL.alice });
  });
});

function kubeconfigYaml(server: string, caPem: string, token: string): string {
  return stringifyYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'emu', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'emu', user: { token } }],
    contexts: [{ name: 'emu', context: { cluster: 'emu', user: 'emu' } }],
    'current-context': 'emu',
  });
}

/** Runs kubectl asynchronously (the emulator shares this process) with a private HOME for its discovery cache. */
function kubectl(kubeconfig: string, home: string, args: string[]): Promise<Kubectl> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  delete env.KUBECONFIG;
  return new Promise((resolve) => {
    execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}
