// Two organisations with a cluster of the same name, through the kubeconfig library: names
// as Ankra's Go CLI picks them (`ankra-<slug>`, then `ankra-<org slug>-<slug>` when another
// organisation's context holds the name, then the id suffix), existing entries keeping
// their names, and removal kept to one organisation. The real kubectl reads the results.
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { listAnkraContexts, removeAnkraEntries, upsertAnkraEntries } from '../src/kube/kubeconfig';
import type { EntrySpec, KubeconfigLocation } from '../src/kube/kubeconfig';

const root = mkdtempSync(join(tmpdir(), 'ankra-kubeconfig-orgs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let files = 0;
const fresh = (): KubeconfigLocation => ({ files: [join(root, `config-${files++}`)], explicit: true });
const run = promisify(execFile);

const ACME = { id: 'a0000000-0000-4000-8000-00000000acme', slug: 'acme' };
const GLOBEX = { id: 'b0000000-0000-4000-8000-0000000globx', slug: 'globex' };
const ACME_STAGING = 'c0000000-0000-4000-8000-000000000001';
const GLOBEX_STAGING = 'c0000000-0000-4000-8000-000000000004';
const ACME_STAGING_2 = 'c0000000-0000-4000-8000-000000000005';

function staging(clusterId: string, org: { id: string; slug: string } | undefined, extra: Partial<EntrySpec> = {}): EntrySpec {
  return {
    clusterId,
    clusterName: 'staging',
    server: `https://platform.ankra.app/api/v1/clusters/${clusterId}/k8s`,
    ...(org ? { organisation: org } : {}),
    exec: { command: 'ankra', ...(org ? { orgId: org.id } : {}) },
    ...extra,
  };
}

/** context name → the cluster id and --org its user runs, as the real kubectl resolves them. */
async function kubectlContexts(loc: KubeconfigLocation): Promise<Record<string, { cluster?: string; org?: string }>> {
  const { stdout } = await run('kubectl', ['config', 'view', '--raw', '-o', 'json', '--kubeconfig', loc.files[0]!], { env: { PATH: process.env.PATH, HOME: root } });
  const view = JSON.parse(stdout) as {
    contexts: Array<{ name: string; context: { user: string } }> | null;
    users: Array<{ name: string; user: { exec?: { args: string[] } } }> | null;
  };
  const arg = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
  return Object.fromEntries(
    (view.contexts ?? []).map((c) => {
      const args = view.users?.find((u) => u.name === c.context.user)?.user.exec?.args ?? [];
      return [c.name, { cluster: arg(args, '--cluster'), org: args.includes('--org') ? arg(args, '--org') : undefined }];
    }),
  );
}

describe('names across organisations', () => {
  it("a second organisation's `staging` is `ankra-<org slug>-staging`; a second `staging` in one organisation gets the id suffix", async () => {
    const loc = fresh();
    await upsertAnkraEntries(loc, [staging(ACME_STAGING, ACME)]);
    const globex = await upsertAnkraEntries(loc, [staging(GLOBEX_STAGING, GLOBEX)]);
    expect(globex.entries.map((e) => [e.name, e.action])).toEqual([['ankra-globex-staging', 'added']]);
    const acme2 = await upsertAnkraEntries(loc, [staging(ACME_STAGING_2, ACME)]);
    expect(acme2.entries.map((e) => e.name)).toEqual(['ankra-staging-c0000000']);
    expect(await kubectlContexts(loc)).toEqual({
      'ankra-staging': { cluster: ACME_STAGING, org: ACME.id },
      'ankra-globex-staging': { cluster: GLOBEX_STAGING, org: GLOBEX.id },
      'ankra-staging-c0000000': { cluster: ACME_STAGING_2, org: ACME.id },
    });
  });

  it('existing entries keep their names: they are found by cluster id and organisation, never by name', async () => {
    const loc = fresh();
    await upsertAnkraEntries(loc, [staging(ACME_STAGING, ACME), staging(GLOBEX_STAGING, GLOBEX)]);
    // in one call too, the second organisation's cluster gets the org slug
    expect((await listAnkraContexts(loc)).map((c) => c.context)).toEqual(['ankra-staging', 'ankra-globex-staging']);
    // a later add, in either order and with a new namespace, replaces them where they are
    const again = await upsertAnkraEntries(loc, [staging(GLOBEX_STAGING, GLOBEX, { namespace: 'team-a' }), staging(ACME_STAGING, ACME)]);
    expect(again.entries.map((e) => [e.name, e.action])).toEqual([['ankra-globex-staging', 'replaced'], ['ankra-staging', 'unchanged']]);
    // an entry written before, under another name (an id suffix), keeps that name
    const old = fresh();
    await upsertAnkraEntries(old, [staging(ACME_STAGING, ACME)]);
    await upsertAnkraEntries(old, [staging(GLOBEX_STAGING, { ...GLOBEX, slug: '' })]); // slug unknown then: id suffix
    const renamedOrg = await upsertAnkraEntries(old, [staging(GLOBEX_STAGING, GLOBEX)]);
    expect(renamedOrg.entries.map((e) => [e.name, e.action])).toEqual([['ankra-staging-c0000000', 'unchanged']]);
  });

  it('the org-slug name taken by a foreign entry falls back to the id suffix; a foreign `ankra-staging` never gets the org slug', async () => {
    const loc = fresh();
    writeFileSync(loc.files[0]!, 'contexts:\n- name: ankra-globex-staging\n  context: {cluster: x, user: y}\n');
    await upsertAnkraEntries(loc, [staging(ACME_STAGING, ACME)]);
    const res = await upsertAnkraEntries(loc, [staging(GLOBEX_STAGING, GLOBEX)]);
    expect(res.entries.map((e) => e.name)).toEqual(['ankra-staging-c0000000']);

    const foreign = fresh();
    writeFileSync(foreign.files[0]!, 'contexts:\n- name: ankra-staging\n  context: {cluster: x, user: y}\n');
    expect((await upsertAnkraEntries(foreign, [staging(GLOBEX_STAGING, GLOBEX)])).entries.map((e) => e.name)).toEqual(['ankra-staging-c0000000']);
  });
});

describe('removal kept to one organisation', () => {
  /** Acme's and Globex's staging, and one written without --org (it runs in whatever organisation is current). */
  async function three(): Promise<KubeconfigLocation> {
    const loc = fresh();
    await upsertAnkraEntries(loc, [staging(ACME_STAGING, ACME)]);
    await upsertAnkraEntries(loc, [staging(GLOBEX_STAGING, GLOBEX)]);
    await upsertAnkraEntries(loc, [staging(ACME_STAGING_2, undefined, { clusterName: 'no org' })]);
    expect((await listAnkraContexts(loc)).map((c) => [c.context, c.orgId])).toEqual([
      ['ankra-staging', ACME.id],
      ['ankra-globex-staging', GLOBEX.id],
      ['ankra-no-org', undefined],
    ]);
    return loc;
  }

  it("`--org globex … remove staging` removes Globex's staging and keeps Acme's", async () => {
    const loc = await three();
    const res = await removeAnkraEntries(loc, { clusterNames: ['staging'], org: GLOBEX });
    expect(res.removed).toEqual([{ context: 'ankra-globex-staging', clusterId: GLOBEX_STAGING }]);
    expect(Object.keys(await kubectlContexts(loc)).sort()).toEqual(['ankra-no-org', 'ankra-staging']);
    const config = parse(readFileSync(loc.files[0]!, 'utf8'));
    expect(config.users.map((u: { name: string }) => u.name)).toEqual(['ankra-staging', 'ankra-no-org']);
    expect(config.clusters.map((c: { name: string }) => c.name)).toEqual(['ankra-staging', 'ankra-no-org']);

    expect((await removeAnkraEntries(loc, { clusterNames: ['staging'], org: ACME })).removed).toEqual([{ context: 'ankra-staging', clusterId: ACME_STAGING }]);
  });

  it('the organisation may be given by slug as well; its cluster id, context name or --all match only its contexts', async () => {
    const loc = await three();
    expect((await removeAnkraEntries(loc, { clusterIds: [ACME_STAGING], org: GLOBEX })).removed).toEqual([]);
    expect((await removeAnkraEntries(loc, { names: ['ankra-staging'], org: { id: 'other-id', slug: 'acme' } })).removed).toEqual([]);
    expect((await removeAnkraEntries(loc, { all: true, org: GLOBEX })).removed.map((r) => r.context)).toEqual(['ankra-globex-staging']);
    expect((await listAnkraContexts(loc)).map((c) => c.context)).toEqual(['ankra-staging', 'ankra-no-org']);
  });

  it('an entry without --org matches only when no organisation is given', async () => {
    const loc = await three();
    expect((await removeAnkraEntries(loc, { clusterNames: ['no org'], org: ACME })).removed).toEqual([]);
    expect((await removeAnkraEntries(loc, { clusterNames: ['No Org'] })).removed).toEqual([{ context: 'ankra-no-org', clusterId: ACME_STAGING_2 }]);
    // with no organisation, a cluster name matches `ankra-<slug>` of any organisation; the
    // org-slug name needs the organisation's slug
    expect((await removeAnkraEntries(loc, { clusterNames: ['staging'] })).removed.map((r) => r.context)).toEqual(['ankra-staging']);
    expect(Object.keys(await kubectlContexts(loc))).toEqual(['ankra-globex-staging']);
  });

  it("a cluster name also matches its id-suffixed contexts, within the organisation given", async () => {
    const loc = fresh();
    await upsertAnkraEntries(loc, [staging(ACME_STAGING, ACME), staging(ACME_STAGING_2, ACME)]);
    await upsertAnkraEntries(loc, [staging(GLOBEX_STAGING, GLOBEX, { clusterName: 'staging-c0000000' })]);
    const res = await removeAnkraEntries(loc, { clusterNames: ['staging'], org: ACME });
    expect(res.removed.map((r) => r.context)).toEqual(['ankra-staging', 'ankra-staging-c0000000']);
    expect((await listAnkraContexts(loc)).map((c) => c.context)).toEqual(['ankra-globex-staging-c0000000']);
  });
});
