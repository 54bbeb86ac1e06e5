// The kubeconfig library on the sample files in fixtures/kubeconfig/: what is not ours
// survives byte for byte, kubectl's multi-file rules, validation, modes, symlinks and
// kubectl's lock. The real kubectl reads the results. Process-level tests (20 concurrent
// writers, a write that fails for real) are in kubeconfig-processes.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { AnkraError } from '../src/errors';
import { applyEdits } from '../src/kube/edit';
import type { Edit } from '../src/kube/edit';
import { parseKubeconfig } from '../src/kube/parse';
import {
  buildExecEntry,
  clusterSlug,
  entryName,
  listAnkraContexts,
  parseAnkraExec,
  removeAnkraEntries,
  renderStandaloneKubeconfig,
  resolveKubeconfig,
  upsertAnkraEntries,
} from '../src/kube/kubeconfig';
import type { EntrySpec, ExecSpec, KubeconfigLocation } from '../src/kube/kubeconfig';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'kubeconfig');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const root = mkdtempSync(join(tmpdir(), 'ankra-kubeconfig-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const scratch = () => mkdtempSync(join(root, `${dirs++}-`));

/** A fixture copied into a fresh directory, and its --kubeconfig location. */
function place(name: string, mode = 0o600): { path: string; loc: KubeconfigLocation; original: string } {
  const path = join(scratch(), 'config');
  cpSync(join(FIXTURES, name), path);
  chmodSync(path, mode);
  return { path, loc: { files: [path], explicit: true }, original: fixture(name) };
}
const read = (path: string) => readFileSync(path, 'utf8');
const only = (path: string): KubeconfigLocation => ({ files: [path], explicit: true });

const GO_ID = '6f1c2a9e-4b1d-4c3e-9a8f-2d7e5b0c1a34'; // the Go CLI entry in go-cli.yaml
const GO_ORG = '0b9d8c7a-1e2f-4a3b-8c4d-5e6f7a8b9c0d';
const PROD_ID = '11111111-aaaa-4bbb-8ccc-000000000001';
const DEV_ID = '22222222-aaaa-4bbb-8ccc-000000000002';
const CA_DATA = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');

function spec(clusterId: string, clusterName: string, extra: Partial<EntrySpec> = {}): EntrySpec {
  return {
    clusterId,
    clusterName,
    server: `https://platform.ankra.app/api/v1/clusters/${clusterId}/k8s`,
    exec: { command: 'ankra', orgId: GO_ORG },
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------
// Line diff, to show that an edit only added (or only changed) what it should.

interface Hunk {
  removed: string[];
  added: string[];
}

function diffLines(before: string, after: string): Hunk[] {
  const a = before.split('\n');
  const b = after.split('\n');
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint16Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const hunks: Hunk[] = [];
  let open: Hunk | undefined;
  const hunk = () => open ?? (hunks.push((open = { removed: [], added: [] })), open);
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      open = undefined;
      i++;
      j++;
    } else if (j < b.length && (i === a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      hunk().added.push(b[j++]!);
    } else {
      hunk().removed.push(a[i++]!);
    }
  }
  return hunks;
}

function dedent(crlfLines: string[]): string {
  const lines = crlfLines.map((l) => l.replace(/\r$/, ''));
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

/** Nothing of the original is removed or changed; every added block is a list of entries named ankra-…. */
function expectOnlyOursAdded(before: string, after: string): void {
  const hunks = diffLines(before, after);
  expect(hunks.length).toBeGreaterThan(0);
  for (const { removed, added } of hunks) {
    expect(removed).toEqual([]);
    const entries = parse(dedent(added)) as Array<{ name: string }>;
    expect(Array.isArray(entries)).toBe(true);
    for (const e of entries) expect(e.name).toMatch(/^ankra-/);
  }
}

// ---------------------------------------------------------------------------------------
// The real kubectl.

const run = promisify(execFile);
const hasKubectl = await run('kubectl', ['version', '--client']).then(() => true, () => false);
if (!hasKubectl && process.env.CI) throw new Error('kubectl is not on PATH: the kubeconfig tests need it in CI');

interface KubectlConfig {
  'current-context': string;
  clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority-data'?: string } }> | null;
  users: Array<{ name: string; user: { exec?: { command: string; args: string[]; apiVersion: string; interactiveMode?: string } } }> | null;
  contexts: Array<{ name: string; context: { cluster: string; user: string; namespace?: string } }> | null;
}

/** `kubectl config view --raw -o json` over these files (merged as KUBECONFIG), in a scratch HOME. */
async function kubectlView(...files: string[]): Promise<KubectlConfig> {
  const env = { PATH: process.env.PATH, HOME: root, KUBECONFIG: files.join(delimiter) };
  const { stdout } = await run('kubectl', ['config', 'view', '--raw', '-o', 'json'], { env });
  return JSON.parse(stdout) as KubectlConfig;
}

/** What kubectl would run for a context, and where. */
function kubectlEntry(view: KubectlConfig, context: string) {
  const ctx = view.contexts?.find((c) => c.name === context);
  const user = view.users?.find((u) => u.name === ctx?.context.user);
  const cluster = view.clusters?.find((c) => c.name === ctx?.context.cluster);
  return { namespace: ctx?.context.namespace, exec: user?.user.exec, server: cluster?.cluster.server, ca: cluster?.cluster['certificate-authority-data'] };
}

// ---------------------------------------------------------------------------------------

describe('locating kubeconfig files', () => {
  const home = '/home/dev';
  it.each([
    { explicit: 'k.yaml', KUBECONFIG: '/a:/b', files: [join(process.cwd(), 'k.yaml')], isExplicit: true, fromEnv: false },
    { explicit: undefined, KUBECONFIG: '/a::/b:/a:', files: ['/a', '/b'], isExplicit: false, fromEnv: true },
    // kubectl reads no file at all then (checked against the real kubectl below)
    { explicit: undefined, KUBECONFIG: ':', files: [], isExplicit: false, fromEnv: true },
    { explicit: undefined, KUBECONFIG: '::', files: [], isExplicit: false, fromEnv: true },
    { explicit: undefined, KUBECONFIG: '', files: ['/home/dev/.kube/config'], isExplicit: false, fromEnv: false },
    { explicit: undefined, KUBECONFIG: undefined, files: ['/home/dev/.kube/config'], isExplicit: false, fromEnv: false },
  ])('--kubeconfig $explicit, KUBECONFIG=$KUBECONFIG → $files', ({ explicit, KUBECONFIG, files, isExplicit, fromEnv }) => {
    const env = KUBECONFIG === undefined ? {} : { KUBECONFIG: KUBECONFIG.replaceAll(':', delimiter) };
    expect(resolveKubeconfig({ explicit, env, home })).toEqual({ files, explicit: isExplicit, ...(fromEnv ? { kubeconfigEnv: env.KUBECONFIG } : {}) });
  });
});

describe('exec entries', () => {
  it('builds the entry kubectl runs, pinning only what is given', () => {
    expect(buildExecEntry({ command: 'ankra', clusterId: 'c1' })).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      command: 'ankra',
      args: ['cluster', 'kube-token', '--cluster', 'c1'],
      interactiveMode: 'Never',
      provideClusterInfo: false,
      installHint: expect.stringMatching(/install the ankra CLI.*ankra login/),
    });
    const full = buildExecEntry({ command: '/opt/ankra/bin/ankra', clusterId: 'c1', orgId: 'o1', baseUrl: 'https://ankra.example', caFile: '/etc/ca.pem' });
    expect(full.args).toEqual(['cluster', 'kube-token', '--cluster', 'c1', '--org', 'o1', '--base-url', 'https://ankra.example', '--ca-file', '/etc/ca.pem']);
  });

  it.each<ExecSpec>([
    { command: 'ankra', clusterId: 'c1' },
    { command: '/usr/local/bin/ankra', clusterId: 'c1', orgId: 'o1' },
    { command: 'ankra', clusterId: 'c1', orgId: 'o1', baseUrl: 'https://ankra.example', caFile: '/etc/ca.pem' },
  ])('parses what it builds: %o', (exec) => {
    expect(parseAnkraExec(buildExecEntry(exec))).toEqual(exec);
  });

  it.each([
    { why: "the Go CLI's entry", exec: { command: 'ankra', args: ['cluster', 'kube-token', '--cluster', GO_ID, '--org', GO_ORG] }, want: { command: 'ankra', clusterId: GO_ID, orgId: GO_ORG } },
    { why: '--flag=value, and global flags first', exec: { command: 'C:\\tools\\ankra.exe', args: ['--base-url=https://b', 'cluster', 'kube-token', '--cluster=c1'] }, want: { command: 'C:\\tools\\ankra.exe', clusterId: 'c1', baseUrl: 'https://b' } },
    { why: 'another plugin', exec: { command: 'aws', args: ['eks', 'get-token', '--cluster', 'c1'] }, want: undefined },
    { why: 'a wrapper (--exec-command) running ankra', exec: { command: '/usr/bin/ankra-helper', args: ['cluster', 'kube-token', '--cluster', 'c1'] }, want: { command: '/usr/bin/ankra-helper', clusterId: 'c1' } },
    { why: 'no command', exec: { command: '', args: ['cluster', 'kube-token', '--cluster', 'c1'] }, want: undefined },
    { why: 'another ankra subcommand', exec: { command: 'ankra', args: ['cluster', 'list', '--cluster', 'c1'] }, want: undefined },
    { why: 'no --cluster', exec: { command: 'ankra', args: ['cluster', 'kube-token'] }, want: undefined },
    { why: 'no exec at all', exec: undefined, want: undefined },
  ])('recognises $why', ({ exec, want }) => {
    expect(parseAnkraExec(exec)).toEqual(want);
  });
});

describe('entry names', () => {
  // Ankra's Go CLI: strings.Trim(regexp `[^a-z0-9-]+` → "-" over strings.ToLower(name), "-"), "" → "cluster"
  it.each([
    ['My Cluster', 'my-cluster'],
    ['prod_EU--west 1', 'prod-eu--west-1'],
    ['a--b', 'a--b'],
    ['a - b', 'a---b'],
    ['--Staging--', 'staging'],
    ['-_-x-_-', 'x'],
    ['Ünïcode', 'n-code'],
    ['İstanbul \u212Aube', 'istanbul-kube'], // as Go's strings.ToLower: İ → i, the Kelvin sign → k
    ['日本', 'cluster'],
    ['', 'cluster'],
    ['---', 'cluster'],
  ])('slug of %j is %j', (name, slug) => {
    expect(clusterSlug(name)).toBe(slug);
  });

  const id = 'abcdef12-3456-4789-8abc-def012345678';
  const ACME = { id: 'acme-org-id', slug: 'acme' };
  const GLOBEX = { id: 'globex-org-id', slug: 'Globex Corp' };
  it.each([
    { why: 'free', held: {}, org: GLOBEX, name: 'ankra-prod' },
    { why: 'held by this cluster', held: { 'ankra-prod': { clusterId: id, orgId: GLOBEX.id } }, org: GLOBEX, name: 'ankra-prod' },
    { why: 'held by another organisation', held: { 'ankra-prod': { clusterId: 'other', orgId: ACME.id } }, org: GLOBEX, name: 'ankra-globex-corp-prod' },
    { why: 'held by another organisation (by slug)', held: { 'ankra-prod': { clusterId: 'other', orgId: 'acme' } }, org: GLOBEX, name: 'ankra-globex-corp-prod' },
    {
      why: 'held by another organisation, and its name with the org slug too',
      held: { 'ankra-prod': { clusterId: 'other', orgId: ACME.id }, 'ankra-globex-corp-prod': null },
      org: GLOBEX,
      name: 'ankra-prod-abcdef12',
    },
    { why: 'held by another cluster of the same organisation', held: { 'ankra-prod': { clusterId: 'other', orgId: GLOBEX.id } }, org: GLOBEX, name: 'ankra-prod-abcdef12' },
    { why: 'held by an entry that names no organisation', held: { 'ankra-prod': { clusterId: 'other' } }, org: GLOBEX, name: 'ankra-prod-abcdef12' },
    { why: 'held by another organisation, our slug unknown', held: { 'ankra-prod': { clusterId: 'other', orgId: ACME.id } }, org: { id: GLOBEX.id }, name: 'ankra-prod-abcdef12' },
    { why: 'held by a foreign entry', held: { 'ankra-prod': null }, org: GLOBEX, name: 'ankra-prod-abcdef12' },
    { why: 'held, and the 8-char suffix too', held: { 'ankra-prod': null, 'ankra-prod-abcdef12': null }, org: GLOBEX, name: `ankra-prod-${id}` },
  ])('$why → $name', ({ held, org, name }) => {
    expect(entryName('Prod', id, new Map(Object.entries(held)), org)).toBe(name);
  });

  it("names a cluster whose name has nothing to slug `ankra-cluster`, as the Go CLI does, and refuses when every candidate is taken", () => {
    expect(entryName('日本', id, new Map())).toBe('ankra-cluster');
    expect(entryName('日本', id, new Map([['ankra-cluster', null]]))).toBe('ankra-cluster-abcdef12');
    const taken = new Map([['ankra-x', null], ['ankra-x-abcdef12', null], [`ankra-x-${id}`, null]]);
    expect(() => entryName('x', id, taken)).toThrow(/are all used by other entries/);
  });
});

describe('editing one file', () => {
  // Block layouts: adding then removing our entries gives the original back, byte for byte.
  it.each(['kubectl-style.yaml', 'indented.yaml', 'crlf.yaml', 'anchors.yaml', 'odd-indent.yaml'])(
    '%s: an add only inserts our entries, a remove restores every byte',
    async (name) => {
      const { path, loc, original } = place(name);
      const added = await upsertAnkraEntries(loc, [spec(PROD_ID, 'Prod'), spec(DEV_ID, 'dev (EU)', { caData: CA_DATA, namespace: 'team-a' })]);
      expect(added.entries.map((e) => [e.name, e.action])).toEqual([['ankra-prod', 'added'], ['ankra-dev-eu', 'added']]);
      expect(added.written).toEqual([path]);
      const after = read(path);
      expectOnlyOursAdded(original, after);
      if (original.includes('\r\n')) expect(after.replaceAll('\r\n', '')).not.toContain('\n');

      const removed = await removeAnkraEntries(loc, { clusterIds: [PROD_ID, DEV_ID] });
      expect(removed.removed.map((r) => r.context)).toEqual(['ankra-prod', 'ankra-dev-eu']);
      expect(read(path)).toBe(original);
    },
  );

  it.runIf(hasKubectl).each(readdirSync(FIXTURES).filter((f) => !f.startsWith('invalid-')))(
    'kubectl reads %s after an add and runs our plugin for the new context',
    async (name) => {
      const { path, loc } = place(name);
      await upsertAnkraEntries(loc, [spec(PROD_ID, 'Prod', { caData: CA_DATA, namespace: 'payments' })], { use: PROD_ID });
      const view = await kubectlView(path);
      expect(view['current-context']).toBe('ankra-prod');
      expect(kubectlEntry(view, 'ankra-prod')).toEqual({
        namespace: 'payments',
        server: `https://platform.ankra.app/api/v1/clusters/${PROD_ID}/k8s`,
        ca: CA_DATA,
        exec: expect.objectContaining({ command: 'ankra', args: ['cluster', 'kube-token', '--cluster', PROD_ID, '--org', GO_ORG], interactiveMode: 'Never' }),
      });
    },
  );

  it("matches the file's own layout: indented sequences, four spaces", async () => {
    const { path, loc, original } = place('indented.yaml');
    await upsertAnkraEntries(loc, [spec(PROD_ID, 'Prod', { exec: { command: 'ankra' } })]);
    expect(read(path)).toBe(
      original
        .replace('/etc/ssl/dev-ca.pem\n', `/etc/ssl/dev-ca.pem\n    - name: ankra-prod\n      cluster:\n          server: https://platform.ankra.app/api/v1/clusters/${PROD_ID}/k8s\n`)
        .replace('# default namespace\n', '# default namespace\n    - name: ankra-prod\n      context:\n          cluster: ankra-prod\n          user: ankra-prod\n')
        .replace(
          '"dev-token-please-rotate"\n',
          '"dev-token-please-rotate"\n' +
            '    - name: ankra-prod\n      user:\n          exec:\n              apiVersion: client.authentication.k8s.io/v1\n              command: ankra\n' +
            `              args:\n                  - cluster\n                  - kube-token\n                  - --cluster\n                  - ${PROD_ID}\n` +
            '              interactiveMode: Never\n              provideClusterInfo: false\n' +
            '              installHint: "ankra is needed to reach this cluster: install the ankra CLI, then run `ankra login`"\n',
        ),
    );
  });
});

describe('reading back what was just written', () => {
  it('lists a file just written as a fresh read would, and reads it again once someone else changed it', async () => {
    for (const name of ['kubectl-style.yaml', 'indented.yaml', 'anchors.yaml']) {
      const { path, loc } = place(name);
      await upsertAnkraEntries(loc, [spec(PROD_ID, 'Prod', { caData: CA_DATA, namespace: 'just-written' })], { use: PROD_ID });
      const copy = join(scratch(), 'config');
      cpSync(path, copy);
      expect(await listAnkraContexts(loc), name).toEqual((await listAnkraContexts(only(copy))).map((c) => ({ ...c, file: path })));
      // another writer (kubectl) changes it: the next read sees that
      writeFileSync(path, read(path).replace('namespace: just-written', 'namespace: billing'));
      expect((await listAnkraContexts(loc)).find((c) => c.context === 'ankra-prod')?.namespace, name).toBe('billing');
      // and edits made after a write start from what the file says
      await upsertAnkraEntries(loc, [spec(DEV_ID, 'Dev')]);
      await removeAnkraEntries(loc, { clusterIds: [DEV_ID] });
      expect(read(path), name).toContain('namespace: billing');
    }
  });
});

describe('splicing edits into the text (applyEdits)', () => {
  const d = { name: 'd', cluster: { server: 'https://d' } };
  const put = { op: 'put', kind: 'clusters', entry: d } as const;
  const removeA = { op: 'remove', kind: 'clusters', name: 'a' } as const;
  const removeB = { op: 'remove', kind: 'clusters', name: 'b' } as const;
  it.each<[string, string, Edit[], string, 'windows' | 'whole']>([
    ['a flow list: one item out, the rest as written', 'clusters: [{name: a}, {name: b, cluster: {}},  {name: c}]\n', [removeA], 'clusters: [{name: b, cluster: {}},  {name: c}]\n', 'whole'],
    ['a flow list: one item in', 'clusters: [{name: a}]  # ours\n', [put], 'clusters: [{name: a}, { name: d, cluster: { server: https://d } }]  # ours\n', 'whole'],
    ['an empty flow list becomes a block list', 'clusters: [] # none\nusers: []\n', [put], 'clusters: # none\n- name: d\n  cluster:\n    server: https://d\nusers: []\n', 'whole'],
    ['a comment about the next entry stays', 'clusters:\n- name: a\n  cluster:\n    server: x\n    # about a\n\n# about b\n- name: b\n', [removeA], 'clusters:\n\n# about b\n- name: b\n', 'windows'],
    ['a block scalar in the entry before ours', 'clusters:\n- name: b\n  x: |\n    text\n- name: a\n', [removeA], 'clusters:\n- name: b\n  x: |\n    text\n', 'windows'],
    ['the last entry removed leaves an empty list, and its comments', 'clusters: # mine\n# only a\n- name: a\nusers: []\n', [removeA], 'clusters: [] # mine\n# only a\nusers: []\n', 'windows'],
    ['current-context without a value', 'current-context: # none yet\n', [{ op: 'current', value: 'd' }], 'current-context: d # none yet\n', 'windows'],
    ['a value YAML 1.1 reads as a boolean is quoted', 'current-context: a\n', [{ op: 'current', value: 'on' }], 'current-context: "on"\n', 'windows'],
    ['document markers and a byte order mark', '\uFEFF---\nclusters:\n- name: a\n...\n', [put, { op: 'current', value: 'd' }], '\uFEFF---\nclusters:\n- name: a\n- name: d\n  cluster:\n    server: https://d\ncurrent-context: d\n...\n', 'whole'],
  ])('%s (checked: %s)', (_, src, edits, want, check) => {
    expect(applyEdits(parseKubeconfig('t', src), edits)).toEqual({ text: want, method: 'splice', check });
  });

  it('refuses to edit a list that is an alias of another', () => {
    expect(() => applyEdits(parseKubeconfig('t', 'x: &u []\nusers: *u\n'), [{ op: 'put', kind: 'users', entry: { name: 'd' } }])).toThrow('cannot edit t: `users` is a YAML alias');
  });

  // The checks can fail: when the text does not mean what the file's data says next to an
  // edit, neither the local check nor the whole-file one (nor a re-render) lets it through.
  it.each([
    ['a block list', 'windows', 'clusters:\n- name: a\n  cluster: {server: https://a}\n- name: b\n  cluster: {server: https://b}\n'],
    ['a flow list', 'whole', 'clusters: [{name: a, cluster: {server: https://a}}, {name: b, cluster: {server: https://b}}]\n'],
  ])('a splice that would not mean the intended entries is refused: %s (checked: %s)', (_, check, src) => {
    expect(applyEdits(parseKubeconfig('t', src), [removeB])).toMatchObject({ method: 'splice', check });
    const parsed = parseKubeconfig('t', src);
    parsed.data.clusters[0]!.cluster = { server: 'https://not-what-the-text-says' };
    expect(() => applyEdits(parsed, [removeB])).toThrow('could not edit t without changing its meaning');
  });

  it('edits far apart in a big file are checked in separate windows, each with its neighbours', () => {
    const entries = Array.from({ length: 200 }, (_, i) => `- name: c${i}\n  cluster:\n    server: https://c${i}\n`).join('');
    const src = `clusters:\n${entries}current-context: c0\n`;
    const edits: Edit[] = [
      { op: 'remove', kind: 'clusters', name: 'c10' },
      { op: 'put', kind: 'clusters', entry: { name: 'c150', cluster: { server: 'https://new' } } },
      { op: 'current', value: 'c150' },
    ];
    const res = applyEdits(parseKubeconfig('t', src), edits);
    expect(res).toMatchObject({ method: 'splice', check: 'windows' });
    expect(res.text).toBe(
      src.replace('- name: c10\n  cluster:\n    server: https://c10\n', '').replace('https://c150\n', 'https://new\n').replace('current-context: c0', 'current-context: c150'),
    );
    // a file with anchors is checked whole: an alias elsewhere may depend on an edited entry
    const anchored = `x: &a {server: https://x}\n${src}`;
    expect(applyEdits(parseKubeconfig('t', anchored), edits)).toMatchObject({ method: 'splice', check: 'whole' });
  });
});

describe('files without entries, or of unusual shape', () => {
  const prod = () => [spec(PROD_ID, 'Prod', { exec: { command: 'ankra' } })];

  it('a file without a trailing line break: ours start on a new line; removing leaves only that line break', async () => {
    const { path, loc, original } = place('no-trailing-newline.yaml');
    await upsertAnkraEntries(loc, prod());
    expectOnlyOursAdded(original, read(path));
    await removeAnkraEntries(loc, { all: true });
    expect(read(path)).toBe(`${original}\n`);
  });

  it("kubectl's empty lists (`clusters: null`) become lists of ours; nothing else moves", async () => {
    const { path, loc, original } = place('null-lists.yaml');
    await upsertAnkraEntries(loc, prod(), { use: PROD_ID });
    const after = read(path);
    expect(diffLines(original, after).map((h) => h.removed)).toEqual([['clusters: null', 'contexts: null', 'current-context: ""'], ['users: null']]);
    expect(after).toMatch(/^apiVersion: v1\nclusters:\n- name: ankra-prod\n {2}cluster:\n/);
    expect(after).toContain('\ncurrent-context: ankra-prod\nkind: Config\npreferences: {}\nusers:\n- name: ankra-prod\n');
    // emptied again, the lists say so, rather than a bare `clusters:`
    await removeAnkraEntries(loc, { all: true });
    expect(read(path)).toBe(original.replaceAll(': null', ': []'));
  });

  it('a file with only comments keeps them and gains a kubeconfig after them', async () => {
    const { path, loc, original } = place('comments-only.yaml');
    await upsertAnkraEntries(loc, prod());
    expect(read(path)).toBe(original + renderStandaloneKubeconfig(prod()));
  });

  it('an empty or missing file gets exactly the standalone kubeconfig', async () => {
    const empty = join(scratch(), 'config');
    writeFileSync(empty, '');
    const missing = join(scratch(), 'config');
    for (const path of [empty, missing]) {
      await upsertAnkraEntries(only(path), prod(), { use: PROD_ID });
      expect(read(path)).toBe(renderStandaloneKubeconfig(prod(), { use: PROD_ID }));
    }
  });

  it('splices block layouts, and re-renders a flow-style top level (correct, not byte-preserving)', () => {
    const edits = [{ op: 'current', value: 'x' }] as const;
    for (const name of ['kubectl-style.yaml', 'indented.yaml', 'crlf.yaml', 'go-cli.yaml', 'null-lists.yaml', 'comments-only.yaml']) {
      expect(applyEdits(parseKubeconfig(name, fixture(name)), edits).method, name).toBe('splice');
    }
    const flow = applyEdits(parseKubeconfig('flow', fixture('flow-top-level.yaml')), edits);
    expect(flow.method).toBe('restringify');
    expect(parse(flow.text)).toEqual({ ...parse(fixture('flow-top-level.yaml')), 'current-context': 'x' });
  });

  it('keeps anchors and merge keys, and reads through them', async () => {
    const { path, loc, original } = place('anchors.yaml');
    await upsertAnkraEntries(loc, prod());
    const after = read(path);
    for (const line of ['  cluster: &edge', '    <<: *edge', '  context: &ctx {cluster: blue, user: shared}']) expect(after).toContain(`\n${line}\n`);
    expectOnlyOursAdded(original, after);
  });
});

describe("Ankra's Go CLI entries", () => {
  it('are listed like ours', async () => {
    const { path, loc } = place('go-cli.yaml');
    expect(await listAnkraContexts(loc)).toEqual([
      {
        context: 'ankra-my-cluster', cluster: 'ankra-my-cluster', user: 'ankra-my-cluster',
        server: `https://platform.ankra.app/api/v1/clusters/${GO_ID}/k8s`, clusterId: GO_ID, orgId: GO_ORG,
        baseUrl: undefined, caFile: undefined, namespace: 'staging', current: true, file: path, command: 'ankra',
      },
    ]);
  });

  it('are replaced in place, in their flow style, keeping their name and namespace', async () => {
    const { path, loc, original } = place('go-cli.yaml');
    const server = `https://ankra.example/api/v1/clusters/${GO_ID}/k8s`;
    const res = await upsertAnkraEntries(loc, [
      spec(GO_ID, 'renamed since', { server, caData: CA_DATA, exec: { command: '/usr/local/bin/ankra', orgId: GO_ORG, baseUrl: 'https://ankra.example' } }),
    ]);
    expect(res.entries).toEqual([{ clusterId: GO_ID, name: 'ankra-my-cluster', action: 'replaced', file: path }]);
    const after = read(path);
    // line by line: header and comment kept, our flow item replaced inside the flow list,
    // our user entry replaced where it stood, everything from the foreign user on kept
    const parts = (t: string) => {
      const users = t.indexOf('\nusers:\n') + '\nusers:\n'.length;
      const foreign = t.indexOf('- name: kind-kind\n');
      return { head: t.slice(0, users), ours: t.slice(users, foreign), tail: t.slice(foreign) };
    };
    const [now, was] = [parts(after), parts(original)];
    expect(now.head.split('\n')).toEqual(
      was.head.split('\n').with(3, `clusters: [{ name: ankra-my-cluster, cluster: { server: ${server}, certificate-authority-data: ${CA_DATA} } }, {name: kind-kind, cluster: {server: "https://127.0.0.1:40123"}}]`),
    );
    expect(parse(now.ours)).toEqual([{ name: 'ankra-my-cluster', user: { exec: buildExecEntry({ command: '/usr/local/bin/ankra', clusterId: GO_ID, orgId: GO_ORG, baseUrl: 'https://ankra.example' }) } }]);
    // the context already says what we would write, so it stays as the Go CLI wrote it
    expect(now.tail).toBe(was.tail);
    expect((await listAnkraContexts(loc))[0]).toMatchObject({ command: '/usr/local/bin/ankra', baseUrl: 'https://ankra.example', namespace: 'staging', current: true });
    if (hasKubectl) expect(kubectlEntry(await kubectlView(path), 'ankra-my-cluster')).toMatchObject({ server, ca: CA_DATA, namespace: 'staging' });
  });

  it('are removed like ours, leaving the foreign flow entries as written', async () => {
    const { path, loc } = place('go-cli.yaml');
    const res = await removeAnkraEntries(loc, { names: ['ankra-my-cluster'] });
    expect(res).toEqual({
      removed: [{ context: 'ankra-my-cluster', clusterId: GO_ID }], clearedCurrentContext: true, written: [path],
      writes: [{ file: path, method: 'rename', edit: 'splice' }],
    });
    const after = read(path);
    expect(after).toContain('\nclusters: [{name: kind-kind, cluster: {server: "https://127.0.0.1:40123"}}]\nusers:\n- name: kind-kind\n');
    expect(after).toContain('\ncontexts: [{name: kind-kind, context: {cluster: kind-kind, user: kind-kind}}]\ncurrent-context: ""\n');
  });
});

describe('adding and removing', () => {
  it('adds nothing when the entries already match (the file is not rewritten)', async () => {
    const { path, loc } = place('kubectl-style.yaml');
    await upsertAnkraEntries(loc, [spec(PROD_ID, 'Prod')], { use: PROD_ID });
    const before = statSync(path);
    const again = await upsertAnkraEntries(loc, [spec(PROD_ID, 'Prod')], { use: PROD_ID });
    expect(again).toEqual({ entries: [{ clusterId: PROD_ID, name: 'ankra-prod', action: 'unchanged', file: path }], currentContext: 'ankra-prod', written: [], writes: [] });
    expect(statSync(path).ino).toBe(before.ino);
  });

  it('keeps an entry\'s namespace unless a new one is given', async () => {
    const { loc } = place('kubectl-style.yaml');
    await upsertAnkraEntries(loc, [spec(PROD_ID, 'Prod', { namespace: 'payments' })]);
    await upsertAnkraEntries(loc, [spec(PROD_ID, 'Prod', { caData: CA_DATA })]);
    expect((await listAnkraContexts(loc))[0]?.namespace).toBe('payments');
    await upsertAnkraEntries(loc, [spec(PROD_ID, 'Prod', { namespace: 'billing' })]);
    expect((await listAnkraContexts(loc))[0]?.namespace).toBe('billing');
  });

  it('suffixes the id when the name belongs to another cluster or to a foreign entry', async () => {
    const path = join(scratch(), 'config');
    writeFileSync(path, 'contexts:\n- name: ankra-dev\n  context: {cluster: dev, user: dev}\n');
    const res = await upsertAnkraEntries(only(path), [spec(PROD_ID, 'Prod'), spec(DEV_ID, 'Dev'), spec('33333333-0000', 'PROD')]);
    expect(res.entries.map((e) => e.name)).toEqual(['ankra-prod', 'ankra-dev-22222222', 'ankra-prod-33333333']);
    // and the names stick to their clusters on the next add
    const again = await upsertAnkraEntries(only(path), [spec('33333333-0000', 'prod'), spec(PROD_ID, 'prod')]);
    expect(again.entries.map((e) => [e.name, e.action])).toEqual([['ankra-prod-33333333', 'unchanged'], ['ankra-prod', 'unchanged']]);
  });

  it('removes by context name, by cluster id or all; a cluster entry another context uses stays', async () => {
    const path = join(scratch(), 'config');
    await upsertAnkraEntries(only(path), [spec(PROD_ID, 'Prod'), spec(DEV_ID, 'Dev'), spec('33333333-0000', 'Three')], { use: DEV_ID });
    // a foreign context that shares our cluster entry, with its own credentials
    const shared = read(path).replace('\ncurrent-context:', '\n- name: mine\n  context: {cluster: ankra-prod, user: me}\ncurrent-context:');
    writeFileSync(path, shared);

    expect((await removeAnkraEntries(only(path), { names: ['ankra-prod', 'no-such'] })).removed).toEqual([{ context: 'ankra-prod', clusterId: PROD_ID }]);
    let data = parse(read(path));
    expect(data.clusters.map((c: { name: string }) => c.name)).toEqual(['ankra-prod', 'ankra-dev', 'ankra-three']);
    expect(data.users.map((c: { name: string }) => c.name)).toEqual(['ankra-dev', 'ankra-three']);

    const byId = await removeAnkraEntries(only(path), { clusterIds: [DEV_ID] });
    expect(byId).toMatchObject({ removed: [{ context: 'ankra-dev' }], clearedCurrentContext: true });
    expect(await removeAnkraEntries(only(path), { all: true })).toMatchObject({ removed: [{ context: 'ankra-three' }], clearedCurrentContext: false });
    data = parse(read(path));
    expect(data).toMatchObject({ clusters: [{ name: 'ankra-prod' }], users: [], contexts: [{ name: 'mine' }], 'current-context': '' });
    expect(await removeAnkraEntries(only(path), { all: true })).toEqual({ removed: [], clearedCurrentContext: false, written: [], writes: [] });
  });

  it('renders a standalone kubeconfig for --print that kubectl reads', async () => {
    const text = renderStandaloneKubeconfig([spec(PROD_ID, 'Prod', { caData: CA_DATA }), spec(DEV_ID, 'prod')], { use: DEV_ID });
    expect(text).toMatch(/^apiVersion: v1\nkind: Config\nclusters:\n- name: ankra-prod\n/);
    expect(parse(text)).toMatchObject({ contexts: [{ name: 'ankra-prod' }, { name: 'ankra-prod-22222222' }], 'current-context': 'ankra-prod-22222222' });
    if (hasKubectl) {
      const path = join(scratch(), 'print.yaml');
      writeFileSync(path, text);
      expect(kubectlEntry(await kubectlView(path), 'ankra-prod')).toMatchObject({ ca: CA_DATA, exec: { args: ['cluster', 'kube-token', '--cluster', PROD_ID, '--org', GO_ORG] } });
    }
  });
});

describe("several files (KUBECONFIG), by kubectl's rules", () => {
  const chain = (...files: string[]) => resolveKubeconfig({ env: { KUBECONFIG: files.join(delimiter) }, home: '/nowhere' });
  const copies = (...names: string[]) => {
    const dir = scratch();
    return names.map((name, i) => {
      const path = join(dir, `${i}-${name}`);
      cpSync(join(FIXTURES, name), path);
      return path;
    });
  };

  it('adds new entries to the first file that exists; the others keep every byte', async () => {
    const [a, b] = copies('indented.yaml', 'kubectl-style.yaml');
    const missing = join(dirname(a!), 'missing');
    const res = await upsertAnkraEntries(chain(missing, a!, b!), [spec(PROD_ID, 'Prod')]);
    expect(res).toMatchObject({ written: [a], entries: [{ name: 'ankra-prod', action: 'added', file: a }] });
    expectOnlyOursAdded(fixture('indented.yaml'), read(a!));
    expect(read(b!)).toBe(fixture('kubectl-style.yaml'));
    expect(existsSync(missing)).toBe(false);
  });

  it('creates the last file when none exists: 0600, in new 0700 directories', async () => {
    const dir = scratch();
    const first = join(dir, 'one', 'config');
    const last = join(dir, 'two', 'deeper', 'config');
    expect((await upsertAnkraEntries(chain(first, last), [spec(PROD_ID, 'Prod')])).written).toEqual([last]);
    expect(existsSync(dirname(first))).toBe(false);
    expect(statSync(last).mode & 0o777).toBe(0o600);
    expect([dirname(last), join(dir, 'two')].map((d) => statSync(d).mode & 0o777)).toEqual([0o700, 0o700]);
  });

  it('changes an entry in the file that defines it', async () => {
    const [a, b] = copies('kubectl-style.yaml', 'go-cli.yaml');
    const res = await upsertAnkraEntries(chain(a!, b!), [spec(GO_ID, 'My Cluster', { caData: CA_DATA })]);
    expect(res).toMatchObject({ written: [b], entries: [{ name: 'ankra-my-cluster', action: 'replaced', file: b }] });
    expect(read(a!)).toBe(fixture('kubectl-style.yaml'));
  });

  it('writes current-context to the first file that sets one, else to the file new entries go to', async () => {
    const [empty, setter] = copies('null-lists.yaml', 'kubectl-style.yaml');
    await upsertAnkraEntries(chain(empty!, setter!), [spec(PROD_ID, 'Prod')], { use: PROD_ID });
    expect(parse(read(empty!))).toMatchObject({ contexts: [{ name: 'ankra-prod' }], 'current-context': '' });
    expect(parse(read(setter!))['current-context']).toBe('ankra-prod');
    if (hasKubectl) expect((await kubectlView(empty!, setter!))['current-context']).toBe('ankra-prod');

    const [first, second] = copies('null-lists.yaml', 'comments-only.yaml');
    await upsertAnkraEntries(chain(first!, second!), [spec(PROD_ID, 'Prod')], { use: PROD_ID });
    expect(parse(read(first!))['current-context']).toBe('ankra-prod');
    expect(read(second!)).toBe(fixture('comments-only.yaml'));
  });

  it('removes an entry from every file that defines it, and clears current-context wherever it names it', async () => {
    const dir = scratch();
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    for (const file of [a, b]) await upsertAnkraEntries(only(file), [spec(PROD_ID, 'Prod')], { use: PROD_ID });
    const res = await removeAnkraEntries(chain(a, b), { clusterIds: [PROD_ID] });
    expect(res).toEqual({
      removed: [{ context: 'ankra-prod', clusterId: PROD_ID }], clearedCurrentContext: true, written: [a, b],
      writes: [a, b].map((file) => ({ file, method: 'rename', edit: 'splice' })),
    });
    for (const file of [a, b]) expect(parse(read(file))).toEqual({ apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [], 'current-context': '' });
  });

  it("lists what kubectl's merge shows: the first definition of a name wins, and the first current-context", async () => {
    const dir = scratch();
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    await upsertAnkraEntries(only(a), [spec(PROD_ID, 'Prod')]);
    await upsertAnkraEntries(only(b), [spec('99999999-shadowed', 'Prod'), spec(DEV_ID, 'Dev')], { use: DEV_ID });
    const listed = await listAnkraContexts(chain(a, b));
    expect(listed.map((c) => [c.context, c.clusterId, c.file, c.current])).toEqual([
      ['ankra-prod', PROD_ID, a, false],
      ['ankra-dev', DEV_ID, b, true],
    ]);
    if (hasKubectl) {
      const view = await kubectlView(a, b);
      expect(view['current-context']).toBe('ankra-dev');
      expect(kubectlEntry(view, 'ankra-prod').exec?.args).toContain(PROD_ID);
    }
  });
});

describe('files that are not valid kubeconfig', () => {
  it.each([
    ['invalid-syntax.yaml', /YAML syntax error at line 6, column 1: Flow map .* end with a \}$/],
    ['invalid-top-level.yaml', /the top level is not a mapping/],
    ['invalid-clusters-map.yaml', /`clusters` is not a list/],
    ['invalid-no-name.yaml', /entry 1 of `contexts` has no name/],
    ['invalid-multi-doc.yaml', /it holds more than one YAML document/],
    ['invalid-duplicate.yaml', /the name "a" appears twice in `users`/],
  ])('%s is reported in one line and left untouched', async (name, problem) => {
    const { path, loc, original } = place(name);
    const attempts = [() => upsertAnkraEntries(loc, [spec(PROD_ID, 'Prod')]), () => removeAnkraEntries(loc, { all: true }), () => listAnkraContexts(loc)];
    for (const attempt of attempts) {
      const err = (await attempt().catch((e: unknown) => e)) as AnkraError;
      expect(err).toBeInstanceOf(AnkraError);
      expect(err.exitCode).toBe(1);
      expect(err.message).toContain(`${path} is not a valid kubeconfig: `);
      expect(err.message).toMatch(problem);
      expect(err.message).not.toContain('\n');
      expect(err.hint).toBe('fix or move that file, then run the command again');
    }
    expect(read(path)).toBe(original);
    expect(readdirSync(dirname(path))).toEqual(['config']);
  });

  it('a bad file anywhere in KUBECONFIG stops the write to a good one', async () => {
    const { path: good } = place('kubectl-style.yaml');
    const { path: bad } = place('invalid-syntax.yaml');
    const loc = resolveKubeconfig({ env: { KUBECONFIG: [good, bad].join(delimiter) }, home: '/nowhere' });
    await expect(upsertAnkraEntries(loc, [spec(PROD_ID, 'Prod')])).rejects.toThrow(`${bad} is not a valid kubeconfig`);
    expect(read(good)).toBe(fixture('kubectl-style.yaml'));
  });
});

describe('writing safely', () => {
  it.each([0o644, 0o600, 0o640])('keeps the mode %o of the file it replaces', async (mode) => {
    const { path, loc } = place('kubectl-style.yaml', mode);
    await upsertAnkraEntries(loc, [spec(PROD_ID, 'Prod')]);
    expect(statSync(path).mode & 0o7777).toBe(mode);
  });

  it('writes through a symlinked kubeconfig: the link stays, its target changes, no lock or temp file is left', async () => {
    const dir = scratch();
    const target = join(dir, 'dotfiles', 'kubeconfig');
    mkdirSync(dirname(target));
    cpSync(join(FIXTURES, 'kubectl-style.yaml'), target);
    chmodSync(target, 0o644);
    const link = join(dir, 'config');
    symlinkSync('dotfiles/kubeconfig', link);
    const res = await upsertAnkraEntries(only(link), [spec(PROD_ID, 'Prod')]);
    expect(res.written).toEqual([link]);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expectOnlyOursAdded(fixture('kubectl-style.yaml'), read(target));
    expect(statSync(target).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir).sort()).toEqual(['config', 'dotfiles']);
    expect(readdirSync(dirname(target))).toEqual(['kubeconfig']);
  });

  it('creates the target of a dangling symlink', async () => {
    const dir = scratch();
    const link = join(dir, 'config');
    symlinkSync('elsewhere/kubeconfig', link);
    await upsertAnkraEntries(only(link), [spec(PROD_ID, 'Prod')]);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(read(join(dir, 'elsewhere', 'kubeconfig'))).toBe(renderStandaloneKubeconfig([spec(PROD_ID, 'Prod')]));
  });

  it("breaks a lock left by a dead process, and kubectl's empty lock once older than 60 s", async () => {
    const child = spawn(process.execPath, ['-e', '0']);
    const deadPid = await new Promise<number>((done) => child.on('exit', () => done(child.pid!)));
    for (const [content, ageS] of [[`${deadPid} ${hostname()} x`, 0], ['', 120]] as const) {
      const { path, loc } = place('kubectl-style.yaml');
      writeFileSync(`${path}.lock`, content);
      const t = Date.now() / 1000 - ageS;
      utimesSync(`${path}.lock`, t, t);
      await upsertAnkraEntries(loc, [spec(PROD_ID, 'Prod')], { lockTimeoutMs: 2_000 });
      expect(read(path)).toContain('ankra-prod');
      expect(existsSync(`${path}.lock`)).toBe(false);
    }
  });

  it('waits for a live lock, and names it when giving up', async () => {
    const { path, loc, original } = place('kubectl-style.yaml');
    writeFileSync(`${path}.lock`, ''); // kubectl holds it
    const started = Date.now();
    const err = (await upsertAnkraEntries(loc, [spec(PROD_ID, 'Prod')], { lockTimeoutMs: 300 }).catch((e: unknown) => e)) as AnkraError;
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(err.message).toBe(`timed out waiting for the lock on kubeconfig ${path}`);
    expect(err.hint).toContain(`remove ${path}.lock`);
    expect(read(path)).toBe(original);
    expect(existsSync(`${path}.lock`)).toBe(true);

    setTimeout(() => rmSync(`${path}.lock`), 200);
    await upsertAnkraEntries(loc, [spec(PROD_ID, 'Prod')]);
    expect(read(path)).toContain('ankra-prod');
  });
});
