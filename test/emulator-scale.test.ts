/**
 * A large organisation (`POST /_emulator/generate`): numbered clusters, members and grants
 * that the REST API, the organisation detail and the Kubernetes proxy serve like seeded
 * ones, grant lists of tens of thousands in one answer, numbering that goes on across
 * calls, and the hook's refusals. Speed is measured in `npm run bench`, not here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterPage, Grant, K8sToken, OrganisationDetail } from '../src/api/types';
import { EMAIL, IDS, startEmulator } from './helpers/emulator';
import type { InProcessEmulator } from './helpers/emulator';

interface Generated {
  organisation_id: string;
  clusters_added: number;
  members_added: number;
  grants_added: number;
  grants_cluster: { id: string; name: string } | null;
}

describe('a generated organisation', () => {
  let emu: InProcessEmulator;
  let admin: string;
  let first: Generated;
  beforeAll(async () => {
    emu = await startEmulator();
    admin = emu.tokens[EMAIL.admin] ?? '';
    first = await emu.hook<Generated>('POST', 'generate', { clusters: 20, members: 300, grants: 10_000, grants_per_cluster: 3 });
  });
  afterAll(() => emu.stop());

  const grantsOf = async (clusterId: string): Promise<Grant[]> => {
    const res = await emu.api<{ result: Grant[] }>('GET', `/api/v1/clusters/${clusterId}/access/grants`, { token: admin });
    expect(res.status).toBe(200);
    return res.body.result;
  };

  it('reports what it added', () => {
    expect(first).toEqual({
      organisation_id: IDS.orgs.acme,
      clusters_added: 20,
      members_added: 300,
      grants_added: 10_000 + 20 * 3,
      grants_cluster: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'gen-big' },
    });
  });

  it('lists 10,000 applied grants of one cluster in one answer, each unique, to generated members', async () => {
    const grants = await grantsOf(first.grants_cluster?.id ?? '');
    expect(grants).toHaveLength(10_000);
    expect(new Set(grants.map((g) => g.id)).size).toBe(10_000);
    expect(new Set(grants.map((g) => `${g.ankra_user_id} ${g.scope} ${g.namespace}`)).size).toBe(10_000);
    expect(grants.every((g) => g.reconcile_status === 'applied' && g.reconciled_at !== null)).toBe(true);
    expect(grants.every((g) => /^user\d{4}@gen\.test$/.test(g.user_email ?? ''))).toBe(true);
    // 300 cluster-wide views, then rounds of namespace grants with varied roles.
    expect(grants.filter((g) => g.scope === 'cluster')).toHaveLength(300);
    expect(new Set(grants.map((g) => g.role))).toEqual(new Set(['view', 'edit', 'admin']));
  });

  it('lists the clusters, numbered, with pagination, and the members in the organisation detail', async () => {
    const page = await emu.api<ClusterPage>('GET', '/api/v1/clusters?page=1&page_size=100', { token: admin });
    expect(page.body.pagination).toEqual({ total_count: 3 + 20 + 1, total_pages: 1, page: 1, page_size: 100 });
    const names = page.body.result.map((c) => c.name);
    expect(names.slice(3, 6)).toEqual(['gen-0001', 'gen-0002', 'gen-0003']);
    expect(names).toContain('gen-0020');
    expect(names.at(-1)).toBe('gen-big');
    const gen1 = page.body.result[3]?.id ?? '';
    expect(await grantsOf(gen1)).toHaveLength(3);

    const detail = await emu.api<OrganisationDetail>('GET', `/api/v1/org/organisation/${IDS.orgs.acme}`, { token: admin });
    expect(detail.body.users).toHaveLength(4 + 300);
    expect(detail.body.users.at(-1)).toMatchObject({ email: 'user0300@gen.test', status: 'active', role: 'member', invite_id: null });
  });

  it('a generated member can mint for a generated cluster and reach its Kubernetes API', async () => {
    const clusterId = first.grants_cluster?.id ?? '';
    const { token } = await emu.apiToken('user0042@gen.test');
    const minted = await emu.api<K8sToken>('POST', `/api/v1/clusters/${clusterId}/k8s-token`, { token });
    expect(minted.status).toBe(200);
    const ns = await emu.api<{ items: { metadata: { name: string } }[] }>('GET', `${minted.body.server}/api/v1/namespaces`, { token: minted.body.token });
    expect(ns.status).toBe(200);
    expect(ns.body.items.map((i) => i.metadata.name)).toContain('team-a');
  });

  it('goes on numbering where the last call stopped, and adds to an existing cluster by name or id', async () => {
    const more = await emu.hook<Generated>('POST', 'generate', { clusters: 2, members: 2, grants: 5, grants_cluster: 'gen-big' });
    expect(more).toMatchObject({ clusters_added: 2, members_added: 2, grants_added: 5, grants_cluster: first.grants_cluster });
    expect(await grantsOf(first.grants_cluster?.id ?? '')).toHaveLength(10_005);
    const page = await emu.api<ClusterPage>('GET', '/api/v1/clusters?cluster_name=gen-0022', { token: admin });
    expect(page.body.result).toHaveLength(1);
    expect((await emu.apiToken('user0302@gen.test')).token).toMatch(/^ankra_pat_/);
    const byId = await emu.hook<Generated>('POST', 'generate', { grants: 1, grants_cluster: IDS.clusters.prodEu });
    expect(byId.grants_cluster).toEqual({ id: IDS.clusters.prodEu, name: 'prod-eu' });
  });

  it('refuses what it cannot or should not do', async () => {
    const post = (body: unknown) => emu.api<{ detail: string }>('POST', '/_emulator/generate', { body });
    expect((await post({ organisation: 'nope', clusters: 1 })).status).toBe(404);
    for (const body of [{ clusters: -1 }, { clusters: 10_001 }, { members: 1.5 }, { grants: 'many' }, { grants_per_cluster: 1001 }, { grants_cluster: '' }]) {
      expect((await post(body)).status).toBe(400);
    }
  });
});

describe('grant lists of a cluster at its largest', () => {
  it('serves 50,000 grants of one cluster in one answer (tens of MiB)', async () => {
    const emu = await startEmulator();
    try {
      const gen = await emu.hook<Generated>('POST', 'generate', { members: 2500, grants: 50_000 });
      const res = await emu.api<{ result: Grant[] }>('GET', `/api/v1/clusters/${gen.grants_cluster?.id ?? ''}/access/grants`, {
        token: emu.tokens[EMAIL.admin] ?? '',
      });
      expect(res.status).toBe(200);
      expect(res.body.result).toHaveLength(50_000);
      expect(res.text.length).toBeGreaterThan(16 * 1024 * 1024);
      // The state hook stays small however many grants there are.
      const state = await emu.hook<{ grants: unknown[]; grant_count: number }>('GET', 'state');
      expect([state.grants.length, state.grant_count]).toEqual([1000, 50_000]);
    } finally {
      await emu.stop();
    }
  });

  it('an organisation without active members has no one to grant', async () => {
    const emu = await startEmulator({
      seed: {
        users: [{ id: 'b1000000-0000-4000-8000-000000000001', email: 'x@empty.test', name: 'X', current_organisation: 'empty' }],
        organisations: [
          {
            id: 'a1000000-0000-4000-8000-000000000001',
            name: 'Empty',
            slug: 'empty',
            members: [{ email: 'x@empty.test', role: 'admin', status: 'invited' }],
            clusters: [],
          },
        ],
      },
    });
    try {
      const res = await emu.api<{ detail: string }>('POST', '/_emulator/generate', { body: { organisation: 'empty', grants: 1 } });
      expect(res.status).toBe(400);
      expect(res.body.detail).toMatch(/no active members/);
    } finally {
      await emu.stop();
    }
  });
});
