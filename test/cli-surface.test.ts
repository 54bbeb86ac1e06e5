/**
 * What people see and type, beyond any one command's job: `ankra version` and `help` (a
 * command's own help, topics, unknown topics), machine output for scripts (`-o name`,
 * `-o jsonpath=…`, `--no-headers`, `auth token`), one way to name a cluster (positional or
 * --cluster), Ctrl-C during `grant --wait` (the grant stays; how to resume), the wording
 * rules (a ✓ only on a terminal, the server's spelling of emails, no next step for a pending
 * grant, --timeout only with --wait, the plugin hidden and warning on a terminal), and text
 * from the server that must never reach a terminal raw: hostile cluster names through every
 * command that prints one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ankra, runProgram, ANKRA_BIN, sandbox, type RunResult, type Sandbox } from './helpers/cli';
import { EMAIL, startEmulator, type InProcessEmulator } from './helpers/emulator';
import { plainText, startAnkra, startOnPty } from './helpers/login';
import pkg from '../package.json' with { type: 'json' };

let emu: InProcessEmulator;
const boxes: Sandbox[] = [];
let admin: NodeJS.ProcessEnv;

function box(extra: NodeJS.ProcessEnv = {}): Sandbox {
  const b = sandbox({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, ...extra });
  boxes.push(b);
  return b;
}

const grantAs = (email: string, cluster: string, extra: Record<string, unknown> = {}) =>
  emu.api('POST', `/api/v1/clusters/${cluster}/access/grants`, { token: emu.tokens[EMAIL.admin], body: { user_email: email, scope: 'cluster', role: 'view', ...extra } });

beforeAll(async () => {
  emu = await startEmulator({ reconcileDelayMs: 0 });
  admin = box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.admin] }).env;
});
afterAll(async () => {
  await emu?.stop();
  for (const b of boxes) b.cleanup();
});

describe('version and help', () => {
  it("a group's help lists its commands exactly as the whole tree does (`ankra help` builds all of it; a run builds only argv's path)", async () => {
    for (const group of [[], ['cluster'], ['cluster', 'access'], ['cluster', 'kubeconfig'], ['org'], ['auth']]) {
      const lazy = await ankra([...group, '--help'], { env: admin });
      const whole = await ankra(['help', ...group], { env: admin });
      expect(lazy.code, lazy.stderr).toBe(0);
      expect(lazy.stdout).toContain('Commands:\n');
      expect(lazy.stdout).toBe(whole.stdout);
    }
    const access = (await ankra(['cluster', 'access', '--help'], { env: admin })).stdout;
    expect(access).toMatch(/^ {2}grant \[options\] <email> /m);
    expect(access).toMatch(/^ {2}list \[options\] \[cluster\] /m);
  });

  it('`ankra version` says the version, Node and the platform; -o json too', async () => {
    const r = await ankra(['version'], { env: admin });
    expect(r.stdout).toBe(`ankra ${pkg.version} (Node ${process.version}, ${process.platform}-${process.arch})\n`);
    const j = await ankra(['version', '-o', 'json'], { env: admin });
    expect(JSON.parse(j.stdout)).toEqual({ version: pkg.version, node: process.version, platform: process.platform, arch: process.arch });
  });

  it('`ankra help COMMAND…` is that command\'s help, at any depth; an unknown one is a usage error', async () => {
    const r = await ankra(['help', 'cluster', 'access', 'grant'], { env: admin });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: ankra cluster access grant \[options\] <email>/);
    expect(r.stdout).toEqual((await ankra(['cluster', 'access', 'grant', '--help'], { env: admin })).stdout.trimEnd() + '\n');
    const group = await ankra(['help', 'cluster'], { env: admin });
    expect(group.stdout).toMatch(/^Usage: ankra cluster/);
    const bad = await ankra(['help', 'nosuch'], { env: admin });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('ankra: no help for "nosuch": not a command or topic; see `ankra help` (topics: options, environment, exit-codes)\n');
  });

  it('topics: the global options, every environment variable, the exit codes', async () => {
    const options = await ankra(['help', 'options'], { env: admin });
    for (const f of ['--base-url <url>', '--org <org>', '--token <token>', '-o, --output <format>', '--ca-file <path>', '--debug', '--no-color', '--no-headers']) expect(options.stdout).toContain(f);
    const environment = await ankra(['help', 'environment'], { env: admin });
    for (const v of ['ANKRA_BASE_URL', 'ANKRA_ORG', 'ANKRA_API_TOKEN', 'ANKRA_CLUSTER', 'ANKRA_CA_FILE', 'ANKRA_PROFILE', 'ANKRA_CREDENTIAL_STORE', 'ANKRA_ALLOW_INSECURE_HTTP', 'ANKRA_HTTP_TIMEOUT_MS', 'HTTPS_PROXY', 'NO_PROXY', 'NODE_EXTRA_CA_CERTS', 'KUBECONFIG', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'NO_COLOR', 'BROWSER', 'CI']) {
      expect(environment.stdout, v).toMatch(new RegExp(`^  ${v}\\b`, 'm'));
    }
    const codes = await ankra(['help', 'exit-codes'], { env: admin });
    for (const c of [0, 1, 2, 3, 4, 5, 6, 7, 10]) expect(codes.stdout).toMatch(new RegExp(`^  ${c} +\\S`, 'm'));
    expect(codes.stdout).toMatch(/^ {2}10 +found \(ankra's own\): `cluster access diff` saw drift/m);
  });

  it('the exec plugin is hidden from help; on a terminal it warns before printing a token', async () => {
    expect((await ankra(['cluster', '--help'], { env: admin })).stdout).not.toContain('kube-token');
    expect((await grantAs(EMAIL.admin, emu.ids.clusters.prodEu)).status).toBeLessThan(300);
    const shown = plainText((await startOnPty(['cluster', 'kube-token', '--cluster', emu.ids.clusters.prodEu, '--no-color'], { ...admin, TERM: 'dumb' }).done).stdout);
    expect(shown).toContain('warning: this prints a secret for kubectl; you do not need to run it yourself');
    const piped = await ankra(['cluster', 'kube-token', '--cluster', emu.ids.clusters.prodEu], { env: admin });
    expect(piped.stderr).toBe('');
  });
});

describe('machine output for scripts', () => {
  it('-o name, -o jsonpath=…, and --no-headers', async () => {
    const names = await ankra(['cluster', 'list', '-o', 'name'], { env: admin });
    expect(names.stdout).toBe('staging\nprod-eu\nsandbox-1\n');
    const jp = await ankra(['cluster', 'list', '-o', 'jsonpath={range .[*]}{.name}{"\\t"}{.state}{"\\n"}{end}'], { env: admin });
    expect(jp.stdout).toBe('staging\tonline\nprod-eu\tonline\nsandbox-1\tonline\n');
    const first = await ankra(['cluster', 'list', '-o', 'jsonpath={.[0].id}'], { env: admin });
    expect(first.stdout).toBe(emu.ids.clusters.staging);
    const bad = await ankra(['cluster', 'list', '-o', 'jsonpath={.[0'], { env: admin });
    expect(bad.code).toBe(2);
    const table = plainText((await startOnPty(['cluster', 'list', '--no-headers'], { ...admin, NO_COLOR: '1' }).done).stdout).trim().split('\n');
    expect(table[0]).toMatch(/^staging\s+online/);
    const withHeader = plainText((await startOnPty(['cluster', 'list'], { ...admin, NO_COLOR: '1' }).done).stdout).trim().split('\n');
    expect(withHeader[0]).toMatch(/^NAME\s+STATE/);
  });

  it('`ankra auth token` prints the token in use for scripts, with a warning only on a terminal', async () => {
    const r = await ankra(['auth', 'token'], { env: admin });
    expect(r).toMatchObject({ code: 0, stdout: `${emu.tokens[EMAIL.admin]}\n`, stderr: '' });
    const shown = plainText((await startOnPty(['auth', 'token'], { ...admin, NO_COLOR: '1' }).done).stdout);
    expect(shown).toContain('warning: this is a secret');
    const nobody = await ankra(['auth', 'token'], { env: box().env });
    expect(nobody.code).toBe(6);
  });
});

describe('one way to name a cluster: positional or --cluster', () => {
  it('access list, kubeconfig add and doctor take either; two different ones are a usage error', async () => {
    const a = await ankra(['cluster', 'access', 'list', 'staging', '-o', 'json'], { env: admin });
    const b = await ankra(['cluster', 'access', 'list', '--cluster', 'staging', '-o', 'json'], { env: admin });
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const bob = box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.bob] }).env;
    expect((await grantAs(EMAIL.bob, emu.ids.clusters.staging)).status).toBeLessThan(300);
    const add = await ankra(['cluster', 'kubeconfig', 'add', '--cluster', 'staging', '--namespace', 'team-a'], { env: bob });
    expect(add.code, add.stderr).toBe(0);
    // the context has a namespace: no `-n <namespace>` in the hint
    expect(add.stderr).toContain('Try: kubectl --context ankra-staging get pods\n');
    const both = await ankra(['cluster', 'access', 'list', 'staging', '--cluster', 'prod-eu'], { env: admin });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^ankra: cluster given twice \("staging" and --cluster "prod-eu"\); give it once/);
  });

  it('cluster select too, and it needs one of them', async () => {
    const sel = box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.admin] }).env;
    const a = await ankra(['cluster', 'select', 'prod-eu', '-o', 'json'], { env: sel });
    const b = await ankra(['cluster', 'select', '--cluster', 'prod-eu', '-o', 'json'], { env: sel });
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    expect(JSON.parse(b.stdout)).toMatchObject({ id: emu.ids.clusters.prodEu, name: 'prod-eu' });
    expect(b.stdout).toBe(a.stdout);
    const none = await ankra(['cluster', 'select'], { env: sel });
    expect([none.code, none.stderr]).toEqual([2, 'ankra: no cluster given; name it: `ankra cluster select staging`\n']);
    expect((await ankra(['cluster', 'select', '--help'], { env: sel })).stdout).toMatch(/^Usage: ankra cluster select \[options\] \[cluster\]\n/);
  });
});

describe('the organisation', () => {
  it('ANKRA_ORG is trimmed (a name, slug or id with spaces around it, as .env files leave them)', async () => {
    const bob = box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.bob] }).env;
    for (const org of ['  globex  ', '\tglobex\n', ` ${emu.ids.orgs.globex} `]) {
      const r = await ankra(['cluster', 'list', '-o', 'json'], { env: { ...bob, ANKRA_ORG: org } });
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as Array<{ id: string }>).map((c) => c.id)).toEqual([emu.ids.clusters.globexStaging]);
    }
  });
});

describe('grant', () => {
  it('echoes the email as the server has it, gives no next step while pending, and --timeout needs --wait', async () => {
    await emu.hook('POST', 'reconcile', { delay_ms: 60_000 });
    try {
      const r = await ankra(['cluster', 'access', 'grant', 'ALICE@Acme.Test', '--cluster', 'prod-eu', '--namespace', 'team-a'], { env: admin });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('Granted view on namespace team-a of prod-eu to alice@acme.test (pending)');
      expect(r.stderr).not.toContain('Next:');
      expect(r.stderr).toMatch(/follow it with `ankra cluster access wait [0-9a-f-]{36} --cluster prod-eu`/);
    } finally {
      await emu.hook('POST', 'reconcile', { delay_ms: 0 });
    }
    const t = await ankra(['cluster', 'access', 'grant', EMAIL.alice, '--cluster', 'prod-eu', '--timeout', '30s'], { env: admin });
    expect(t.code).toBe(2);
    expect(t.stderr).toBe('ankra: --timeout only applies with --wait; add --wait, or drop --timeout\n');
  });

  it('Ctrl-C while waiting stops the waiting, says the grant exists and is pending, and how to resume; `access wait` resumes', async () => {
    await emu.hook('POST', 'reconcile', { delay_ms: 600_000 });
    const live = startAnkra(['cluster', 'access', 'grant', EMAIL.bob, '--cluster', 'prod-eu', '--role', 'edit', '--namespace', 'team-a', '--wait'], admin);
    await live.waitForStderr(/Waiting for Ankra to apply/);
    live.child.kill('SIGINT');
    const r = await live.done;
    expect(r.code).toBe(4);
    const last = r.stderr.trim().split('\n').at(-1);
    expect(last).toMatch(/^ankra: stopped waiting; the grant exists and is still pending on prod-eu; resume with `ankra cluster access wait ([0-9a-f-]{36}) --cluster prod-eu`$/);
    const id = /wait ([0-9a-f-]{36})/.exec(last ?? '')?.[1] ?? '';
    const list = JSON.parse((await ankra(['cluster', 'access', 'list', 'prod-eu', '-o', 'json'], { env: admin })).stdout) as Array<{ id: string; reconcile_status: string }>;
    expect(list.find((g) => g.id === id)?.reconcile_status).toBe('pending');
    await emu.hook('POST', 'reconcile', { delay_ms: 0 });
    await emu.hook('POST', 'reconcile/now');
    const resumed = await ankra(['cluster', 'access', 'wait', id, '--cluster', 'prod-eu', '-o', 'json'], { env: admin });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toEqual([expect.objectContaining({ id, reconcile_status: 'applied' })]);
  });

  it('a --wait that fails says so once', async () => {
    await emu.hook('POST', `clusters/${emu.ids.clusters.prodEu}`, { fail_next_reconcile: 'webhook said no' });
    const r = await ankra(['cluster', 'access', 'grant', EMAIL.carol.replace('carol', 'admin'), '--cluster', 'prod-eu', '--namespace', 'default', '--wait'], { env: admin });
    expect(r.code).toBe(1);
    expect(r.stderr.match(/webhook said no/g)).toHaveLength(1);
  });

  it('a ✓ only on a terminal', async () => {
    const piped = await ankra(['cluster', 'select', 'staging'], { env: admin });
    expect(piped.stderr).toBe(`Default cluster is now staging (${emu.ids.clusters.staging})\n`);
    const shown = plainText((await startOnPty(['cluster', 'select', 'staging'], { ...admin, NO_COLOR: '1' }).done).stdout);
    expect(shown).toContain(`✓ Default cluster is now staging (${emu.ids.clusters.staging})`);
  });
});

describe('text from the server never reaches a terminal raw', () => {
  const NAMES = ['evil\u001b]0;PWNED-TITLE\u0007\u001b[2J', 'two\nlines: FAKE', 'x$(touch /tmp/ankra-pwned)', 'bell\u0007\u009b31m'];
  // C0 and C1 control characters and ESC, but the line feed and the tab of piped tables
  // eslint-disable-next-line no-control-regex
  const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
  let ids: string[] = [];

  beforeAll(async () => {
    ids = [];
    for (const name of NAMES) ids.push(((await emu.hook('POST', 'clusters', { name })) as { id: string }).id);
    for (const id of ids) expect((await grantAs(EMAIL.alice, id)).status).toBeLessThan(300);
    await emu.hook('POST', 'reconcile/now');
  });

  it('no command prints a control character or escape sequence, piped or on a terminal; hints quote names for the shell', async () => {
    const bob = box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.bob] }).env;
    const alice = box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.alice] }).env;
    const runs: Array<[string, RunResult]> = [];
    const run = async (env: NodeJS.ProcessEnv, args: string[]) => runs.push([args.join(' '), await ankra(args, { env })]);
    await run(admin, ['cluster', 'list']);
    await run(admin, ['cluster', 'list', '-o', 'wide']);
    await run(admin, ['cluster', 'access', 'list', '--all-clusters']);
    for (const id of ids) {
      await run(admin, ['cluster', 'select', id]);
      await run(admin, ['cluster', 'access', 'list', id]);
      await run(admin, ['cluster', 'access', 'grant', EMAIL.bob, '--cluster', id, '--role', 'edit', '--wait']);
      await run(admin, ['cluster', 'access', 'grant', EMAIL.bob, '--cluster', id, '--role', 'admin']);
      await run(admin, ['cluster', 'access', 'wait', EMAIL.bob, '--cluster', id]);
      await run(admin, ['cluster', 'access', 'revoke', EMAIL.bob, '--cluster', id]);
      await run(admin, ['cluster', 'access', 'list', id]);
      await run(bob, ['cluster', 'kubeconfig', 'add', id]);
      await run(alice, ['cluster', 'kubeconfig', 'add', id]);
      await run(alice, ['cluster', 'access', 'list', id]);
      await run(alice, ['doctor', id]);
    }
    await run(alice, ['cluster', 'kubeconfig', 'list']);
    for (const [what, r] of runs) {
      expect(RAW.test(r.stdout), `${what}: stdout ${JSON.stringify(r.stdout)}`).toBe(false);
      expect(RAW.test(r.stderr), `${what}: stderr ${JSON.stringify(r.stderr)}`).toBe(false);
      // a forged line would start with FAKE
      expect(`${r.stdout}${r.stderr}`).not.toMatch(/^lines: FAKE/m);
    }
    // named by its (hostile) name, a copy-paste hint carries it in single quotes
    const byName = await ankra(['cluster', 'access', 'list', NAMES[2] ?? ''], { env: alice });
    expect(byName.code).toBe(7);
    expect(byName.stderr).toBe("ankra: listing the grants on x$(touch /tmp/ankra-pwned) needs an organisation admin; to check your own access, run `ankra doctor --cluster 'x$(touch /tmp/ankra-pwned)'`\n");
    // a name with escape sequences or a line break: the hint shows only printable text, in
    // ANSI-C quotes that a shell reads back as the exact name, so the command it gives works
    for (const name of [NAMES[0] ?? '', NAMES[1] ?? '', NAMES[3] ?? '']) {
      const r = await ankra(['cluster', 'access', 'list', name], { env: alice });
      expect(RAW.test(r.stderr), JSON.stringify(r.stderr)).toBe(false);
      const word = /run `ankra doctor --cluster (\$'.*')`\n$/.exec(r.stderr)?.[1];
      expect(word, r.stderr).toBeDefined();
      const echoed = await runProgram('bash', ['--norc', '-c', `printf '%s' ${word}`], { env: { PATH: process.env.PATH ?? '' } });
      expect(echoed.stdout).toBe(name);
      const doctor = await runProgram('bash', ['--norc', '-c', `'${process.execPath}' '${ANKRA_BIN}' doctor --cluster ${word} -o json`], { env: alice });
      // doctor found that cluster (its report names it, cleaned for the terminal)
      const report = JSON.parse(doctor.stdout) as { checks: Array<{ check: string; status: string }> };
      expect(report.checks.find((c) => c.check === 'cluster')?.status).toBe('ok');
    }
  });

  it('on a terminal too (colours on): only our own colour codes', async () => {
    const r = await runProgram('script', ['-qec', `stty cols 200 rows 50; '${process.execPath}' '${ANKRA_BIN}' cluster list; '${process.execPath}' '${ANKRA_BIN}' cluster select '${ids[0]}'`, '/dev/null'], {
      env: { ...admin, TERM: 'xterm', NO_COLOR: '' },
      timeoutMs: 20_000,
    });
    // eslint-disable-next-line no-control-regex
    const withoutColours = r.stdout.replace(/\u001b\[[0-9;]*m/g, '').replace(/\r/g, '');
    expect(RAW.test(withoutColours), JSON.stringify(withoutColours)).toBe(false);
  });
});

describe('--ca-file with a private key beside the certificate', () => {
  it('only the certificates go into the kubeconfig, and it says what was left out', async () => {
    const b = box({ ANKRA_API_TOKEN: emu.tokens[EMAIL.alice] });
    const bundle = join(b.dir, 'bundle.pem');
    writeFileSync(bundle, `${emu.caPem}\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n`);
    const r = await ankra(['--ca-file', bundle, 'cluster', 'kubeconfig', 'add', 'prod-eu'], { env: b.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: ${bundle} also holds PRIVATE KEY: only its 1 certificate went into the kubeconfig`);
    const { readFileSync } = await import('node:fs');
    const data = /certificate-authority-data: (\S+)/.exec(readFileSync(b.kubeconfig, 'utf8'))?.[1] ?? '';
    const pem = Buffer.from(data, 'base64').toString('utf8');
    expect(pem).toContain('BEGIN CERTIFICATE');
    expect(pem).not.toContain('PRIVATE KEY');
  });
});
