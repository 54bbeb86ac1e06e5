// An admin at scale, end to end: the built binary against the emulator (platform-faithful
// mode) over HTTPS. Offboarding (`revoke EMAIL --all-clusters`: what goes, the non-TTY
// confirmation rule, the question on a terminal, a 5xx on one cluster's DELETE), listing
// across clusters (`list --all-clusters` with --user/--role/--status, the CLUSTER column,
// the flat JSON, a 5xx on one cluster), a role or scope change in place (`grant --replace`,
// the order of its calls in the request log), a 50,000-grant answer, and `grant --wait`'s
// progress lines when nothing is a terminal.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setTimeout as delay } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';
import { ankra, findSecrets, sandbox, type RunResult, type Sandbox } from './helpers/cli';
import { EMAIL, IDS, startEmulator, type InProcessEmulator, type RequestLogEntry } from './helpers/emulator';
import { plainText, startOnPty } from './helpers/login';
import type { Grant } from '../src/api/types';

let emu: InProcessEmulator;
let box: Sandbox;
const runs: RunResult[] = [];

const S = IDS.clusters.staging;
const P = IDS.clusters.prodEu;
const SANDBOX = IDS.clusters.sandbox;
/** A third cluster that can hold grants, created in beforeAll. */
let E = '';
const GRANTS = (cluster: string) => `/api/v1/clusters/${cluster}/access/grants`;

beforeAll(async () => {
  emu = await startEmulator({ reconcileDelayMs: 50 });
  box = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile });
  E = (await emu.hook<{ id: string }>('POST', 'clusters', { name: 'edge-1' })).id;
});
afterAll(async () => {
  // Whatever the tests printed, no API token may appear in it.
  expect(findSecrets(runs.flatMap((r) => [r.stdout, r.stderr]), Object.values(emu.tokens))).toEqual([]);
  await emu.stop();
  box.cleanup();
});

const adminEnv = () => ({ ...box.env, ANKRA_API_TOKEN: emu.tokens[EMAIL.admin] });

async function admin(args: string[]): Promise<RunResult> {
  const r = await ankra(args, { env: adminEnv() });
  runs.push(r);
  // Whatever happened, never a stack trace.
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r;
}

const lines = (s: string) => s.trimEnd().split('\n');
/** The lines without their indentation: offboarding indents each grant of its plan. */
const unindented = (s: string) => lines(s).map((l) => l.trimStart());

async function grants(cluster: string): Promise<Grant[]> {
  const r = await emu.api<{ result: Grant[] }>('GET', GRANTS(cluster), { token: emu.tokens[EMAIL.admin] });
  expect(r.status, r.text).toBe(200);
  return r.body.result;
}

/** email|namespace|role of every grant on a cluster, sorted. */
async function state(cluster: string): Promise<string[]> {
  return (await grants(cluster)).map((g) => `${g.user_email}|${g.namespace ?? '*'}|${g.role}`).sort();
}

async function grant(cluster: string, email: string, role: string, namespace?: string): Promise<Grant> {
  const body = { user_email: email, scope: namespace ? 'namespace' : 'cluster', role, ...(namespace ? { namespace } : {}) };
  const r = await emu.api<{ grant: Grant }>('POST', GRANTS(cluster), { token: emu.tokens[EMAIL.admin], body });
  expect(r.status, r.text).toBe(201);
  return r.body.grant;
}

/** The POST and DELETE calls logged so far, oldest first. */
async function writes(): Promise<string[]> {
  return (await emu.requests()).filter((e) => e.method === 'POST' || e.method === 'DELETE').map((e) => `${e.method} ${e.path}`);
}

const call = (e: RequestLogEntry) => `${e.method} ${e.path}`;

/** Polls `check` until it is true (the emulator's state while an ankra child runs). */
async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(25);
  }
}

async function reset(): Promise<void> {
  await emu.hook('DELETE', 'faults');
  await emu.hook('POST', 'reconcile', { delay_ms: 50 });
  for (const c of [S, P, E]) for (const g of await grants(c)) await emu.api('DELETE', `${GRANTS(c)}/${g.id}`, { token: emu.tokens[EMAIL.admin] });
  await emu.clearRequests();
}

// ------------------------------------------------------------------ offboarding

describe('offboarding: revoke EMAIL --all-clusters', () => {
  let keep: string[];
  beforeEach(async () => {
    await reset();
    await grant(S, EMAIL.alice, 'view');
    await grant(S, EMAIL.alice, 'edit', 'team-a');
    await grant(P, EMAIL.alice, 'admin', 'staging');
    await grant(E, EMAIL.alice, 'view', 'default');
    await grant(S, EMAIL.bob, 'view');
    await grant(P, EMAIL.bob, 'edit', 'team-a');
    await emu.hook('POST', 'reconcile/now');
    keep = [...(await state(S)), ...(await state(P)), ...(await state(E))].filter((s) => s.startsWith(`${EMAIL.bob}|`));
    await emu.clearRequests();
  });

  const PLAN = [
    'alice@acme.test has 4 grants on 3 clusters:',
    'view on cluster staging (applied)',
    'edit on namespace team-a of staging (applied)',
    'admin on namespace staging of prod-eu (applied)',
    'view on namespace default of edge-1 (applied)',
  ];

  it('without a terminal it says what it would remove, then refuses without --yes (exit 2, one error line) and deletes nothing', async () => {
    const r = await admin(['cluster', 'access', 'revoke', EMAIL.alice, '--all-clusters']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(unindented(r.stderr)).toEqual([
      ...PLAN,
      'ankra: refusing to revoke 4 grants of alice@acme.test on 3 clusters without confirmation; pass --yes: `ankra cluster access revoke alice@acme.test --all-clusters --yes`',
    ]);
    expect(lines(r.stderr).filter((l) => l.startsWith('ankra:'))).toHaveLength(1);
    // the grants are listed indented under their heading
    expect(r.stderr).toContain(`${PLAN[0]}\n  ${PLAN[1]}\n  ${PLAN[2]}\n`);
    expect(await emu.requests({ method: 'DELETE' })).toEqual([]);
    expect(await writes()).toEqual([]);
    // It listed every cluster that can hold grants, never the sandbox.
    expect((await emu.requests({ method: 'GET', path: /\/access\/grants$/ })).map((e) => e.path).sort()).toEqual([GRANTS(S), GRANTS(P), GRANTS(E)].sort());
    expect(await state(S)).toContain(`${EMAIL.alice}|*|view`);
  });

  it('on a terminal it asks: n deletes nothing (exit 4), y revokes every grant of that person and no one else', async () => {
    const no = startOnPty(['cluster', 'access', 'revoke', EMAIL.alice, '--all-clusters'], adminEnv());
    await no.waitFor(/\[y\/N\]/);
    no.type('n\r');
    const n = await no.done;
    expect(n.code, n.stdout).toBe(4);
    const shownNo = plainText(n.stdout);
    for (const l of PLAN) expect(shownNo).toContain(l);
    expect(shownNo).toContain('Revoke 4 grants of alice@acme.test on 3 clusters? They lose kubectl access at once. [y/N]');
    expect(shownNo).toContain('ankra: nothing revoked');
    expect(await emu.requests({ method: 'DELETE' })).toEqual([]);

    const yes = startOnPty(['cluster', 'access', 'revoke', EMAIL.alice, '--all-clusters'], adminEnv());
    await yes.waitFor(/\[y\/N\]/);
    yes.type('y\r');
    const y = await yes.done;
    expect(y.code, y.stdout).toBe(0);
    const shownYes = plainText(y.stdout);
    expect(shownYes.match(/✓ Revoked alice@acme\.test's grant [0-9a-f-]{36} on (staging|prod-eu|edge-1)/g)).toHaveLength(4);
    expect(shownYes).toContain('Revoked 4 grants on 3 clusters');
    const deleted = await emu.requests({ method: 'DELETE' });
    expect(deleted.map((e) => e.status)).toEqual([200, 200, 200, 200]);
    expect(await state(S)).toEqual([`${EMAIL.bob}|*|view`]);
    expect(await state(P)).toEqual([`${EMAIL.bob}|team-a|edit`]);
    expect(await state(E)).toEqual([]);
    expect(await emu.offContract()).toEqual([]);
  });

  it('a 5xx on one cluster\'s DELETE: the other clusters are done, that one is named, exit 1; a second run finishes it', async () => {
    const before = await grants(P);
    const alicesOnP = before.filter((g) => g.user_email === EMAIL.alice).map((g) => g.id);
    await emu.hook('POST', 'faults', { path_prefix: `${GRANTS(P)}/`, method: 'DELETE', status: 503 });
    const r = await admin(['cluster', 'access', 'revoke', EMAIL.alice, '--all-clusters', '--yes']);
    expect(r.code).toBe(1);
    const err = unindented(r.stderr);
    expect(err.slice(0, PLAN.length)).toEqual(PLAN);
    // Each grant's result, by cluster, then the sum.
    expect(err.filter((l) => /^Revoked alice@acme\.test's grant [0-9a-f-]{36} on (staging|edge-1)$/.test(l))).toHaveLength(3);
    expect(err).toContain(
      `warning: could not revoke alice@acme.test's grant ${alicesOnP[0]} on prod-eu: cannot revoke grant ${alicesOnP[0]} on prod-eu: the Ankra API answered 503 (Service Unavailable); try again later; --debug shows each request`,
    );
    expect(err.at(-1)).toBe('Revoked 3 grants on 2 clusters; 1 failed');
    const deletes = await emu.requests({ method: 'DELETE' });
    expect(deletes.filter((e) => e.path.startsWith(GRANTS(P))).every((e) => e.status === 503)).toBe(true);
    expect(deletes.filter((e) => !e.path.startsWith(GRANTS(P))).map((e) => e.status)).toEqual([200, 200, 200]);

    // What is left, as an admin sees it afterwards.
    const left = JSON.parse((await admin(['cluster', 'access', 'list', '--all-clusters', '--user', EMAIL.alice, '-o', 'json'])).stdout) as Array<Grant & { cluster_name: string }>;
    expect(left.map((g) => [g.cluster_name, g.id])).toEqual([['prod-eu', alicesOnP[0]]]);
    expect([...(await state(S)), ...(await state(P)), ...(await state(E))].filter((s) => s.startsWith(`${EMAIL.bob}|`))).toEqual(keep);

    await emu.hook('DELETE', 'faults');
    const again = await admin(['cluster', 'access', 'revoke', EMAIL.alice, '--all-clusters', '--yes', '-o', 'json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ revoked: 1, grant_ids: alicesOnP, failed: [] });
    expect(unindented(again.stderr)).toEqual([
      'alice@acme.test has 1 grant on 1 cluster:',
      'admin on namespace staging of prod-eu (applied)',
      `Revoked alice@acme.test's grant ${alicesOnP[0]} on prod-eu`,
      'Revoked 1 grant on prod-eu',
    ]);
    const none = await admin(['cluster', 'access', 'revoke', EMAIL.alice, '--all-clusters']);
    expect([none.code, none.stderr]).toEqual([0, 'alice@acme.test has no grants on 3 clusters\n']);
    expect(await emu.offContract()).toEqual([]);
  });

  it('-o json reports the failed grant with its cluster', async () => {
    await emu.hook('POST', 'faults', { path_prefix: `${GRANTS(E)}/`, method: 'DELETE', status: 500 });
    const r = await admin(['cluster', 'access', 'revoke', EMAIL.alice, '--all-clusters', '--yes', '-o', 'json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { revoked: number; grant_ids: string[]; failed: Array<{ cluster: string; grant_id: string; error: string }> };
    expect(out.revoked).toBe(3);
    expect(out.failed).toHaveLength(1);
    expect(out.failed[0]).toMatchObject({ cluster: 'edge-1', error: expect.stringContaining('the Ankra API answered 500') });
    expect((await grants(E)).map((g) => g.id)).toEqual([out.failed[0]?.grant_id]);
    expect([...(await grants(S)), ...(await grants(P))].filter((g) => g.user_email === EMAIL.alice)).toEqual([]);
  });

  it('an email that is not a grant id, and no --cluster or --all with --all-clusters (exit 2, nothing sent)', async () => {
    const grantId = (await grants(S))[0]?.id ?? '';
    await emu.clearRequests();
    const both = await admin(['cluster', 'access', 'revoke', EMAIL.alice, '--all-clusters', '--cluster', 'staging']);
    expect([both.code, both.stderr]).toEqual([2, 'ankra: --all-clusters takes an email and no --cluster or --all\n']);
    const id = await admin(['cluster', 'access', 'revoke', grantId, '--all-clusters']);
    expect([id.code, id.stderr]).toEqual([2, 'ankra: --all-clusters takes an email, not a grant id\n']);
    expect(await emu.requests()).toEqual([]);
  });
});

// ------------------------------------------------------------------ listing across clusters

describe('revoke --all on one cluster', () => {
  it('deletes each grant; one that fails is named, the others go, exit 1; a second run finishes', async () => {
    await reset();
    const a = await grant(P, EMAIL.alice, 'view');
    const b = await grant(P, EMAIL.bob, 'edit', 'team-a');
    await emu.hook('POST', 'faults', { path_prefix: `${GRANTS(P)}/${b.id}`, method: 'DELETE', status: 503 });
    const r = await admin(['cluster', 'access', 'revoke', '--all', '--cluster', 'prod-eu', '--yes']);
    expect(r.code).toBe(1);
    const err = unindented(r.stderr);
    expect(err).toContain(`Revoked ${EMAIL.alice}'s grant ${a.id} on prod-eu`);
    expect(err.some((l) => l.startsWith(`warning: could not revoke ${EMAIL.bob}'s grant ${b.id} on prod-eu: `))).toBe(true);
    expect(err.at(-1)).toBe('Revoked 1 grant on prod-eu; 1 failed');
    expect(await state(P)).toEqual([`${EMAIL.bob}|team-a|edit`]);
    await emu.hook('DELETE', 'faults');
    const again = await admin(['cluster', 'access', 'revoke', '--all', '--cluster', 'prod-eu', '--yes']);
    expect([again.code, unindented(again.stderr).at(-1)]).toEqual([0, 'Revoked 1 grant on prod-eu']);
    expect(await state(P)).toEqual([]);
  });
});

describe('list --all-clusters', () => {
  beforeAll(async () => {
    await reset();
    await grant(S, EMAIL.alice, 'view');
    await grant(S, EMAIL.bob, 'edit', 'team-a');
    await grant(S, EMAIL.admin, 'cluster-admin');
    await grant(P, EMAIL.bob, 'view');
    await emu.hook('POST', 'reconcile/now');
    await emu.hook('POST', `clusters/${P}`, { fail_next_reconcile: 'admission webhook denied the RoleBinding' });
    await grant(P, EMAIL.alice, 'edit', 'team-a');
    await emu.hook('POST', 'reconcile/now');
    // One grant that stays pending.
    await emu.hook('POST', 'reconcile', { delay_ms: 3_600_000 });
    await grant(E, EMAIL.alice, 'view', 'default');
  });
  beforeEach(async () => {
    await emu.hook('DELETE', 'faults');
    await emu.clearRequests();
  });

  /** cluster|email|namespace|role|status of each piped row (a row's first columns). */
  const rows = (r: RunResult) => (r.stdout ? lines(r.stdout).map((l) => l.split('\t').slice(0, 5).join('|')) : []);

  it('lists every grant of every cluster that can hold one, with the cluster first; the sandbox is not asked', async () => {
    const r = await admin(['cluster', 'access', 'list', '--all-clusters']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(rows(r)).toEqual([
      'staging|alice@acme.test|*|view|applied',
      'staging|bob@acme.test|team-a|edit|applied',
      'staging|admin@acme.test|*|cluster-admin|applied',
      'prod-eu|bob@acme.test|*|view|applied',
      'prod-eu|alice@acme.test|team-a|edit|failed',
      'edge-1|alice@acme.test|default|view|pending',
    ]);
    const log = await emu.requests();
    // One read per cluster (concurrently: in any order).
    expect(log.filter((e) => e.path.includes('/access/grants')).map(call).sort()).toEqual([`GET ${GRANTS(S)}`, `GET ${GRANTS(P)}`, `GET ${GRANTS(E)}`].sort());
    expect(log.some((e) => e.path.startsWith(`/api/v1/clusters/${SANDBOX}`))).toBe(false);
    expect(await emu.offContract()).toEqual([]);
  });

  it('on a terminal the table has a CLUSTER column before USER, and the error in the last column', async () => {
    const r = await startOnPty(['cluster', 'access', 'list', '--all-clusters', '--status', 'failed'], adminEnv()).done;
    expect(r.code).toBe(0);
    const table = lines(plainText(r.stdout));
    expect(table[0]).toMatch(/^CLUSTER {2,}USER {2,}NAMESPACE {2,}ROLE {2,}STATUS {2,}AGE {2,}ERROR$/);
    expect(table.slice(1)).toHaveLength(1);
    expect(table[1]).toMatch(/^prod-eu {2,}alice@acme\.test {2,}team-a {2,}edit {2,}failed {2,}\d+s {2,}admission webhook denied the RoleBinding$/);
  });

  it('--user, --role and --status filter across clusters, alone and together', async () => {
    const cases: Array<[string[], string[]]> = [
      [['--user', 'ALICE@acme.test'], ['staging|alice@acme.test|*|view|applied', 'prod-eu|alice@acme.test|team-a|edit|failed', 'edge-1|alice@acme.test|default|view|pending']],
      [['--role', 'edit'], ['staging|bob@acme.test|team-a|edit|applied', 'prod-eu|alice@acme.test|team-a|edit|failed']],
      [['--status', 'pending'], ['edge-1|alice@acme.test|default|view|pending']],
      [['--status', 'failed'], ['prod-eu|alice@acme.test|team-a|edit|failed']],
      [['--user', EMAIL.bob, '--role', 'view'], ['prod-eu|bob@acme.test|*|view|applied']],
      [['--user', EMAIL.alice, '--role', 'view', '--status', 'applied'], ['staging|alice@acme.test|*|view|applied']],
    ];
    for (const [flags, expected] of cases) {
      const r = await admin(['cluster', 'access', 'list', '--all-clusters', ...flags]);
      expect(r.code, `${flags.join(' ')}: ${r.stderr}`).toBe(0);
      expect(rows(r), flags.join(' ')).toEqual(expected);
    }
    const none = await admin(['cluster', 'access', 'list', '--all-clusters', '--user', EMAIL.carol]);
    expect([none.code, none.stdout, none.stderr]).toEqual([0, '', 'no grants match on any cluster\n']);
    const bad = await admin(['cluster', 'access', 'list', '--all-clusters', '--status', 'done']);
    expect(bad.code).toBe(2);
    const both = await admin(['cluster', 'access', 'list', 'staging', '--all-clusters']);
    expect([both.code, both.stderr]).toEqual([2, 'ankra: give a cluster or --all-clusters, not both\n']);
  });

  it('-o json and -o yaml: one flat list of the API\'s grant objects, each with cluster_name added', async () => {
    const expected = [
      ...(await grants(S)).map((g) => ({ ...g, cluster_name: 'staging' })),
      ...(await grants(P)).map((g) => ({ ...g, cluster_name: 'prod-eu' })),
      ...(await grants(E)).map((g) => ({ ...g, cluster_name: 'edge-1' })),
    ];
    expect(expected).toHaveLength(6);
    const json = await admin(['cluster', 'access', 'list', '--all-clusters', '-o', 'json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(expected);
    const yaml = await admin(['cluster', 'access', 'list', '--all-clusters', '-o', 'yaml']);
    expect(parseYaml(yaml.stdout)).toEqual(expected);
    const filtered = await admin(['cluster', 'access', 'list', '--all-clusters', '--role', 'edit', '-o', 'json']);
    expect(JSON.parse(filtered.stdout)).toEqual(expected.filter((g) => g.role === 'edit'));
  });

  it('a 5xx on one cluster\'s grants: that cluster is named on stderr, exit 1, the others are still listed', async () => {
    await emu.hook('POST', 'faults', { path_prefix: GRANTS(P), method: 'GET', status: 503 });
    const r = await admin(['cluster', 'access', 'list', '--all-clusters']);
    expect(r.code).toBe(1);
    expect(rows(r)).toEqual([
      'staging|alice@acme.test|*|view|applied',
      'staging|bob@acme.test|team-a|edit|applied',
      'staging|admin@acme.test|*|cluster-admin|applied',
      'edge-1|alice@acme.test|default|view|pending',
    ]);
    expect(lines(r.stderr)).toEqual([
      'warning: prod-eu: could not list its grants: cannot list the grants on prod-eu: the Ankra API answered 503 (Service Unavailable) after 3 attempts; try again later; --debug shows each request',
      'warning: 1 of 3 clusters failed: prod-eu',
    ]);
    // The JSON of the others still parses, for a script.
    const json = await admin(['cluster', 'access', 'list', '--all-clusters', '--user', EMAIL.alice, '-o', 'json']);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as Array<{ cluster_name: string }>).map((g) => g.cluster_name)).toEqual(['staging', 'edge-1']);
    expect(json.stderr).toContain('warning: 1 of 3 clusters failed: prod-eu');
  });
});

// ------------------------------------------------------------------ role and scope change in place

describe('grant --replace', () => {
  beforeEach(reset);

  it('a role change: the old grant goes, the new one follows at once (one grant per scope), and says so', async () => {
    const old = await grant(S, EMAIL.bob, 'view');
    const other = await grant(P, EMAIL.bob, 'view');
    await emu.hook('POST', 'reconcile/now');
    await emu.clearRequests();
    const r = await admin(['cluster', 'access', 'grant', EMAIL.bob, '--cluster', 'staging', '--role', 'edit', '--replace', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const made = JSON.parse(r.stdout) as Grant;
    expect(made).toMatchObject({ user_email: EMAIL.bob, scope: 'cluster', namespace: null, role: 'edit', reconcile_status: 'pending' });
    expect(lines(r.stderr)).toEqual([
      'Replaced view on cluster staging with edit for bob@acme.test (pending; the API allows one grant per scope, so the old one went first)',
      `Ankra applies it to the cluster shortly; follow it with \`ankra cluster access wait ${made.id} --cluster staging\``,
    ]);
    // Read, then the DELETE and the POST back to back: nothing in between.
    expect((await emu.requests({ path: GRANTS(S) })).map((e) => `${call(e)} ${e.status}`)).toEqual([
      `GET ${GRANTS(S)} 200`,
      `DELETE ${GRANTS(S)}/${old.id} 200`,
      `POST ${GRANTS(S)} 201`,
    ]);
    expect(await writes()).toEqual([`DELETE ${GRANTS(S)}/${old.id}`, `POST ${GRANTS(S)}`]);
    expect((await grants(S)).map((g) => `${g.id}|${g.role}`)).toEqual([`${made.id}|edit`]);
    // Another cluster's grant is not touched.
    expect((await grants(P)).map((g) => g.id)).toEqual([other.id]);

    // The same again: nothing to replace, nothing sent.
    await emu.clearRequests();
    const same = await admin(['cluster', 'access', 'grant', EMAIL.bob, '--cluster', 'staging', '--role', 'edit', '--replace']);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).toMatch(/^bob@acme\.test already has edit on cluster staging \((pending|applied)\); nothing to replace\n/);
    expect(await writes()).toEqual([]);
    expect(await emu.offContract()).toEqual([]);
  });

  it('a role change with --wait: the swap, then only reads until applied', async () => {
    const old = await grant(S, EMAIL.alice, 'edit', 'team-a');
    await emu.hook('POST', 'reconcile/now');
    await emu.clearRequests();
    const r = await admin(['cluster', 'access', 'grant', EMAIL.alice, '--cluster', 'staging', '--role', 'admin', '--namespace', 'team-a', '--replace', '--wait', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const made = JSON.parse(r.stdout) as Grant;
    expect(made).toMatchObject({ role: 'admin', scope: 'namespace', namespace: 'team-a', reconcile_status: 'applied' });
    expect(lines(r.stderr)).toEqual([
      'Replaced edit on namespace team-a of staging with admin for alice@acme.test (pending; the API allows one grant per scope, so the old one went first)',
      'Waiting for Ankra to apply admin on namespace team-a of staging for alice@acme.test (pending)',
      'Waiting for Ankra to apply admin on namespace team-a of staging for alice@acme.test (applied)',
      'Applied admin on namespace team-a of staging for alice@acme.test',
      'Next: alice@acme.test can run `ankra cluster kubeconfig add staging --namespace team-a` and use kubectl',
    ]);
    const log = (await emu.requests({ path: GRANTS(S) })).map(call);
    expect(log.slice(0, 3)).toEqual([`GET ${GRANTS(S)}`, `DELETE ${GRANTS(S)}/${old.id}`, `POST ${GRANTS(S)}`]);
    expect(log.slice(3).length).toBeGreaterThan(0);
    expect(log.slice(3).every((l) => l === `GET ${GRANTS(S)}`)).toBe(true);
    expect(await state(S)).toEqual([`${EMAIL.alice}|team-a|admin`]);
  });

  it('a role change whose create fails after the delete: exit 1, and the log shows the person was left with no grant', async () => {
    const old = await grant(S, EMAIL.bob, 'view');
    await emu.hook('POST', 'reconcile/now');
    await emu.hook('POST', 'faults', { path_prefix: GRANTS(S), method: 'POST', status: 500, times: 1 });
    await emu.clearRequests();
    const r = await admin(['cluster', 'access', 'grant', EMAIL.bob, '--cluster', 'staging', '--role', 'edit', '--replace', '-o', 'json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('ankra: cannot grant access on staging: the Ankra API answered 500');
    // It says what the person has now, and how to give it back.
    expect(r.stderr).toMatch(/; the old grant \(view on cluster staging\) was already revoked, so bob@acme\.test has no access there now; run the change again, or give back what they had: `ankra cluster access grant bob@acme\.test --cluster staging --role view`\n$/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect((await emu.requests({ path: GRANTS(S) })).map((e) => `${call(e)} ${e.status}`)).toEqual([
      `GET ${GRANTS(S)} 200`,
      `DELETE ${GRANTS(S)}/${old.id} 200`,
      `POST ${GRANTS(S)} 500`,
    ]);
    // The API has no update: the old grant is gone, and nothing took its place.
    expect(await state(S)).toEqual([]);
  });

  it('a scope change whose revoke of the old grant fails: the new grant on stdout, and how to finish', async () => {
    const old = await grant(S, EMAIL.bob, 'view');
    await emu.hook('POST', 'reconcile/now');
    await emu.hook('POST', 'faults', { path_prefix: `${GRANTS(S)}/${old.id}`, method: 'DELETE', status: 503, times: 3 });
    const r = await admin(['cluster', 'access', 'grant', EMAIL.bob, '--cluster', 'staging', '--role', 'edit', '--namespace', 'team-a', '--replace', '-o', 'json']);
    expect(r.code).toBe(1);
    const shown = JSON.parse(r.stdout) as Grant;
    expect(shown).toMatchObject({ user_email: EMAIL.bob, role: 'edit', scope: 'namespace', namespace: 'team-a' });
    const last = r.stderr.trim().split('\n').pop() ?? '';
    expect(last).toMatch(new RegExp(`^ankra: cannot revoke grant ${old.id} on staging: .*503.*; bob@acme\\.test now has both edit on namespace team-a of staging and view on cluster staging; finish the change with \`ankra cluster access revoke ${old.id} --cluster staging\`$`));
    expect(await state(S)).toEqual([`${EMAIL.bob}|*|view`, `${EMAIL.bob}|team-a|edit`]);
    await emu.hook('DELETE', 'faults');
    expect((await admin(['cluster', 'access', 'revoke', old.id, '--cluster', 'staging'])).code).toBe(0);
  });

  it('a scope change (cluster → namespace), --wait or not: the new grant first, the old one goes once the new one is applied', async () => {
    const old = await grant(S, EMAIL.bob, 'view');
    await emu.hook('POST', 'reconcile/now');
    await emu.clearRequests();
    const r = await admin(['cluster', 'access', 'grant', EMAIL.bob, '--cluster', 'staging', '--role', 'edit', '--namespace', 'team-a', '--replace']);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim().split('\t').at(-1) ?? '';
    expect(r.stdout.split('\t').slice(0, 4)).toEqual([EMAIL.bob, 'team-a', 'edit', 'applied']);
    const err = lines(r.stderr);
    expect(err[0]).toBe('Granted edit on namespace team-a of staging to bob@acme.test (pending)');
    const applied = err.indexOf('Applied edit on namespace team-a of staging for bob@acme.test');
    const revoked = err.indexOf('Revoked view on cluster staging from bob@acme.test (replaced)');
    expect(applied).toBeGreaterThan(0);
    expect(revoked).toBeGreaterThan(applied);
    expect(err.at(-1)).toBe('Next: bob@acme.test can run `ankra cluster kubeconfig add staging --namespace team-a` and use kubectl');
    // the old grant went last, after reads saw the new one applied
    const log = (await emu.requests({ path: GRANTS(S) })).map((e) => call(e));
    expect(log.filter((c) => !c.startsWith('GET'))).toEqual([`POST ${GRANTS(S)}`, `DELETE ${GRANTS(S)}/${old.id}`]);
    expect(log.at(-1)).toBe(`DELETE ${GRANTS(S)}/${old.id}`);
    expect(log.indexOf(`DELETE ${GRANTS(S)}/${old.id}`) - log.indexOf(`POST ${GRANTS(S)}`)).toBeGreaterThan(1);
    expect((await grants(S)).map((g) => `${g.id}|${g.namespace}|${g.role}`)).toEqual([`${id}|team-a|edit`]);
  });

  it('a scope change with --wait: the old grant stays until the new one is applied, then goes', async () => {
    const old = await grant(S, EMAIL.bob, 'edit', 'team-a');
    await emu.hook('POST', 'reconcile/now');
    await emu.hook('POST', 'reconcile', { delay_ms: 3_600_000 });
    await emu.clearRequests();
    const run = admin(['cluster', 'access', 'grant', EMAIL.bob, '--cluster', 'staging', '--role', 'view', '--replace', '--wait', '-o', 'json']);
    // While the new grant is pending and being polled, the old one is still there.
    await until('two polls of the pending grant', async () => (await emu.requests({ method: 'GET', path: GRANTS(S) })).length >= 3);
    expect(await writes()).toEqual([`POST ${GRANTS(S)}`]);
    expect((await grants(S)).map((g) => g.id)).toContain(old.id);
    await emu.hook('POST', 'reconcile/now');
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ scope: 'cluster', role: 'view', reconcile_status: 'applied' });
    const log = (await emu.requests({ path: GRANTS(S) })).map(call);
    const post = log.indexOf(`POST ${GRANTS(S)}`);
    const del = log.indexOf(`DELETE ${GRANTS(S)}/${old.id}`);
    expect(post).toBe(1);
    // Only reads between the two, and the DELETE is the last call.
    expect(log.slice(post + 1, del).every((l) => l === `GET ${GRANTS(S)}`)).toBe(true);
    expect(del).toBe(log.length - 1);
    expect(lines(r.stderr).slice(-3)).toEqual([
      'Applied view on cluster staging for bob@acme.test',
      'Revoked edit on namespace team-a of staging from bob@acme.test (replaced)',
      'Next: bob@acme.test can run `ankra cluster kubeconfig add staging` and use kubectl',
    ]);
    expect(await state(S)).toEqual([`${EMAIL.bob}|*|view`]);
  });

  it('a scope change with --wait whose new grant fails: the old grant is kept and the failure is exit 1', async () => {
    const old = await grant(P, EMAIL.alice, 'view');
    await emu.hook('POST', 'reconcile/now');
    await emu.hook('POST', `clusters/${P}`, { fail_next_reconcile: 'admission webhook denied the RoleBinding' });
    await emu.clearRequests();
    const r = await admin(['cluster', 'access', 'grant', EMAIL.alice, '--cluster', 'prod-eu', '--role', 'edit', '--namespace', 'team-a', '--replace', '--wait']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('warning: kept view on cluster prod-eu: the new grant is not applied\n');
    expect(r.stderr).toContain('ankra: the grant (edit on namespace team-a of prod-eu for alice@acme.test) failed to apply: admission webhook denied the RoleBinding');
    expect(await writes()).toEqual([`POST ${GRANTS(P)}`]);
    expect((await grants(P)).map((g) => `${g.id === old.id ? 'old' : 'new'}|${g.reconcile_status}`)).toEqual(['old|applied', 'new|failed']);
  });
});

// ------------------------------------------------------------------ progress without a terminal

describe('grant --wait without a terminal', () => {
  beforeEach(reset);

  it('prints a line when the state changes, not on every poll', async () => {
    await emu.hook('POST', 'reconcile', { delay_ms: 3_600_000 });
    const run = admin(['cluster', 'access', 'grant', EMAIL.alice, '--cluster', 'prod-eu', '--namespace', 'default', '--wait']);
    // Three polls (0.4 s, 1 s, 1.9 s into the wait) see it pending; then Ankra applies it.
    await until('three polls of the pending grant', async () => (await emu.requests({ method: 'GET', path: GRANTS(P) })).length >= 3);
    await emu.hook('POST', 'reconcile/now');
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    const polls = await emu.requests({ method: 'GET', path: GRANTS(P) });
    // The last poll saw it applied; every one before it saw it pending.
    expect(polls.length).toBeGreaterThanOrEqual(4);
    expect(lines(r.stderr)).toEqual([
      'Granted view on namespace default of prod-eu to alice@acme.test (pending)',
      'Waiting for Ankra to apply view on namespace default of prod-eu for alice@acme.test (pending)',
      'Waiting for Ankra to apply view on namespace default of prod-eu for alice@acme.test (applied)',
      'Applied view on namespace default of prod-eu for alice@acme.test',
      'Next: alice@acme.test can run `ankra cluster kubeconfig add prod-eu --namespace default` and use kubectl',
    ]);
    expect(r.stdout.split('\t').slice(0, 4)).toEqual([EMAIL.alice, 'default', 'view', 'applied']);
  });
});

// ------------------------------------------------------------------ a large answer

describe('a cluster with 50,000 grants', () => {
  let big: InProcessEmulator;
  let env: NodeJS.ProcessEnv;
  let cluster: { id: string; name: string };
  beforeAll(async () => {
    big = await startEmulator();
    env = { ...box.env, ANKRA_BASE_URL: big.baseUrl, ANKRA_CA_FILE: big.caFile, ANKRA_API_TOKEN: big.tokens[EMAIL.admin] };
    const gen = await big.hook<{ grants_added: number; grants_cluster: { id: string; name: string } }>('POST', 'generate', { members: 500, grants: 50_000 });
    expect(gen.grants_added).toBe(50_000);
    cluster = gen.grants_cluster;
    await big.clearRequests();
  });
  afterAll(async () => {
    await big.stop();
  });

  it('lists them all as JSON in one request, exit 0', async () => {
    const started = Date.now();
    const r = await ankra(['cluster', 'access', 'list', cluster.name, '-o', 'json'], { env });
    const took = Date.now() - started;
    expect(r.code, r.stderr.slice(0, 500)).toBe(0);
    expect(r.stderr).toBe('');
    const list = JSON.parse(r.stdout) as Grant[];
    expect(list).toHaveLength(50_000);
    expect(new Set(list.map((g) => g.id)).size).toBe(50_000);
    expect(list.every((g) => g.cluster_id === cluster.id && g.reconcile_status === 'applied')).toBe(true);
    // The same grants, in the API's order.
    const api = await big.api<{ result: Grant[] }>('GET', GRANTS(cluster.id), { token: big.tokens[EMAIL.admin] });
    expect(list.map((g) => g.id)).toEqual(api.body.result.map((g) => g.id));
    expect((await big.requests({ path: GRANTS(cluster.id) })).filter((e) => e.user === EMAIL.admin)).toHaveLength(2);
    expect(took).toBeLessThan(15_000);
  });
});
