// Access as code: `ankra cluster access diff|apply|export` run as the built binary against
// the emulator (platform-faithful mode), with the file's parser, writer and the planner
// checked table-driven beside them. Every run's stdout and stderr are checked for tokens,
// and the request log for routes outside the contract's token lane.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ROOT, ankra, findSecrets, sandbox, type RunResult, type Sandbox } from './helpers/cli';
import { EMAIL, IDS, startEmulator, type InProcessEmulator } from './helpers/emulator';
import type { Cluster, Grant } from '../src/api/types';
import { formatProblem, parseAccessFile, renderAccessFile } from '../src/access/file';
import { planCluster, type Change } from '../src/access/plan';
import { FILE_HELP } from '../src/access/docs';

let emu: InProcessEmulator;
let box: Sandbox;
const runs: RunResult[] = [];

const S = IDS.clusters.staging;
const P = IDS.clusters.prodEu;
const FOUND = 10;

beforeAll(async () => {
  emu = await startEmulator({ reconcileDelayMs: 100 });
  box = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile });
});
afterAll(async () => {
  expect(findSecrets(runs.flatMap((r) => [r.stdout, r.stderr]), Object.values(emu.tokens))).toEqual([]);
  await emu.stop();
  box.cleanup();
});

async function as(who: keyof typeof EMAIL, args: string[], input?: string): Promise<RunResult> {
  const r = await ankra(args, { env: { ...box.env, ANKRA_API_TOKEN: emu.tokens[EMAIL[who]] }, cwd: box.dir, input });
  runs.push(r);
  // Whatever happened, never a stack trace.
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r;
}
const admin = (args: string[], input?: string) => as('admin', args, input);

/** Writes an access file into the sandbox; its path relative to it (as a user types it). */
function file(name: string, text: string): string {
  writeFileSync(join(box.dir, name), text);
  return name;
}

async function grants(cluster: string): Promise<Grant[]> {
  const r = await emu.api<{ result: Grant[] }>('GET', `/api/v1/clusters/${cluster}/access/grants`, { token: emu.tokens[EMAIL.admin] });
  return r.body.result;
}

/** email|namespace|role of every grant on a cluster, sorted: the state to compare. */
async function state(cluster: string): Promise<string[]> {
  return (await grants(cluster)).map((g) => `${g.user_email}|${g.namespace ?? '*'}|${g.role}`).sort();
}

async function grant(cluster: string, email: string, role: string, namespace?: string): Promise<Grant> {
  const body = { user_email: email, scope: namespace ? 'namespace' : 'cluster', role, ...(namespace ? { namespace } : {}) };
  const r = await emu.api<{ grant: Grant }>('POST', `/api/v1/clusters/${cluster}/access/grants`, { token: emu.tokens[EMAIL.admin], body });
  expect(r.status, r.text).toBe(201);
  return r.body.grant;
}

async function changesMade(): Promise<string[]> {
  return (await emu.requests()).filter((e) => e.method === 'POST' || e.method === 'DELETE').map((e) => `${e.method} ${e.path}`);
}

async function reset(): Promise<void> {
  await emu.hook('DELETE', 'faults');
  for (const c of [S, P]) for (const g of await grants(c)) await emu.api('DELETE', `/api/v1/clusters/${c}/access/grants/${g.id}`, { token: emu.tokens[EMAIL.admin] });
  await emu.hook('DELETE', 'faults');
  await emu.hook('POST', 'reconcile', { delay_ms: 100 });
  await emu.clearRequests();
}

const V1 = `# who may reach what
clusters:
  staging:
    - {email: alice@acme.test, role: edit, namespace: team-a}
    - {email: bob@acme.test, role: view}   # the whole cluster
  prod-eu:
    - {email: alice@acme.test, role: view}
`;

// ------------------------------------------------------------------ the file, the writer, the planner

describe('the access file', () => {
  const cases: Array<{ name: string; text: string; problems: string[] }> = [
    { name: 'empty', text: '', problems: ['f:1:1: the file is empty: it needs a `clusters:` map (see `ankra cluster access apply --help`)'] },
    { name: 'not YAML', text: 'clusters:\n  staging: [\n', problems: ['f:3:1: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]'] },
    { name: 'two documents', text: 'clusters: {}\n---\nclusters: {}\n', problems: ['f:2:1: only one YAML document is allowed (remove the `---` line)'] },
    { name: 'a list at the top', text: '- a\n', problems: ['f:1:1: expected a map with `clusters:` at the top'] },
    { name: 'unknown top-level field', text: 'clusters: {}\nversion: 2\n', problems: ['f:2:1: version: unknown field at the top (only `clusters:`)'] },
    { name: 'clusters not a map', text: 'clusters: [staging]\n', problems: ['f:1:11: clusters: expected a map of cluster names (or ids) to lists of {email, role, namespace?}'] },
    {
      name: 'a cluster without a list',
      text: 'clusters:\n  staging:\n  prod-eu: {email: a@b.io}\n',
      problems: [
        'f:2:11: clusters.staging: has no list: write `[]` for no grants, or list {email, role, namespace?} entries',
        'f:3:12: clusters.prod-eu: expected a list of {email, role, namespace?}',
      ],
    },
    { name: 'a cluster twice', text: 'clusters:\n  staging: []\n  staging: []\n', problems: ['f:3:3: clusters.staging: the cluster is listed twice (also on line 2)'] },
    { name: 'an alias', text: 'clusters:\n  staging: &team []\n  prod-eu: *team\n', problems: ['f:3:12: clusters.prod-eu: aliases (*name) are not supported: write the list out'] },
    {
      name: 'bad entries',
      text: [
        'clusters:',
        '  staging:',
        '    - {email: alice@example.com, role: owner}',
        '    - {email: bob@example.com}',
        '    - {email: not-an-email, role: view}',
        '    - {email: carol@example.com, role: view, namespce: team-a}',
        '    - {email: dave@example.com, role: view, namespace: Team_A}',
        '    - {email: erin@example.com, role: cluster-admin, namespace: team-a}',
        '    - {email: frank@example.com, role: view, namespace: 123}',
        '    - just text',
        '    - {email: gina@example.com, role: view, role: edit}',
        '',
      ].join('\n'),
      problems: [
        'f:3:40: clusters.staging[0].role: "owner" is not a role: choose view, edit, admin, cluster-admin',
        'f:4:7: clusters.staging[1].role: is missing (one of view, edit, admin, cluster-admin)',
        'f:5:15: clusters.staging[2].email: "not-an-email" is not an email address',
        'f:6:46: clusters.staging[3].namespce: unknown field (use email, role, namespace)',
        'f:7:56: clusters.staging[4].namespace: "Team_A" is not a valid namespace: it has upper-case letters (use lower case) (a DNS-1123 label such as team-a)',
        'f:8:39: clusters.staging[5].role: cluster-admin applies to a whole cluster: drop the namespace, or use admin for full control of one namespace',
        'f:9:57: clusters.staging[6].namespace: expected a namespace name, not 123: quote it ("123")',
        'f:10:7: clusters.staging[7]: expected {email, role, namespace?}',
        'f:11:45: clusters.staging[8].role: given twice',
      ],
    },
    {
      name: 'the same person and scope twice',
      text: 'clusters:\n  staging:\n    - {email: alice@example.com, role: view, namespace: team-a}\n    - {email: ALICE@example.com, role: edit, namespace: team-a}\n    - {email: alice@example.com, role: view}\n',
      problems: ['f:4:7: clusters.staging[1].email: ALICE@example.com on namespace team-a is already listed on line 3 (one role per person and scope)'],
    },
  ];
  it.each(cases)('reports $name with line, column and field', ({ text, problems }) => {
    expect(parseAccessFile(text, 'f').problems.map((p) => formatProblem('f', p))).toEqual(problems);
  });

  it('reads entries with their lines, comments and both YAML styles', () => {
    const { file, problems } = parseAccessFile(`${V1}  dev: []\n  c0000000-0000-4000-8000-000000000002:\n    - email: bob@acme.test\n      role: admin\n      namespace: team-a\n`, 'f');
    expect(problems).toEqual([]);
    expect(file.sections.map((s) => [s.key, s.line, s.entries.map((e) => `${e.line}:${e.email}|${e.namespace ?? '*'}|${e.role}`)])).toEqual([
      ['staging', 3, ['4:alice@acme.test|team-a|edit', '5:bob@acme.test|*|view']],
      ['prod-eu', 6, ['7:alice@acme.test|*|view']],
      ['dev', 8, []],
      ['c0000000-0000-4000-8000-000000000002', 9, ['10:bob@acme.test|team-a|admin']],
    ]);
  });

  it('reads the examples in the README and in --help', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Access as code'));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const help = FILE_HELP.split('\n\n')[1]?.replace(/^ {2}/gm, '') ?? '';
    for (const text of [example, help]) {
      const { file, problems } = parseAccessFile(text, 'f');
      expect(problems).toEqual([]);
      expect(file.sections.map((s) => `${s.key}:${s.entries.length}`)).toEqual(['staging:2', 'prod-eu:1', 'dev:0']);
    }
  });

  it('writes server text so that it reads back the same and carries nothing a terminal acts on', () => {
    const names = ['plain', 'evil $(id) `x`', 'esc \u001b[2J', 'new\nline', 'rtl \u202e', 'c1 \u009b31m', 'sep \u2028', 'tab\tx', 'café', ' spaced '];
    const text = renderAccessFile(
      ['header \u001b[31m'],
      names.map((n, i) => ({ key: n, entries: [{ email: `u${i}@x.io`, role: 'view' as const, namespace: i % 2 ? 'team-a' : null }], commented: [{ email: `gone\u001b${i}@x.io`, role: 'edit' as const, why: 'gone \u202e' }] })),
    );
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    const back = parseAccessFile(text, 'f');
    expect(back.problems).toEqual([]);
    expect(back.file.sections.map((s) => s.key)).toEqual(names);
    expect(back.file.sections.map((s) => s.entries[0]?.email)).toEqual(names.map((_, i) => `u${i}@x.io`));
    expect(text).toContain('    - { email: u1@x.io, role: view, namespace: team-a }\n');
    expect(text).toContain('    # - {email: "gone\\u001b1@x.io", role: edit}  # gone');
  });
});

describe('the planner', () => {
  const cluster: Cluster = { id: S, name: 'staging' };
  const g = (id: string, email: string | null, role: Grant['role'], namespace: string | null = null, status = 'applied'): Grant =>
    ({ id, cluster_id: S, user_email: email, role, scope: namespace ? 'namespace' : 'cluster', namespace, reconcile_status: status }) as Grant;
  const e = (line: number, email: string, role: Grant['role'], namespace?: string) => ({ line, col: 7, field: `clusters.staging[${line}]`, email, role, ...(namespace ? { namespace } : {}) });
  const short = (c: Change) => `${c.action} ${c.user_email}|${c.namespace ?? '*'}|${c.from_role ? `${c.from_role}>` : ''}${c.role}${c.grant_id ? ` ${c.grant_id}` : ''}`;

  it.each([
    { name: 'nothing there yet', entries: [e(1, 'a@x.io', 'view'), e(2, 'b@x.io', 'edit', 'ns')], grants: [], prune: false, changes: ['create a@x.io|*|view', 'create b@x.io|ns|edit'], unchanged: 0, left: 0 },
    { name: 'all there (emails case-insensitive)', entries: [e(1, 'A@x.io', 'view')], grants: [g('1', 'a@X.io', 'view')], prune: true, changes: [], unchanged: 1, left: 0 },
    { name: 'another role on the same scope', entries: [e(1, 'a@x.io', 'edit', 'ns')], grants: [g('1', 'a@x.io', 'view', 'ns')], prune: false, changes: ['change a@x.io|ns|view>edit 1'], unchanged: 0, left: 0 },
    { name: 'another scope is another grant', entries: [e(1, 'a@x.io', 'edit', 'ns')], grants: [g('1', 'a@x.io', 'view')], prune: false, changes: ['create a@x.io|ns|edit'], unchanged: 0, left: 1 },
    {
      name: 'pruning: creates first, then changes, then deletes',
      entries: [e(1, 'a@x.io', 'edit', 'ns'), e(2, 'b@x.io', 'admin')],
      grants: [g('1', 'a@x.io', 'view'), g('2', 'b@x.io', 'view'), g('3', null, 'view'), g('4', 'c@x.io', 'cluster-admin')],
      prune: true,
      changes: ['create a@x.io|ns|edit', 'change b@x.io|*|view>admin 2', 'delete null|*|view 3', 'delete a@x.io|*|view 1', 'delete c@x.io|*|cluster-admin 4'],
      unchanged: 0,
      left: 0,
    },
    {
      name: 'a second grant for the same person and scope is not the one kept',
      entries: [e(1, 'a@x.io', 'edit')],
      grants: [g('1', 'a@x.io', 'view'), g('2', 'a@x.io', 'edit')],
      prune: true,
      changes: ['delete a@x.io|*|view 1'],
      unchanged: 1,
      left: 0,
    },
  ])('$name', ({ entries, grants: gs, prune, changes, unchanged, left }) => {
    const plan = planCluster(cluster, entries, gs, prune);
    expect(plan.changes.map(short)).toEqual(changes);
    expect([plan.unchanged, plan.left_alone]).toEqual([unchanged, left]);
  });

  it('counts unchanged grants that failed to apply', () => {
    expect(planCluster(cluster, [e(1, 'a@x.io', 'view')], [g('1', 'a@x.io', 'view', null, 'failed')], false).failing).toBe(1);
  });
});

// ------------------------------------------------------------------ end to end

describe('diff and apply', () => {
  beforeEach(reset);

  it('diff prints the plan and exits 10 on drift; apply makes it; a second apply changes nothing and says so', async () => {
    const f = file('access.yaml', V1);
    const diff = await admin(['cluster', 'access', 'diff', '-f', f]);
    expect(diff.code).toBe(FOUND);
    expect(diff.stdout.trim().split('\n').map((l) => l.split('\t').slice(0, 6))).toEqual([
      ['+', 'staging', EMAIL.alice, 'team-a', 'edit', '4'],
      ['+', 'staging', EMAIL.bob, '*', 'view', '5'],
      ['+', 'prod-eu', EMAIL.alice, '*', 'view', '7'],
    ]);
    expect(diff.stderr).toContain('Plan for 2 clusters: 3 to create, 0 to change, 0 to delete; 0 unchanged');
    const plan = JSON.parse((await admin(['cluster', 'access', 'diff', '-f', f, '-o', 'json'])).stdout);
    expect(plan).toMatchObject({ file: 'access.yaml', prune: false, clusters: 2, drift: true, summary: { create: 3, change: 0, delete: 0, unchanged: 0, left_alone: 0 }, errors: [] });
    expect(plan.changes[0]).toEqual({ action: 'create', cluster: 'staging', cluster_id: S, user_email: EMAIL.alice, scope: 'namespace', namespace: 'team-a', role: 'edit', line: 4 });
    expect(await changesMade()).toEqual([]);

    const apply = await admin(['cluster', 'access', 'apply', '-f', f]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stderr).toContain('+ granted edit on namespace team-a of staging to alice@acme.test (pending)');
    expect(apply.stderr).toContain('+ granted view on cluster prod-eu to alice@acme.test (pending)');
    expect(apply.stderr).toContain('Applied access.yaml on 2 clusters: 3 created, 0 changed, 0 deleted; 0 unchanged');
    expect(await state(S)).toEqual([`${EMAIL.alice}|team-a|edit`, `${EMAIL.bob}|*|view`]);
    expect(await state(P)).toEqual([`${EMAIL.alice}|*|view`]);

    await emu.clearRequests();
    const again = await admin(['cluster', 'access', 'apply', '-f', f]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('No changes: the grants on 2 clusters match access.yaml (3 unchanged)');
    expect(await changesMade()).toEqual([]);
    expect((await admin(['cluster', 'access', 'diff', '-f', f])).code).toBe(0);
    expect(await emu.offContract()).toEqual([]);
  });

  it('a role change is delete-then-create; --prune deletes only on the clusters the file names; creates come before deletes', async () => {
    await admin(['cluster', 'access', 'apply', '-f', file('v1.yaml', V1)]);
    await grant(S, EMAIL.admin, 'cluster-admin');
    await grant(P, EMAIL.bob, 'view');
    const v2 = file('v2.yaml', 'clusters:\n  staging:\n    - {email: alice@acme.test, role: admin, namespace: team-a}\n    - {email: bob@acme.test, role: edit, namespace: team-a}\n');

    const kept = await admin(['cluster', 'access', 'diff', '-f', v2]);
    expect(kept.code).toBe(FOUND);
    expect(kept.stdout).toContain(`~\tstaging\t${EMAIL.alice}\tteam-a\tedit → admin`);
    expect(kept.stderr).toContain('Plan for 1 cluster: 1 to create, 1 to change, 0 to delete; 0 unchanged; 2 grants not in v2.yaml left alone (--prune deletes them)');

    const old = (await grants(S)).find((g) => g.user_email === EMAIL.alice) as Grant;
    const bobOld = (await grants(S)).find((g) => g.user_email === EMAIL.bob) as Grant;
    await emu.clearRequests();
    const r = await admin(['cluster', 'access', 'apply', '-f', v2, '--prune', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.summary).toMatchObject({ create: 1, change: 1, delete: 2, done: 4, failed: 0, skipped: 0 });
    expect(out.changes.map((c: { action: string; user_email: string; result: string }) => `${c.action} ${c.user_email} ${c.result}`)).toEqual([
      `create ${EMAIL.bob} done`,
      `change ${EMAIL.alice} done`,
      `delete ${EMAIL.admin} done`,
      `delete ${EMAIL.bob} done`,
    ]);
    expect(r.stderr).toContain('~ changed alice@acme.test from edit to admin on namespace team-a of staging (pending; the old grant went first: one grant per scope)');
    expect(await state(S)).toEqual([`${EMAIL.alice}|team-a|admin`, `${EMAIL.bob}|team-a|edit`]);
    // prod-eu is not in the file: untouched, --prune or not.
    expect(await state(P)).toEqual([`${EMAIL.alice}|*|view`, `${EMAIL.bob}|*|view`]);
    const made = await changesMade();
    const grantsPath = `/api/v1/clusters/${S}/access/grants`;
    expect(made.every((m) => m.includes(S))).toBe(true);
    // Bob's new grant exists before his old one goes; Alice's old grant goes right before her new one.
    expect(made.indexOf(`POST ${grantsPath}`)).toBeLessThan(made.indexOf(`DELETE ${grantsPath}/${bobOld.id}`));
    expect(made.indexOf(`DELETE ${grantsPath}/${old.id}`)).toBe(made.indexOf(`POST ${grantsPath}`) + 1);
    expect(made[made.indexOf(`DELETE ${grantsPath}/${old.id}`) + 1]).toBe(`POST ${grantsPath}`);
    expect(await emu.offContract()).toEqual([]);
  });

  it('--wait waits for every new grant, and a person loses a dropped grant only once the new one is applied', async () => {
    const before = await grant(S, EMAIL.bob, 'view');
    await emu.hook('POST', 'reconcile', { delay_ms: 400 });
    await emu.clearRequests();
    const f = file('wait.yaml', 'clusters:\n  staging:\n    - {email: bob@acme.test, role: edit, namespace: team-a}\n  prod-eu:\n    - {email: alice@acme.test, role: view}\n');
    const r = await admin(['cluster', 'access', 'apply', '-f', f, '--prune', '--wait', '-o', 'yaml']);
    expect(r.code, r.stderr).toBe(0);
    const out = parseYaml(r.stdout);
    expect(out.changes.map((c: { action: string; reconcile_status?: string }) => `${c.action} ${c.reconcile_status ?? '-'}`)).toEqual(['create applied', 'delete -', 'create applied']);
    const log = (await emu.requests()).map((e) => `${e.method} ${e.path}`);
    const created = log.indexOf(`POST /api/v1/clusters/${S}/access/grants`);
    const dropped = log.indexOf(`DELETE /api/v1/clusters/${S}/access/grants/${before.id}`);
    // Between them, the wait read the new grant's state (applied) back.
    expect(log.slice(created, dropped).filter((l) => l === `GET /api/v1/clusters/${S}/access/grants`).length).toBeGreaterThan(0);
    expect(created).toBeLessThan(dropped);
    expect(await state(S)).toEqual([`${EMAIL.bob}|team-a|edit`]);
  });

  it('--wait: a grant that fails to apply is exit 1 and keeps what it replaces; an offline cluster is exit 5', async () => {
    const before = await grant(P, EMAIL.bob, 'view');
    await emu.hook('POST', 'reconcile/now');
    await emu.hook('POST', `clusters/${P}`, { fail_next_reconcile: 'admission webhook denied the RoleBinding' });
    const f = file('fail.yaml', 'clusters:\n  prod-eu:\n    - {email: bob@acme.test, role: edit, namespace: team-a}\n');
    const r = await admin(['cluster', 'access', 'apply', '-f', f, '--prune', '--wait', '-o', 'json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('kept view on cluster prod-eu of bob@acme.test: their new grant there is not applied');
    expect(r.stderr).toMatch(/ankra: 1 new grant failed to apply \(admission webhook denied the RoleBinding\); the other changes were made; `ankra cluster access diff -f fail.yaml` shows what is left\n$/);
    expect(JSON.parse(r.stdout).changes.map((c: { action: string; result: string }) => `${c.action} ${c.result}`)).toEqual(['create done', 'delete skipped']);
    expect((await grants(P)).map((g) => g.id)).toContain(before.id);

    await emu.hook('POST', `clusters/${S}`, { online: false });
    try {
      const off = await admin(['cluster', 'access', 'apply', '-f', file('off.yaml', 'clusters:\n  staging:\n    - {email: alice@acme.test, role: view}\n'), '--wait']);
      expect(off.code).toBe(5);
      expect(off.stderr).toContain('ankra: not all new grants are applied: 1 new grant waits for offline clusters (staging)');
    } finally {
      await emu.hook('POST', `clusters/${S}`, { online: true });
    }
  });

  it('partial failures: a 5xx on one cluster is reported, the other clusters are still planned and applied', async () => {
    const f = file('access.yaml', V1);
    await emu.hook('POST', 'faults', { path_prefix: `/api/v1/clusters/${P}/access/grants`, method: 'GET', status: 503 });
    const diff = await admin(['cluster', 'access', 'diff', '-f', f]);
    expect(diff.code).toBe(1);
    expect(diff.stderr).toContain('warning: prod-eu: could not list its grants: cannot list the grants on prod-eu: the Ankra API answered 503');
    // said once as a warning, then once as the last line, with the command to run again
    expect(diff.stderr.match(/prod-eu/g)).toHaveLength(3);
    expect(diff.stderr).toMatch(/\nankra: could not list the grants on prod-eu: the plan leaves it out; run `ankra cluster access diff -f access\.yaml` again\n$/);
    expect(diff.stdout.trim().split('\n')).toHaveLength(2);
    const r = await admin(['cluster', 'access', 'apply', '-f', f, '-o', 'json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).errors).toMatchObject([{ cluster: 'prod-eu', cluster_id: P }]);
    expect(r.stderr).toMatch(/ankra: could not list the grants on prod-eu: its grants are left as they are; run `ankra cluster access apply -f access.yaml` again\n$/);
    await emu.hook('DELETE', 'faults');
    expect(await state(S)).toEqual([`${EMAIL.alice}|team-a|edit`, `${EMAIL.bob}|*|view`]);
    expect(await state(P)).toEqual([]);

    // A change refused on one cluster: the others are made, and the failure is named.
    await emu.hook('POST', 'faults', { path_prefix: `/api/v1/clusters/${P}/access/grants`, method: 'POST', status: 500, times: 1 });
    const once = await admin(['cluster', 'access', 'apply', '-f', f]);
    expect(once.code).toBe(1);
    expect(once.stderr).toContain('warning: could not grant view on cluster prod-eu for alice@acme.test: cannot grant access on prod-eu: the Ankra API answered 500');
    expect(once.stderr).toContain('ankra: 1 of 1 change failed; the other changes were made');
    expect((await admin(['cluster', 'access', 'apply', '-f', f])).code).toBe(0);
    expect(await state(P)).toEqual([`${EMAIL.alice}|*|view`]);
    expect(await emu.offContract()).toEqual([]);
  });

  it('a rate limit on a change is waited out (Retry-After), also between the delete and the create of a role change', async () => {
    await grant(S, EMAIL.alice, 'view', 'team-a');
    await emu.clearRequests();
    await emu.hook('POST', 'faults', { path_prefix: `/api/v1/clusters/${S}/access/grants`, method: 'POST', status: 429, retry_after_s: 1, times: 2 });
    const r = await admin(['cluster', 'access', 'apply', '-f', file('change.yaml', 'clusters:\n  staging:\n    - {email: alice@acme.test, role: edit, namespace: team-a}\n')]);
    expect(r.code, r.stderr).toBe(0);
    expect(await state(S)).toEqual([`${EMAIL.alice}|team-a|edit`]);
    const sent = (await emu.requests({ path: `/api/v1/clusters/${S}/access/grants` })).filter((e) => e.method !== 'GET').map((e) => `${e.method} ${e.status}`);
    expect(sent).toEqual(['DELETE 200', 'POST 429', 'POST 429', 'POST 201']);
  });

  it('bad files change nothing: every problem has its line and field, and the platform sees no POST or DELETE', async () => {
    await grant(S, EMAIL.bob, 'view');
    await emu.clearRequests();
    const shape = file('shape.yaml', 'clusters:\n  staging:\n    - {email: alice@acme.test, role: owner}\n    - {email: bob@acme.test, role: view, namespace: Team-A}\n');
    const r1 = await admin(['cluster', 'access', 'apply', '-f', shape, '--prune']);
    expect(r1.code).toBe(2);
    expect(r1.stderr.trim().split('\n')).toEqual([
      'shape.yaml:3:38: clusters.staging[0].role: "owner" is not a role: choose view, edit, admin, cluster-admin',
      'shape.yaml:4:53: clusters.staging[1].namespace: "Team-A" is not a valid namespace: it has upper-case letters (use lower case) (a DNS-1123 label such as team-a)',
      'ankra: shape.yaml has 2 problems; nothing was changed; fix them, then check with `ankra cluster access diff -f shape.yaml`',
    ]);
    // The shape is checked before anything is asked.
    expect(await emu.requests()).toEqual([]);

    const org = file(
      'org.yaml',
      [
        'clusters:',
        '  staging:',
        '    - {email: carol@acme.test, role: view}',
        '    - {email: nobody@acme.test, role: view}',
        '    - {email: admin@globex.test, role: view}',
        '  nope: []',
        '  sandbox-1: []',
        `  ${S}: []`,
        '',
      ].join('\n'),
    );
    const r2 = await admin(['cluster', 'access', 'apply', '-f', org, '--prune', '--wait']);
    expect(r2.code).toBe(2);
    expect(r2.stderr.trim().split('\n')).toEqual([
      'org.yaml:3:7: clusters.staging[0].email: carol@acme.test is invited but has not accepted yet: only active members can be granted access',
      'org.yaml:4:7: clusters.staging[1].email: nobody@acme.test is not a member of this organisation (see `ankra cluster access members`)',
      'org.yaml:5:7: clusters.staging[2].email: admin@globex.test is not a member of this organisation (see `ankra cluster access members`)',
      'org.yaml:6:3: clusters.nope: no cluster named "nope" in the organisation (see `ankra cluster list`, and check --org)',
      'org.yaml:7:3: clusters.sandbox-1: sandbox-1 is a sandbox cluster: Cluster Access is not available there',
      `org.yaml:8:3: clusters.${S}: names the same cluster as clusters.staging (line 2)`,
      'ankra: org.yaml has 6 problems; nothing was changed; fix them, then check with `ankra cluster access diff -f org.yaml`',
    ]);
    expect(await changesMade()).toEqual([]);
    expect(await state(S)).toEqual([`${EMAIL.bob}|*|view`]);

    const one = await admin(['cluster', 'access', 'diff', '-f', '-'], 'clusters:\n  staging:\n    - {email: alice@acme.test}\n');
    expect(one.code).toBe(2);
    expect(one.stderr).toBe('ankra: (stdin):3:7: clusters.staging[0].role: is missing (one of view, edit, admin, cluster-admin); nothing was changed; fix it, then check with `ankra cluster access diff -f -`\n');
    const missing = await admin(['cluster', 'access', 'apply', '-f', 'nowhere.yaml']);
    expect([missing.code, missing.stderr]).toEqual([2, 'ankra: cannot read nowhere.yaml: no such file; pass the access file with -f FILE (or -f - for standard input)\n']);
    expect((await admin(['cluster', 'access', 'apply'])).stderr).toBe('ankra: no access file given; pass it with -f: `ankra cluster access apply -f access.yaml`\n');
    expect(await changesMade()).toEqual([]);
    expect(await emu.offContract()).toEqual([]);
  });

  it('listing grants needs an organisation admin: a member gets exit 7 and nothing changes', async () => {
    const r = await as('alice', ['cluster', 'access', 'apply', '-f', file('access.yaml', V1)]);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('listing the grants on');
    expect(await changesMade()).toEqual([]);
  });
});

describe('export', () => {
  beforeEach(reset);

  it('export then apply --dry-run shows no changes; ex-members are comments; hostile names are escaped', async () => {
    await admin(['cluster', 'access', 'apply', '-f', file('access.yaml', V1)]);
    const dave = await emu.hook<{ email: string }>('POST', 'users', { email: 'dave@acme.test' });
    await grant(P, dave.email, 'edit', 'team-a');
    await emu.hook('POST', 'members/remove', { email: dave.email });
    const evil = await emu.hook<{ id: string; name: string }>('POST', 'clusters', { name: 'evil $(id) \u001b[31mred\u001b[0m\nline' });
    await grant(evil.id, EMAIL.bob, 'admin', 'team-a');

    await emu.clearRequests();
    const r = await admin(['cluster', 'access', 'export', '--all-clusters']);
    expect(r.code, r.stderr).toBe(0);
    // eslint-disable-next-line no-control-regex
    expect(r.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(r.stdout).toContain('  "evil $(id) \\e[31mred\\e[0m\\nline":\n    - { email: bob@acme.test, role: admin, namespace: team-a }\n');
    expect(r.stdout).toContain('    # - {email: dave@acme.test, role: edit, namespace: team-a}  # not a member of the organisation any more\n');
    expect(r.stdout).toContain('  staging:\n    - { email: alice@acme.test, role: edit, namespace: team-a }\n    - { email: bob@acme.test, role: view }\n');
    expect(r.stdout).not.toContain('sandbox-1');
    expect(r.stderr).toContain('Exported 4 grants on 3 clusters; 1 written as comments (see the file)');
    const f = file('exported.yaml', r.stdout);

    const dry = await admin(['cluster', 'access', 'apply', '-f', f, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe('');
    expect(dry.stderr).toContain('No changes: the grants on 3 clusters match exported.yaml (4 unchanged); 1 grant not in exported.yaml left alone (--prune deletes it) (dry run: nothing changed)');
    expect((await admin(['cluster', 'access', 'diff', '-f', f])).code).toBe(0);
    // --prune would take the ex-member's grant away, and only that.
    const pruned = JSON.parse((await admin(['cluster', 'access', 'diff', '-f', f, '--prune', '-o', 'json'])).stdout);
    expect(pruned.changes).toMatchObject([{ action: 'delete', cluster: 'prod-eu', user_email: 'dave@acme.test', role: 'edit', namespace: 'team-a' }]);
    expect(await changesMade()).toEqual([]);

    const json = await admin(['cluster', 'access', 'export', `staging,${P}`, '-o', 'json']);
    expect(JSON.parse(json.stdout)).toEqual({
      clusters: {
        staging: [
          { email: EMAIL.alice, role: 'edit', namespace: 'team-a' },
          { email: EMAIL.bob, role: 'view' },
        ],
        'prod-eu': [{ email: EMAIL.alice, role: 'view' }],
      },
    });
    expect(await emu.offContract()).toEqual([]);
  });

  it('names a cluster it cannot find, and needs a cluster or --all-clusters', async () => {
    const r = await admin(['cluster', 'access', 'export', 'nope']);
    expect([r.code, r.stderr]).toEqual([3, 'ankra: cluster "nope" not found in this organisation; run `ankra cluster list` (and check --org)\n']);
    const none = await admin(['cluster', 'access', 'export']);
    expect([none.code, none.stderr]).toEqual([2, 'ankra: no cluster given; name clusters (`ankra cluster access export staging,prod-eu`) or give --all-clusters\n']);
  });
});

describe('help', () => {
  it('documents the file and the exit codes', async () => {
    const apply = await admin(['cluster', 'access', 'apply', '--help']);
    expect(apply.stdout).toContain('      - {email: alice@example.com, role: edit, namespace: team-a}\n');
    expect(apply.stdout).toMatch(/Exit codes: 0 done/);
    const diff = await admin(['cluster', 'access', 'diff', '--help']);
    expect(diff.stdout).toContain('10 they differ');
  });
});
