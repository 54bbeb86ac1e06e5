// The kubeconfig library on a big file: adding one context to, and removing every Ankra
// context from, a kubeconfig of 500 Ankra contexts (plus a few foreign ones with comments),
// each cluster with a certificate-authority-data blob as real ones have.
//
// 1. The library: src/kube is bundled with esbuild (dependencies external) and every
//    operation runs in a fresh node process, as the CLI does, so each sample is the
//    library's whole cost: importing yaml, reading, planning, splicing, verifying and
//    writing ("library ms" is that part, timed inside the process).
// 2. The whole command: the built `ankra cluster kubeconfig add staging` and `remove --all`
//    against the emulator, on the big file and (for comparison) on an empty one.
// Everything runs interleaved with a bare `node -e 0` so machine noise hits all alike;
// medians, the ratio to bare node and peak RSS (the process's getrusage maxrss) are printed.
// Needs a build (`npm run build`) for part 2.
//
//   node test/bench/kubeconfig.mjs                 (BENCH_RUNS=9, BENCH_CONTEXTS=500, BENCH_CLI=1)
//   node test/bench/kubeconfig.mjs --profile DIR   (one run of each library operation under node --cpu-prof)
//   BENCH_BASELINE=DIR node test/bench/kubeconfig.mjs
//       also runs the library of another checkout (e.g. `git worktree add DIR <commit>`),
//       interleaved with this one, for a before/after ratio within one run
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ankraEnv, startEmulator } from './common.mjs';

const ROOT = resolve(import.meta.dirname, '..', '..');
/** The target for part 2: one more context into a 500-entry file. */
const ADD_TARGET_MS = 500;
/** Part 2's figures, printed as the last line (JSON) for `npm run bench`'s summary. */
let result;
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const CLI = process.env.BENCH_CLI !== '0';
const BASELINE = process.env.BENCH_BASELINE ? resolve(process.env.BENCH_BASELINE) : undefined;
const CONTEXTS = Number(process.env.BENCH_CONTEXTS ?? 500);
const profileAt = process.argv.indexOf('--profile');
const PROFILE_DIR = profileAt > 0 ? resolve(process.argv[profileAt + 1] ?? 'profiles') : undefined;

const ORG = '0b9d8c7a-1e2f-4a3b-8c4d-5e6f7a8b9c0d';
const id = (i) => `${String(i).padStart(8, '0')}-aaaa-4bbb-8ccc-${String(i).padStart(12, '0')}`;
// a realistic certificate-authority-data: the base64 of a ~1.1 kB PEM
const CA = Buffer.from(`-----BEGIN CERTIFICATE-----\n${'MIIDBTCCAe2gAwIBAgIIbq0Fh5y8P1AwDQYJKoZIhvcNAQELBQAwFTETMBEGA1UE\n'.repeat(17)}-----END CERTIFICATE-----\n`).toString('base64');

/** kubectl's layout: the three lists, our entries and a few foreign ones with comments. */
function bigKubeconfig(n) {
  const clusters = [];
  const users = [];
  const contexts = [];
  for (let i = 0; i < 10; i++) {
    clusters.push(`# cluster ${i} (by hand)\n- cluster:\n    certificate-authority-data: ${CA}\n    server: https://10.0.0.${i}:6443\n  name: kind-${i}\n`);
    users.push(`- name: kind-${i}\n  user:\n    client-certificate-data: ${CA}\n    client-key-data: ${CA.slice(0, 400)}\n`);
    contexts.push(`- context:\n    cluster: kind-${i}\n    user: kind-${i}\n  name: kind-${i}\n`);
  }
  for (let i = 0; i < n; i++) {
    const name = `ankra-cluster-${i}`;
    clusters.push(`- name: ${name}\n  cluster:\n    server: https://platform.ankra.app/api/v1/clusters/${id(i)}/k8s\n    certificate-authority-data: ${CA}\n`);
    users.push(
      `- name: ${name}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ankra\n` +
        `      args:\n      - cluster\n      - kube-token\n      - --cluster\n      - ${id(i)}\n      - --org\n      - ${ORG}\n` +
        '      interactiveMode: Never\n      provideClusterInfo: false\n' +
        '      installHint: "ankra is needed to reach this cluster: install the ankra CLI, then run `ankra login`"\n',
    );
    contexts.push(`- name: ${name}\n  context:\n    cluster: ${name}\n    user: ${name}\n    namespace: team-${i % 7}\n`);
  }
  return `apiVersion: v1\nkind: Config\npreferences: {}\nclusters:\n${clusters.join('')}users:\n${users.join('')}contexts:\n${contexts.join('')}current-context: kind-0\n`;
}

const DRIVER = `
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { resourceUsage } from 'node:process';
import { upsertAnkraEntries, removeAnkraEntries, listAnkraContexts } from './src/kube/kubeconfig';
const [op, file] = process.argv.slice(2);
const loc = { files: [file], explicit: true };
const t0 = performance.now();
let out;
if (op === 'add') {
  const clusterId = 'ffffffff-aaaa-4bbb-8ccc-000000000001';
  out = await upsertAnkraEntries(loc, [{
    clusterId, clusterName: 'one more', server: 'https://platform.ankra.app/api/v1/clusters/' + clusterId + '/k8s',
    caData: ${JSON.stringify(CA)}, exec: { command: 'ankra', orgId: '${ORG}' },
  }]);
} else if (op === 'remove-all') {
  out = await removeAnkraEntries(loc, { all: true });
} else if (op === 'remove-one') {
  out = await removeAnkraEntries(loc, { names: ['ankra-cluster-250'] });
} else {
  out = await listAnkraContexts(loc);
}
const ms = performance.now() - t0;
const u = resourceUsage();
process.stdout.write(JSON.stringify({ ms, rssMiB: u.maxRSS / 1024, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, n: (out.entries ?? out.removed ?? out).length }));
`;

// peak RSS of any node process started with NODE_OPTIONS="--require <this>": written at exit
const RSS_HOOK = `process.on('exit', () => { const u = process.resourceUsage(); require('node:fs').writeFileSync(process.env.BENCH_RSS_FILE, JSON.stringify({ rssMiB: u.maxRSS / 1024, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 })); });\n`;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// the bundle lives in the repository (git-ignored) so that its `yaml` import resolves
mkdirSync(join(ROOT, '.vitest-tmp'), { recursive: true });
const work = mkdtempSync(join(ROOT, '.vitest-tmp', 'bench-kube-'));
try {
  const bundle = async (from, outfile) => {
    await build({
      stdin: { contents: DRIVER, resolveDir: from, loader: 'ts', sourcefile: 'driver.ts' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile,
      logLevel: 'warning',
    });
    return outfile;
  };
  // both bundles sit here, so both import this checkout's `yaml`
  const drivers = { this: await bundle(ROOT, join(work, 'driver.mjs')) };
  if (BASELINE) drivers.baseline = await bundle(BASELINE, join(work, 'baseline.mjs'));
  const big = join(work, 'big.yaml');
  writeFileSync(big, bigKubeconfig(CONTEXTS));
  const bytes = readFileSync(big).length;
  process.stdout.write(`kubeconfig: ${CONTEXTS} Ankra contexts + 10 foreign, ${(bytes / 1024).toFixed(0)} KiB\n`);

  const OPS = ['list', 'add', 'remove-one', 'remove-all'];
  const once = (op, extra = [], driver = drivers.this) => {
    const file = join(work, `config-${op}`);
    copyFileSync(big, file);
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [...extra, driver, op, file], { encoding: 'utf8', cwd: work });
    const wall = Number(process.hrtime.bigint() - started) / 1e6;
    if (r.status !== 0) throw new Error(`${op} failed: ${r.stderr}`);
    return { wall, ...JSON.parse(r.stdout) };
  };

  if (PROFILE_DIR) {
    mkdirSync(PROFILE_DIR, { recursive: true });
    for (const op of OPS) once(op, ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-name', `${op}.cpuprofile`]);
    process.stdout.write(`profiles in ${PROFILE_DIR}\n`);
  } else {
    const rows = Object.keys(drivers).flatMap((which) => OPS.map((op) => ({ which, op, name: BASELINE ? `${op} (${which})` : op })));
    const samples = Object.fromEntries(['node', ...rows.map((r) => r.name)].map((k) => [k, []]));
    once('list'); // warm the page cache
    for (let i = 0; i < RUNS; i++) {
      const started = process.hrtime.bigint();
      const r = spawnSync(process.execPath, ['-e', 'const u = process.resourceUsage(); process.stdout.write(String((u.userCPUTime + u.systemCPUTime) / 1000))'], { encoding: 'utf8' });
      samples.node.push({ wall: Number(process.hrtime.bigint() - started) / 1e6, cpuMs: Number(r.stdout) });
      for (const { which, op, name } of rows) samples[name].push(once(op, [], drivers[which]));
    }
    const bare = median(samples.node.map((s) => s.wall));
    const bareCpu = median(samples.node.map((s) => s.cpuMs));
    process.stdout.write(`\n1. the library, median of ${RUNS} interleaved runs (node -e 0: ${bare.toFixed(1)} ms wall, ${bareCpu.toFixed(1)} ms CPU)\n`);
    process.stdout.write(`${'operation'.padEnd(BASELINE ? 26 : 16)}   wall ms   library ms   × node     CPU ms   × node   peak RSS MiB\n`);
    for (const { name } of rows) {
      const s = samples[name];
      const wall = median(s.map((x) => x.wall));
      const cpu = median(s.map((x) => x.cpuMs));
      const row = [name.padEnd(BASELINE ? 26 : 16), wall.toFixed(1).padStart(9), median(s.map((x) => x.ms)).toFixed(1).padStart(12), (wall / bare).toFixed(2).padStart(8), cpu.toFixed(1).padStart(10), (cpu / bareCpu).toFixed(2).padStart(8), median(s.map((x) => x.rssMiB)).toFixed(1).padStart(14)];
      process.stdout.write(`${row.join(' ')}\n`);
    }
    if (CLI) await wholeCommand(big);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // a missed target: exit 1, as access-scale.mjs does
  if (!result.pass) process.exitCode = 1;
}

/** Part 2: the built CLI against the emulator. */
async function wholeCommand(big) {
  const emulatorMain = join(ROOT, 'dist', 'emulator', 'main.js');
  if (!existsSync(emulatorMain) || !existsSync(join(ROOT, 'dist', 'cli', 'main.cjs'))) {
    process.stdout.write('\n2. skipped: no build (run `npm run build`)\n');
    return;
  }
  const { ready, api, stop } = await startEmulator();
  const dir = mkdtempSync(join(work, 'cli-'));
  try {
    const hook = join(dir, 'rss.cjs');
    writeFileSync(hook, RSS_HOOK);
    const rssFile = join(dir, 'rss');
    const env = ankraEnv(dir, ready, ready.tokens['admin@acme.test']);
    const ankra = join(ROOT, 'bin', 'ankra');
    // `kubeconfig add` refuses a cluster the caller has no grant on: give the admin one.
    const grant = spawnSync(process.execPath, [ankra, 'cluster', 'access', 'grant', 'admin@acme.test', '--cluster', 'staging', '--wait'], { env, encoding: 'utf8' });
    if (grant.status !== 0) throw new Error(`granting admin@acme.test access to staging failed: ${grant.stderr}`);
    const config = join(dir, 'config.yaml');
    const cases = {
      'node -e 0': { args: ['-e', '0'], prepare: () => undefined },
      'add, empty file': { args: [ankra, 'cluster', 'kubeconfig', 'add', 'staging', '--kubeconfig', config], prepare: () => rmSync(config, { force: true }) },
      'add, big file': { args: [ankra, 'cluster', 'kubeconfig', 'add', 'staging', '--kubeconfig', config], prepare: () => copyFileSync(big, config) },
      'remove --all, big': { args: [ankra, 'cluster', 'kubeconfig', 'remove', '--all', '--kubeconfig', config], prepare: () => copyFileSync(big, config) },
    };
    // the baseline checkout's own build, when it has one
    const baselineAnkra = BASELINE && join(BASELINE, 'bin', 'ankra');
    if (baselineAnkra && existsSync(join(BASELINE, 'dist', 'cli', 'main.cjs'))) {
      cases['add, big (baseline)'] = { ...cases['add, big file'], args: [baselineAnkra, ...cases['add, big file'].args.slice(1)] };
      cases['remove --all, big (baseline)'] = { ...cases['remove --all, big'], args: [baselineAnkra, ...cases['remove --all, big'].args.slice(1)] };
    }
    const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    const once = (name) => {
      const { args, prepare } = cases[name];
      prepare();
      const started = process.hrtime.bigint();
      const r = spawnSync(process.execPath, args, { env: { ...env, NODE_OPTIONS: `--require ${hook}`, BENCH_RSS_FILE: rssFile }, encoding: 'utf8' });
      const wall = Number(process.hrtime.bigint() - started) / 1e6;
      if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
      return { wall, ...JSON.parse(readFileSync(rssFile, 'utf8')) };
    };
    // warm up, and the API requests each command makes
    const requests = {};
    for (const name of Object.keys(cases)) {
      await api('DELETE', '/_emulator/requests');
      once(name);
      requests[name] = (await api('GET', '/_emulator/requests')).length;
    }
    for (let i = 0; i < RUNS; i++) for (const name of Object.keys(cases)) samples[name].push(once(name));
    const bare = median(samples['node -e 0'].map((s) => s.wall));
    const bareCpu = median(samples['node -e 0'].map((s) => s.cpuMs));
    process.stdout.write(`\n2. the whole command against the emulator, median of ${RUNS} interleaved runs\n`);
    process.stdout.write('command                           wall ms   × node     CPU ms   × node   peak RSS MiB   req\n');
    for (const [name, s] of Object.entries(samples)) {
      const wall = median(s.map((x) => x.wall));
      const cpu = median(s.map((x) => x.cpuMs));
      process.stdout.write(`${[name.padEnd(30), wall.toFixed(1).padStart(10), (wall / bare).toFixed(2).padStart(8), cpu.toFixed(1).padStart(10), (cpu / bareCpu).toFixed(2).padStart(8), median(s.map((x) => x.rssMiB)).toFixed(1).padStart(14), String(requests[name] ?? '').padStart(5)].join(' ')}\n`);
    }
    // The target: one more context into a 500-entry file within 0.5 s.
    const addBig = median(samples['add, big file'].map((x) => x.wall));
    const pass = addBig <= ADD_TARGET_MS;
    process.stdout.write(`\n  add of one context into the 500-entry file: ${addBig.toFixed(0)} ms, ${requests['add, big file']} requests; target ≤ ${ADD_TARGET_MS} ms: ${pass ? 'PASS' : 'OVER'}\n`);
    result = { add_big_ms: addBig, add_big_requests: requests['add, big file'], target_ms: ADD_TARGET_MS, pass };
  } finally {
    stop();
  }
}
