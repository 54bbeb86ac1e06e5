// `ankra org|cluster|cluster access …` end to end: the built binary against the emulator
// over HTTPS, as an organisation admin and as a member, at both scopes, with --wait
// reaching applied, failed and offline, revoke by email, id and --all, and the json/yaml
// output parsed back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ANKRA_BIN, ankra, findSecrets, runProgram, sandbox, type RunResult, type Sandbox } from './helpers/cli';
import { EMAIL, IDS, startEmulator, type InProcessEmulator } from './helpers/emulator';
import type { Grant } from '../src/api/types';

let emu: InProcessEmulator;
let box: Sandbox;
const all: RunResult[] = [];

beforeAll(async () => {
  emu = await startEmulator({ reconcileDelayMs: 150 });
  box = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile });
});
afterAll(async () => {
  // Whatever the tests printed, no API token may appear in it.
  expect(findSecrets(all.flatMap((r) => [r.stdout, r.stderr]), Object.values(emu.tokens))).toEqual([]);
  await emu.stop();
  box.cleanup();
});

async function as(who: keyof typeof EMAIL, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const r = await ankra(args, { env: { ...box.env, ANKRA_API_TOKEN: emu.tokens[EMAIL[who]], ...extraEnv } });
  all.push(r);
  return r;
}

function json<T>(r: RunResult): T {
  expect(r.stderr.includes('at ') && /\n\s+at /.test(r.stderr)).toBe(false);
  return JSON.parse(r.stdout) as T;
}

const S = IDS.clusters.staging;
const P = IDS.clusters.prodEu;

describe('organisations and clusters', () => {
  it('lists organisations: bob sees both of his, alice one', async () => {
    const [bob, alice] = await Promise.all([as('bob', ['org', 'list', '-o', 'json']), as('alice', ['org', 'list', '-o', 'json'])]);
    expect(bob.code).toBe(0);
    expect(json<{ slug: string }[]>(bob).map((o) => o.slug).sort()).toEqual(['acme', 'globex']);
    expect(json<{ slug: string; user_current: boolean }[]>(alice)).toMatchObject([{ slug: 'acme', user_current: true }]);
  });

  it('lists every cluster of the organisation across pages, and scopes by --org', async () => {
    await emu.hook('POST', 'pagination', { max_page_size: 1 });
    await emu.clearRequests();
    const acme = await as('admin', ['cluster', 'list', '-o', 'json']);
    await emu.hook('POST', 'pagination', { max_page_size: 100 });
    expect(acme.code).toBe(0);
    expect(json<{ name: string }[]>(acme).map((c) => c.name)).toEqual(['staging', 'prod-eu', 'sandbox-1']);
    expect((await emu.requests({ method: 'GET', path: '/api/v1/clusters' })).length).toBe(3);

    const globex = await as('bob', ['--org', 'globex', 'cluster', 'list', '-o', 'json']);
    expect(json<{ id: string }[]>(globex).map((c) => c.id)).toEqual([IDS.clusters.globexStaging]);
    const byId = await as('bob', ['--org', IDS.orgs.globex, 'cluster', 'list']);
    expect(byId.stdout).toContain(IDS.clusters.globexStaging);
  });

  it('prints tab-separated rows without a header when piped', async () => {
    const r = await as('admin', ['cluster', 'list']);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    // every column when piped, ids last, times as RFC 3339
    expect(rows[0]?.slice(0, 2)).toEqual(['staging', 'online']);
    expect(rows[0]?.[5]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(rows[0]?.at(-1)).toBe(S);
    expect(rows.every((cols) => cols.length === 7)).toBe(true);
  });

  it('remembers a default cluster per organisation; ANKRA_CLUSTER and --cluster win', async () => {
    const env = { XDG_CONFIG_HOME: `${box.home}/select-config` };
    expect((await as('admin', ['cluster', 'access', 'list'], env)).code).toBe(2);
    const sel = await as('admin', ['cluster', 'select', 'prod-eu', '-o', 'json'], env);
    expect(sel.code).toBe(0);
    expect(JSON.parse(sel.stdout)).toEqual({ id: P, name: 'prod-eu', organisation_id: IDS.orgs.acme });
    expect(sel.stderr).toContain('Default cluster is now prod-eu');
    await emu.clearRequests();
    expect((await as('admin', ['cluster', 'access', 'list'], env)).code).toBe(0);
    expect(await emu.requests({ path: `/api/v1/clusters/${P}/access/grants` })).toHaveLength(1);
    await emu.clearRequests();
    await as('admin', ['cluster', 'access', 'list'], { ...env, ANKRA_CLUSTER: 'staging' });
    expect(await emu.requests({ path: `/api/v1/clusters/${S}/access/grants` })).toHaveLength(1);
    expect((await as('admin', ['cluster', 'select', 'nope'], env)).code).toBe(3);
    // Selected without --org (acme is the default organisation), used with --org acme too.
    await emu.clearRequests();
    expect((await as('admin', ['--org', 'acme', 'cluster', 'access', 'list'], env)).code).toBe(0);
    expect(await emu.requests({ path: `/api/v1/clusters/${P}/access/grants` })).toHaveLength(1);
  });
});

describe('grant, list and revoke', () => {
  it('grants cluster-wide view and waits until applied, then names the next step', async () => {
    const r = await as('admin', ['cluster', 'access', 'grant', EMAIL.alice, '--cluster', 'staging', '--wait', '-o', 'json']);
    expect(r.code).toBe(0);
    const g = json<Grant>(r);
    expect(g).toMatchObject({ user_email: EMAIL.alice, scope: 'cluster', namespace: null, role: 'view', reconcile_status: 'applied' });
    expect(r.stderr).toContain('Granted view on cluster staging to alice@acme.test');
    expect(r.stderr).toContain('`ankra cluster kubeconfig add staging`');
  });

  it('grants a namespace role by cluster id, with the namespace in the next step', async () => {
    const r = await as('admin', ['cluster', 'access', 'grant', EMAIL.bob, '--cluster', S, '--role', 'edit', '--namespace', 'team-a', '--wait', '--timeout', '30s']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\t').slice(0, 4)).toEqual([EMAIL.bob, 'team-a', 'edit', 'applied']);
    // Given as an id, the cluster's name is looked up for the messages (one request, by id).
    expect(r.stderr).toContain('`ankra cluster kubeconfig add staging --namespace team-a`');
  });

  it('without --wait returns at once with the grant pending', async () => {
    const r = await as('admin', ['cluster', 'access', 'grant', EMAIL.alice, '--cluster', 'prod-eu', '--role', 'admin', '--namespace', 'staging', '-o', 'yaml']);
    expect(r.code).toBe(0);
    expect(parseYaml(r.stdout)).toMatchObject({ role: 'admin', scope: 'namespace', namespace: 'staging', reconcile_status: 'pending' });
  });

  it('is idempotent for the same role and explains a conflicting one', async () => {
    const same = await as('admin', ['cluster', 'access', 'grant', 'ALICE@acme.test', '--cluster', 'staging', '-o', 'json']);
    expect(same.code).toBe(0);
    expect(same.stderr).toContain('already has view on cluster staging');
    const other = await as('admin', ['cluster', 'access', 'grant', EMAIL.alice, '--cluster', 'staging', '--role', 'edit']);
    expect(other.code).toBe(1);
    expect(other.stderr.trim().split('\n')).toHaveLength(1);
    expect(other.stderr).toMatch(/alice@acme\.test already has view on cluster staging; to change it, add --replace: `ankra cluster access grant alice@acme\.test --cluster staging --role edit --replace`/);
  });

  it('--wait ends with exit 1 and the reconcile error when the grant fails', async () => {
    await emu.hook('POST', `clusters/${P}`, { fail_next_reconcile: 'admission webhook denied the RoleBinding' });
    const r = await as('admin', ['cluster', 'access', 'grant', EMAIL.bob, '--cluster', 'prod-eu', '--wait', '-o', 'json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ankra: the grant (view on cluster prod-eu for bob@acme.test) failed to apply: admission webhook denied the RoleBinding');
    // The grant as last seen is still printed, for a CI job's records.
    expect(JSON.parse(r.stdout)).toMatchObject({ reconcile_status: 'failed', reconcile_error: 'admission webhook denied the RoleBinding' });
    const list = json<Grant[]>(await as('admin', ['cluster', 'access', 'list', '--cluster', 'prod-eu', '-o', 'json']));
    expect(list.find((g) => g.user_email === EMAIL.bob)?.reconcile_status).toBe('failed');
    const table = await as('admin', ['cluster', 'access', 'list', '--cluster', 'prod-eu']);
    expect(table.stdout).toMatch(/\tfailed\t[^\t]*\tadmission webhook denied the RoleBinding\t/);
  });

  it('--wait ends with exit 5 when the cluster is offline, and the grant applies once it is back', async () => {
    await emu.hook('POST', `clusters/${P}`, { online: false });
    const r = await as('admin', ['cluster', 'access', 'grant', EMAIL.alice, '--cluster', 'prod-eu', '--role', 'view', '--wait', '-o', 'json']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('cluster prod-eu is offline (its Ankra agent is disconnected): the grant is applied when it reconnects');
    expect(json<Grant>(r).reconcile_status).toBe('cluster_offline');
    await emu.hook('POST', `clusters/${P}`, { online: true });
    const again = await as('admin', ['cluster', 'access', 'grant', EMAIL.alice, '--cluster', 'prod-eu', '--role', 'view', '--wait', '-o', 'json']);
    expect(again.code).toBe(0);
    expect(json<Grant>(again).reconcile_status).toBe('applied');
  });

  it('--wait gives up with exit 5 after --timeout', async () => {
    await emu.hook('POST', 'reconcile', { delay_ms: 60_000 });
    const r = await as('admin', ['cluster', 'access', 'grant', EMAIL.bob, '--cluster', 'staging', '--role', 'view', '--namespace', 'default', '--wait', '--timeout', '1s']);
    await emu.hook('POST', 'reconcile', { delay_ms: 150 });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('timed out after 1s waiting for Ankra to apply view on namespace default of staging for bob@acme.test (still pending)');
    expect(r.stdout.split('\t').slice(0, 4)).toEqual([EMAIL.bob, 'default', 'view', 'pending']);
  });

  it('lists every grant for an admin; a member is told it needs an admin and how to check their own access (exit 7)', async () => {
    const admin = json<Grant[]>(await as('admin', ['cluster', 'access', 'list', '--cluster', 'staging', '-o', 'json']));
    expect(new Set(admin.map((g) => g.user_email))).toEqual(new Set([EMAIL.alice, EMAIL.bob]));
    const alice = await as('alice', ['cluster', 'access', 'list', 'staging']);
    expect(alice.code).toBe(7);
    expect(alice.stderr).toBe('ankra: listing the grants on staging needs an organisation admin; to check your own access, run `ankra doctor --cluster staging`\n');
    // The contract leaves a member's 403 body open: another detail says the same, with exit 6
    // (Ankra's Go CLI gives 7 to permission_denied only).
    await emu.hook('POST', 'faults', { path_prefix: `/api/v1/clusters/${emu.ids.clusters.staging}/access/grants`, method: 'GET', status: 403, detail: 'Only organisation admins can manage cluster access', times: 1 });
    const plain = await as('alice', ['cluster', 'access', 'list', 'staging']);
    expect([plain.code, plain.stderr]).toEqual([6, 'ankra: listing the grants on staging needs an organisation admin; the API said: Only organisation admins can manage cluster access; to check your own access, run `ankra doctor --cluster staging`\n']);
  });

  it("lists the organisation's members, marking invitations, for admins and members alike; no cluster needed", async () => {
    for (const who of ['admin', 'alice'] as const) {
      const r = await as(who, ['cluster', 'access', 'members', '-o', 'json']);
      expect(r.code, r.stderr).toBe(0);
      const members = json<{ email: string; status: string; id: string | null }[]>(r);
      expect(members.map((m) => m.email).sort()).toEqual([EMAIL.admin, EMAIL.alice, EMAIL.bob, EMAIL.carol].sort());
      expect(members.find((m) => m.email === EMAIL.carol)).toMatchObject({ status: 'invited', id: null });
    }
    const table = await as('admin', ['cluster', 'access', 'members']);
    expect(table.stdout).toMatch(/carol@acme\.test\tmember\tinvited \(not accepted yet\)/);
    await emu.clearRequests();
    await as('admin', ['cluster', 'access', 'members']);
    expect((await emu.requests()).map((e) => `${e.method} ${e.path}`)).toEqual(['GET /api/v1/org/organisation', `GET /api/v1/org/organisation/${IDS.orgs.acme}`]);
  });

  it('refuses a member who tries to grant (exit 7) and creates nothing', async () => {
    const before = json<Grant[]>(await as('admin', ['cluster', 'access', 'list', '--cluster', 'staging', '-o', 'json'])).length;
    const r = await as('alice', ['cluster', 'access', 'grant', EMAIL.bob, '--cluster', 'staging', '--role', 'cluster-admin']);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('');
    const after = json<Grant[]>(await as('admin', ['cluster', 'access', 'list', '--cluster', 'staging', '-o', 'json'])).length;
    expect(after).toBe(before);
  });

  it('revokes by id and by email (case-insensitive); unknown ones are exit 3', async () => {
    const grants = json<Grant[]>(await as('admin', ['cluster', 'access', 'list', '--cluster', 'staging', '-o', 'json']));
    const alices = grants.filter((g) => g.user_email === EMAIL.alice);
    const byId = await as('admin', ['cluster', 'access', 'revoke', alices[0]?.id ?? '', '--cluster', 'staging', '-o', 'json']);
    expect(byId.code).toBe(0);
    expect(json<{ revoked: number; grant_ids: string[] }>(byId)).toEqual({ revoked: 1, grant_ids: [alices[0]?.id] });

    const bobs = grants.filter((g) => g.user_email === EMAIL.bob).length;
    expect(bobs).toBeGreaterThan(1);
    const byEmail = await as('admin', ['cluster', 'access', 'revoke', 'Bob@ACME.test', '--cluster', 'staging']);
    expect(byEmail.code).toBe(0);
    expect(byEmail.stderr.match(/Revoked bob@acme\.test's grant [0-9a-f-]{36} on staging/g)).toHaveLength(bobs);
    expect(byEmail.stderr).toContain(`Revoked ${bobs} grants on staging`);
    const left = json<Grant[]>(await as('admin', ['cluster', 'access', 'list', '--cluster', 'staging', '-o', 'json']));
    expect(left.filter((g) => g.user_email === EMAIL.bob || g.id === alices[0]?.id)).toEqual([]);

    expect((await as('admin', ['cluster', 'access', 'revoke', EMAIL.bob, '--cluster', 'staging'])).code).toBe(3);
    expect((await as('admin', ['cluster', 'access', 'revoke', alices[0]?.id ?? '', '--cluster', 'staging'])).code).toBe(3);
  });

  it('revoke --all refuses without a terminal or --yes (exit 2), then revokes everything with --yes', async () => {
    await as('admin', ['cluster', 'access', 'grant', EMAIL.alice, '--cluster', 'prod-eu', '--role', 'edit', '--namespace', 'team-a']);
    const before = json<Grant[]>(await as('admin', ['cluster', 'access', 'list', '--cluster', 'prod-eu', '-o', 'json']));
    expect(before.length).toBeGreaterThan(1);
    const refused = await as('admin', ['cluster', 'access', 'revoke', '--all', '--cluster', 'prod-eu']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^ankra: refusing to revoke all \d+ grants on prod-eu \(.*\) without confirmation; pass --yes: `ankra cluster access revoke --all --cluster prod-eu --yes`\n$/);
    expect(json<Grant[]>(await as('admin', ['cluster', 'access', 'list', '--cluster', 'prod-eu', '-o', 'json']))).toHaveLength(before.length);

    const done = await as('admin', ['cluster', 'access', 'revoke', '--all', '--cluster', 'prod-eu', '--yes', '-o', 'json']);
    expect(done.code).toBe(0);
    expect(json<{ revoked: number }>(done).revoked).toBe(before.length);
    const empty = await as('admin', ['cluster', 'access', 'list', '--cluster', 'prod-eu']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toContain('no grants on prod-eu');
  });

  describe('on a terminal', () => {
    // `script` (util-linux) gives ankra a pty for stdin, stdout and stderr; its stdin is ours.
    const onPty = (who: keyof typeof EMAIL, args: string[], input = '') =>
      runProgram('script', ['-qec', `stty cols 120 rows 40; '${process.execPath}' '${ANKRA_BIN}' ${args.join(' ')}`, '/dev/null'], {
        env: { ...box.env, ANKRA_API_TOKEN: emu.tokens[EMAIL[who]], TERM: 'xterm' },
        input,
        timeoutMs: 20_000,
      });

    it('revoke --all asks first: no keeps everything (exit 4), yes revokes', async () => {
      await as('admin', ['cluster', 'access', 'grant', EMAIL.bob, '--cluster', 'prod-eu', '--namespace', 'team-a']);
      const no = await onPty('admin', ['cluster', 'access', 'revoke', '--all', '--cluster', 'prod-eu'], 'n\n');
      expect(no.stdout).toContain('Revoke all 1 grant on prod-eu (bob@acme.test)? They lose kubectl access at once. [y/N]');
      expect(no.code).toBe(4);
      expect(json<Grant[]>(await as('admin', ['cluster', 'access', 'list', '--cluster', 'prod-eu', '-o', 'json']))).toHaveLength(1);
      const yes = await onPty('admin', ['cluster', 'access', 'revoke', '--all', '--cluster', 'prod-eu'], 'y\n');
      expect(yes.code, yes.stdout).toBe(0);
      expect(yes.stdout).toContain('Revoked 1 grant on prod-eu');
      expect(json<Grant[]>(await as('admin', ['cluster', 'access', 'list', '--cluster', 'prod-eu', '-o', 'json']))).toEqual([]);
    });

    it('grant --wait shows a spinner while pending, then the result', async () => {
      await emu.hook('POST', 'reconcile', { delay_ms: 1500 });
      try {
        const r = await onPty('admin', ['cluster', 'access', 'grant', EMAIL.alice, '--cluster', 'prod-eu', '--namespace', 'default', '--wait']);
        expect(r.code, r.stdout).toBe(0);
        expect(r.stdout).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Waiting for Ankra to apply view on namespace default of prod-eu for alice@acme\.test \(pending\)/);
        expect(r.stdout).toContain('Applied view on namespace default of prod-eu for alice@acme.test');
      } finally {
        await emu.hook('POST', 'reconcile', { delay_ms: 150 });
      }
    });
  });
});
