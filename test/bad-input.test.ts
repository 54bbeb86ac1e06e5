// Bad input and every failure the emulator can inject, table-driven: each case asserts the
// exit code, one line on stderr naming the cause (and usually the next command), no stack
// trace, no secret anywhere in the output, and — for input ankra can check itself — that
// no request reached the server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ankra, findSecrets, sandbox, type Sandbox } from './helpers/cli';
import { EMAIL, IDS, startEmulator, type InProcessEmulator } from './helpers/emulator';

let emu: InProcessEmulator;
let box: Sandbox;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  emu = await startEmulator({ reconcileDelayMs: 50 });
  box = sandbox();
  env = { ...box.env, ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, ANKRA_API_TOKEN: emu.tokens[EMAIL.admin] };
});
afterAll(async () => {
  await emu.stop();
  box.cleanup();
});

type Fault = { path_prefix: string; method?: string; status?: number; detail?: string; latency_ms?: number; reset?: boolean; malformed?: boolean; retry_after_s?: number; times?: number; json?: unknown };

const CLUSTER = { id: 'c9000000-0000-4000-8000-000000000001', name: 'odd', state: 'online' };
const page = (result: unknown[], total_pages = 1) => ({ result, pagination: { total_count: result.length * total_pages, total_pages, page: 1, page_size: 100 } });

interface Case {
  name: string;
  args: string[];
  code: number;
  /** What stderr must say (one line). */
  says: RegExp;
  env?: NodeJS.ProcessEnv;
  /** ankra must refuse before sending anything. */
  noRequest?: boolean;
  fault?: Fault;
  before?: () => Promise<unknown>;
  after?: () => Promise<unknown>;
}

const S = IDS.clusters.staging;
const grant = (...rest: string[]) => ['cluster', 'access', 'grant', ...rest];
const grantAlice = (...rest: string[]) => grant(EMAIL.alice, '--cluster', S, ...rest);

const cases: Case[] = [
  // ---- input ankra checks itself: exit 2, nothing sent
  { name: 'email without a domain', args: grant('alice', '--cluster', S), code: 2, says: /email.*alice@example\.com/, noRequest: true },
  { name: 'email without a local part', args: grant('@acme.test', '--cluster', S), code: 2, says: /email/, noRequest: true },
  { name: 'email with a trailing @', args: grant('alice@', '--cluster', S), code: 2, says: /email/, noRequest: true },
  { name: 'email with a space', args: grant('a lice@acme.test', '--cluster', S), code: 2, says: /email/, noRequest: true },
  { name: 'unknown role', args: grantAlice('--role', 'owner'), code: 2, says: /invalid --role "owner": choose view, edit, admin or cluster-admin/, noRequest: true },
  { name: 'empty role', args: grantAlice('--role', ''), code: 2, says: /invalid --role "": choose view/, noRequest: true },
  { name: 'namespace with upper case', args: grantAlice('--namespace', 'Team-A'), code: 2, says: /namespace.*upper-case/, noRequest: true },
  { name: 'namespace starting with -', args: grantAlice('--namespace=-a'), code: 2, says: /namespace.*start and end/, noRequest: true },
  { name: 'namespace ending with -', args: grantAlice('--namespace', 'a-'), code: 2, says: /namespace.*start and end/, noRequest: true },
  { name: 'namespace of 64 characters', args: grantAlice('--namespace', 'a'.repeat(64)), code: 2, says: /namespace.*64 characters long \(at most 63\)/, noRequest: true },
  { name: 'namespace with _', args: grantAlice('--namespace', 'a_b'), code: 2, says: /namespace.*only a-z, 0-9 and "-"/, noRequest: true },
  { name: 'cluster-admin on a namespace', args: grantAlice('--role', 'cluster-admin', '--namespace', 'team-a'), code: 2, says: /cluster-admin.*--namespace/, noRequest: true },
  { name: 'bad --timeout', args: grantAlice('--wait', '--timeout', 'soon'), code: 2, says: /duration/, noRequest: true },
  { name: 'unknown flag, with a suggestion', args: grantAlice('--rol', 'edit'), code: 2, says: /unknown option --rol \(did you mean --role\?\); see `ankra cluster access grant --help`/, noRequest: true },
  { name: 'missing email', args: grant('--cluster', S), code: 2, says: /EMAIL is missing; see `ankra cluster access grant --help`/, noRequest: true },
  { name: 'bad output format', args: ['-o', 'xml', 'cluster', 'list'], code: 2, says: /unknown output format "xml": choose table, wide, json, yaml, name or jsonpath=TEMPLATE/, noRequest: true },
  { name: 'revoke with nothing to revoke', args: ['cluster', 'access', 'revoke', '--cluster', S], code: 2, says: /nothing to revoke.*--all/, noRequest: true },
  { name: 'revoke of something neither email nor id', args: ['cluster', 'access', 'revoke', 'alice', '--cluster', S], code: 2, says: /email address or a grant id/, noRequest: true },
  { name: 'no cluster at all', args: ['cluster', 'access', 'list'], code: 2, says: /no cluster given.*`ankra cluster select NAME`/, noRequest: true },
  { name: 'base URL that is not a URL', args: ['cluster', 'list'], env: { ANKRA_BASE_URL: 'not a url' }, code: 2, says: /invalid base URL "not a url" \(from ANKRA_BASE_URL\)/, noRequest: true },
  { name: 'base URL with another scheme', args: ['--base-url', 'ftp://127.0.0.1', 'cluster', 'list'], code: 2, says: /invalid base URL.*--base-url/, noRequest: true },
  { name: 'plain http to a remote host', args: ['--base-url', 'http://ankra.example.com', 'cluster', 'list'], code: 2, says: /refusing to send credentials over plain http.*ANKRA_ALLOW_INSECURE_HTTP/, noRequest: true },
  { name: 'unreadable CA file', args: ['cluster', 'list'], env: { ANKRA_CA_FILE: '/nonexistent/ca.pem' }, code: 2, says: /cannot use CA file \/nonexistent\/ca\.pem: ENOENT/, noRequest: true },
  { name: 'not logged in', args: ['cluster', 'list'], env: { ANKRA_API_TOKEN: '' }, code: 6, says: /not logged in to https:\/\/127\.0\.0\.1:\d+; run `ankra login`/, noRequest: true },

  // ---- answers from the server
  { name: 'unknown cluster name', args: ['cluster', 'access', 'list', '--cluster', 'nope'], code: 3, says: /cluster "nope" not found in this organisation; run `ankra cluster list`/ },
  { name: 'unknown cluster id', args: ['cluster', 'access', 'list', '--cluster', '00000000-0000-4000-8000-00000000abcd'], code: 3, says: /cluster "?00000000-0000-4000-8000-00000000abcd"? not found in this organisation/ },
  { name: 'cluster of another organisation', args: ['cluster', 'access', 'list', '--cluster', IDS.clusters.globexStaging], code: 3, says: /not found/ },
  { name: 'unknown organisation', args: ['--org', 'initech', 'cluster', 'list'], code: 3, says: /organisation "initech" not found \(yours: acme\); run `ankra org list`/ },
  { name: 'organisation one is not in', args: ['--org', IDS.orgs.globex, 'cluster', 'list'], code: 6, says: /You are not a member of this organisation; check --org/ },
  { name: 'rejected token', args: ['cluster', 'list'], env: { ANKRA_API_TOKEN: 'ankra_pat_not_a_real_token_000000' }, code: 6, says: /rejected the API token from ANKRA_API_TOKEN \(Invalid or expired token\); check ANKRA_API_TOKEN/ },
  { name: 'grant by a member', args: grantAlice(), env: { ANKRA_API_TOKEN: '@alice' }, code: 7, says: /permission denied \(cluster_access:manage\)/ },
  { name: 'grant to an invited member', args: grant(EMAIL.carol, '--cluster', S), code: 2, says: /carol@acme\.test has not accepted the invitation to acme yet/ },
  { name: 'grant to a stranger', args: grant('mallory@evil.test', '--cluster', S), code: 2, says: /mallory@evil\.test is not a member of acme/ },
  { name: 'sandbox cluster', args: grant(EMAIL.alice, '--cluster', 'sandbox-1'), code: 1, says: /sandbox.*use a non-sandbox cluster/ },
  {
    name: 'revoke --all without a terminal or --yes',
    args: ['cluster', 'access', 'revoke', '--all', '--cluster', S],
    code: 2,
    says: /refusing to revoke all 1 grant on staging \(bob@acme\.test\) without confirmation; pass --yes/,
    before: () => emu.api('POST', `/api/v1/clusters/${S}/access/grants`, { token: emu.tokens[EMAIL.admin], body: { user_email: EMAIL.bob, scope: 'cluster', role: 'view' } }),
    after: () => ankra(['cluster', 'access', 'revoke', EMAIL.bob, '--cluster', S], { env }),
  },
  { name: 'unknown grant id', args: ['cluster', 'access', 'revoke', '00000000-0000-4000-8000-0000000000ff', '--cluster', S], code: 3, says: /no grant 00000000-0000-4000-8000-0000000000ff on staging/ },
  {
    name: 'access gateway disabled',
    args: ['cluster', 'access', 'list', '--cluster', S],
    code: 1,
    says: /Cluster Access is not enabled for this cluster or Ankra deployment/,
    before: () => emu.hook('POST', 'gateway', { enabled: false }),
    after: () => emu.hook('POST', 'gateway', { enabled: true }),
  },

  // ---- transport and faults
  { name: 'server down', args: ['cluster', 'list'], env: { ANKRA_BASE_URL: 'https://127.0.0.1:9' }, code: 1, says: /cannot reach https:\/\/127\.0\.0\.1:9: connection refused/ },
  { name: 'private CA not trusted', args: ['cluster', 'list'], env: { ANKRA_CA_FILE: '' }, code: 1, says: /TLS verification failed.*--ca-file/ },
  { name: 'server error on every attempt', args: ['cluster', 'list'], fault: { path_prefix: '/api/v1/clusters', status: 503 }, code: 1, says: /answered 503.*after 3 attempts; try again later/ },
  { name: 'server error with a detail', args: ['cluster', 'access', 'list', '--cluster', S], fault: { path_prefix: `/api/v1/clusters/${S}/access`, status: 500, detail: 'database unavailable' }, code: 1, says: /answered 500 \(database unavailable\)/ },
  { name: 'connection reset every time', args: ['cluster', 'list'], fault: { path_prefix: '/api/v1/clusters', reset: true }, code: 1, says: /cannot reach https:\/\/127\.0\.0\.1:\d+: (connection reset|connection closed)/ },
  { name: 'malformed JSON', args: ['cluster', 'list'], fault: { path_prefix: '/api/v1/clusters', malformed: true }, code: 1, says: /malformed answer to GET \/api\/v1\/clusters: it is not valid JSON/ },
  { name: 'rate limited for long', args: ['cluster', 'list'], fault: { path_prefix: '/api/v1/clusters', status: 429, retry_after_s: 120 }, code: 1, says: /rate limited by the Ankra API; try again in 120 s/ },
  { name: 'no answer in time', args: ['cluster', 'list'], env: { ANKRA_HTTP_TIMEOUT_MS: '400' }, fault: { path_prefix: '/api/v1/clusters', latency_ms: 3000 }, code: 1, says: /cannot reach https:\/\/127\.0\.0\.1:\d+: no answer in time/ },
  {
    name: 'a field ankra relies on has the wrong type',
    args: ['cluster', 'list'],
    fault: { path_prefix: '/api/v1/clusters', json: page([{ ...CLUSTER, name: 7 }]) },
    code: 1,
    says: /malformed answer to GET \/api\/v1\/clusters: result\[0\]\.name is a number \(7\), not a string/,
  },
  {
    name: 'endless pagination (the same page again and again)',
    args: ['cluster', 'list'],
    fault: { path_prefix: '/api/v1/clusters', json: page([CLUSTER], 1e9) },
    code: 1,
    says: /malformed answer to GET \/api\/v1\/clusters: page 2 repeats clusters already listed although total_pages is 1000000000; stopped after 2 pages/,
  },
  { name: 'a member hits a server error while granting (not retried)', args: grantAlice(), fault: { path_prefix: `/api/v1/clusters/${S}/access/grants`, method: 'POST', status: 502, times: 1 }, code: 1, says: /cannot grant access on staging: the Ankra API answered 502/ },
];

describe('bad input and injected failures', () => {
  it.each(cases)('$name → exit $code', async (c) => {
    const caseEnv: NodeJS.ProcessEnv = { ...env, ...c.env };
    if (caseEnv.ANKRA_API_TOKEN === '@alice') caseEnv.ANKRA_API_TOKEN = emu.tokens[EMAIL.alice];
    for (const [k, v] of Object.entries(caseEnv)) if (v === '') delete caseEnv[k];
    await c.before?.();
    if (c.fault) await emu.hook('POST', 'faults', c.fault);
    await emu.clearRequests();
    try {
      const r = await ankra(c.args, { env: caseEnv });
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^ankra: /);
      expect(lines[0]).toMatch(c.says);
      expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
      expect(r.code).toBe(c.code);
      expect(r.stdout).toBe('');
      expect(findSecrets([r.stdout, r.stderr], Object.values(emu.tokens))).toEqual([]);
      if (c.noRequest) expect(await emu.requests()).toEqual([]);
    } finally {
      if (c.fault) await emu.hook('DELETE', 'faults');
      await c.after?.();
    }
  });

  it('retries a transient 503 and a 429 with a short Retry-After, then succeeds', async () => {
    await emu.hook('POST', 'faults', { path_prefix: '/api/v1/clusters', status: 503, times: 1 });
    await emu.hook('POST', 'faults', { path_prefix: '/api/v1/clusters', status: 429, retry_after_s: 1, times: 1 });
    await emu.clearRequests();
    const started = Date.now();
    const r = await ankra(['cluster', 'list', '-o', 'json'], { env });
    await emu.hook('DELETE', 'faults');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveLength(3);
    expect((await emu.requests({ path: '/api/v1/clusters' })).map((e) => e.status)).toEqual([503, 429, 200]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('a wrong-typed field that is only shown is tolerated: the row says "-"', async () => {
    await emu.hook('POST', 'faults', { path_prefix: '/api/v1/clusters', json: page([{ ...CLUSTER, state: 7, kube_version: { major: 1 } }]) });
    const r = await ankra(['cluster', 'list'], { env });
    await emu.hook('DELETE', 'faults');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\t').slice(0, 2)).toEqual(['odd', '-']);
  });

  it('--debug shows each request with the credential redacted, and a stack trace on failure', async () => {
    const r = await ankra(['--debug', 'cluster', 'access', 'list', '--cluster', 'nope'], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/GET https:\/\/127\.0\.0\.1:\d+\/api\/v1\/clusters\?page=1&page_size=100&cluster_name=nope → 200 \(\d+ ms\)/);
    expect(r.stderr).toContain('authorization: Bearer [redacted]');
    expect(r.stderr).toMatch(/\n\s+at /);
    expect(findSecrets([r.stderr], Object.values(emu.tokens))).toEqual([]);
  });

  it('a file that is not a CA bundle is refused', async () => {
    const notPem = join(box.dir, 'not-a-ca.txt');
    writeFileSync(notPem, 'hello');
    const r = await ankra(['--ca-file', notPem, 'cluster', 'list'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`ankra: cannot use CA file ${notPem}: no PEM certificate in it; pass --ca-file with a PEM bundle`);
  });
});
