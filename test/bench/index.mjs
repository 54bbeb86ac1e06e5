// npm run bench: one side-by-side speed report of the built `ankra`.
//
// Starts the emulator once, then runs every command below once per round, in a shuffled
// order, BENCH_RUNS rounds, so machine noise hits all alike; the figures to trust on a noisy
// machine are the ratios within this one run, never a comparison with another run.
//
//   run directly (spawnSync of node with the argv):
//     node -e 0                              baseline: starting node
//     node + undici                          baseline: starting node and loading undici (the
//                                            issue's yardstick for API commands, which once
//                                            all loaded it; now only the proxy path does)
//     node + https + 1 GET                   the floor of one request with Node's own https
//                                            (ankra's stack without a proxy)
//     node + undici + 1 GET                  the same with undici (ankra's stack through
//                                            HTTPS_PROXY)
//     ankra --version, --help, __complete    target ≤ 1.5× node
//     ankra cluster list                     one API request;  target ≤ 1.3× node + undici
//     ankra cluster access list staging      (as the admin);   target ≤ 1.3× node + undici
//   through `sh -c`, so each call has its own parent process, as under kubectl (the plugin
//   treats a second call from the same parent as a possibly rejected token):
//     node -e 0, node + undici               the same baselines, through the same sh
//     plugin, cache miss                     (token cache removed first); ≤ 1.3× node + undici
//     plugin, cache hit                      ≤ 1.25× node
//     plugin, cache hit starting the check   (the `.check` marker made due first; the check
//                                            runs detached, and the next command waits until
//                                            it is over); no target: reported as the check's
//                                            cost over a plain hit, paid at most once per
//                                            cached token every 5 s
//
// Then the peak RSS (`/usr/bin/time -f %M`, else a --require hook recording
// process.resourceUsage().maxRSS) of a few commands, ≤ 70 MB for a one-request command; then
// the scale benches, test/bench/access-scale.mjs and test/bench/kubeconfig.mjs, each with
// its own defaults (BENCH_SCALE_RUNS sets their BENCH_RUNS). A missed target is marked
// OVER; the process still exits 0. test/bench/exec-plugin.mjs is the plugin's own, more
// detailed bench (OIDC misses, the check's own cost), and runs on its own.
//
//   npm run bench                          (BENCH_RUNS=30 rounds, then the scale benches)
//   BENCH_QUICK=1 BENCH_RUNS=10 npm run bench        (no scale benches)
//   BENCH_SEED=7 npm run bench             (another order of the commands in each round)
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ANKRA, ROOT, ankraEnv, startEmulator } from './common.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const QUICK = process.env.BENCH_QUICK === '1';
const SEED = Number(process.env.BENCH_SEED ?? 1);
const RSS_RUNS = 3;
const STAGING = 'c0000000-0000-4000-8000-000000000001';
const TARGETS = { start: 1.5, api: 1.3, hit: 1.25, rssMb: 70 };
// What every API command loads: the CLI's own vendored undici bundle, else the package.
const VENDORED_UNDICI = join(ROOT, 'dist', 'cli', 'vendor', 'undici.cjs');
const UNDICI = existsSync(VENDORED_UNDICI) ? VENDORED_UNDICI : createRequire(join(ROOT, 'package.json')).resolve('undici');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const started = Date.now();

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = (s) => process.stdout.write(s);

/** A small seeded PRNG (mulberry32), so a round's order can be reproduced with BENCH_SEED. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function shuffle(xs, random) {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// ---- the emulator, as its own process
const { ready, api, stop } = await startEmulator();

// ---- the sandbox: alice (the plugin, and the commands without an admin), the admin (access
// list), each with their own HOME and XDG directories. Only these variables reach the
// commands: nothing from this shell (NODE_OPTIONS, NODE_EXTRA_CA_CERTS…) slows one side.
const dir = mkdtempSync(join(tmpdir(), 'ankra-bench-'));
const sandbox = (who, token, extra = {}) => ankraEnv(join(dir, who), ready, token, extra);
const aliceEnv = sandbox('alice', ready.tokens['alice@acme.test']);
const adminEnv = sandbox('admin', ready.tokens['admin@acme.test']);
// as kubectl sets it
const EXEC_INFO = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false } });
const pluginEnv = { ...aliceEnv, KUBERNETES_EXEC_INFO: EXEC_INFO };
// The misses get a token cache of their own, so the hits' cached token stays put (and old
// enough for its check to be due).
const missEnv = { ...pluginEnv, XDG_CACHE_HOME: join(dir, 'alice', 'cache-miss') };
const hitTokenDir = join(pluginEnv.XDG_CACHE_HOME, 'ankra', 'tokens');
const missTokenDir = join(missEnv.XDG_CACHE_HOME, 'ankra', 'tokens');

// A row through sh: `"$@" >/dev/null || exit $?` is not the script's last command, so sh
// forks for it instead of exec-ing it; the command's parent is a new sh every time.
const SH = ['/bin/sh', '-c', '"$@" >/dev/null || exit $?', 'sh'];
const argvOf = (row, argv = [process.execPath, ...row.argv]) => (row.sh ? [...SH, ...argv] : argv);

/** Runs a row once, untimed preparation aside; wall ms. Throws when the command failed. */
async function once(row) {
  await row.before?.();
  const [cmd, ...args] = argvOf(row);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env: row.env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${row.name} exited ${r.status ?? r.signal}: ${r.stderr}`);
  await row.after?.();
  return ms;
}

let summary;
try {
  await api('POST', `/api/v1/clusters/${STAGING}/access/grants`, {
    token: ready.tokens['admin@acme.test'],
    body: { user_email: 'alice@acme.test', scope: 'cluster', role: 'view' },
  });
  await api('POST', '/_emulator/rate-limit', { body: { k8s_token_per_minute: 100000 } });

  // ---- the plugin's cached token, and its `.check` marker (see src/cache/token-cache.ts: a
  // check is due when the token is older than 5 s and the marker is older than 5 s, or gone)
  const plugin = [ANKRA, 'cluster', 'kube-token', '--cluster', STAGING];
  const first = spawnSync(process.execPath, plugin, { env: pluginEnv, encoding: 'utf8' });
  if (first.status !== 0 || !JSON.parse(first.stdout).status?.token) throw new Error(`the plugin failed: ${first.stderr}`);
  const mintedAt = Date.now();
  const key = readdirSync(hitTokenDir).find((f) => f.endsWith('.json')).slice(0, -'.json'.length);
  const marker = join(hitTokenDir, `${key}.check`);
  const notDue = () => {
    closeSync(openSync(marker, 'a', 0o600));
    utimesSync(marker, new Date(), new Date());
  };
  const due = () => rmSync(marker, { force: true });
  // The checks so far (each asks the cluster's API once), and whether one still runs.
  const checks = async () => (await api('GET', '/_emulator/requests')).filter((e) => e.method === 'GET' && e.path.endsWith('/k8s/api')).length;
  const checkRunning = () =>
    readdirSync('/proc').some((pid) => {
      if (!/^\d+$/.test(pid)) return false;
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('__check-cached-token');
      } catch {
        return false;
      }
    });
  let checksBefore = 0;
  const checkStarted = async () => {
    const deadline = Date.now() + 10_000;
    while ((await checks()) === checksBefore) {
      if (Date.now() > deadline) throw new Error('the cache hit did not start the background check');
      await sleep(10);
    }
    while (checkRunning()) await sleep(10); // and until it exited
  };

  // ---- the rows; `vs`: the baselines a row's ratios are taken against
  const NODE = { name: 'node -e 0', argv: ['-e', '0'], env: aliceEnv };
  const UNDICI_ROW = { name: 'node + undici', argv: ['-e', `require(${JSON.stringify(UNDICI)})`], env: aliceEnv };
  // The floor of one HTTPS request from Node (TLS context, handshake, the emulator's answer),
  // with each of ankra's two stacks: no ankra in it.
  const GET_ROW = { name: 'node + https + 1 GET', argv: [join(ROOT, 'test', 'bench', 'one-request.cjs'), 'https'], env: aliceEnv };
  const UNDICI_GET_ROW = { name: 'node + undici + 1 GET', argv: [join(ROOT, 'test', 'bench', 'one-request.cjs'), UNDICI], env: aliceEnv };
  const SH_NODE = { ...NODE, env: pluginEnv, sh: true };
  const SH_UNDICI = { ...UNDICI_ROW, env: pluginEnv, sh: true };
  const rows = [
    NODE,
    UNDICI_ROW,
    GET_ROW,
    UNDICI_GET_ROW,
    { name: 'ankra --version', argv: [ANKRA, '--version'], env: aliceEnv, node: NODE, undici: UNDICI_ROW, target: ['node', TARGETS.start] },
    { name: 'ankra --help', argv: [ANKRA, '--help'], env: aliceEnv, node: NODE, undici: UNDICI_ROW, target: ['node', TARGETS.start] },
    { name: 'ankra __complete cluster', argv: [ANKRA, '__complete', 'cluster'], env: aliceEnv, node: NODE, undici: UNDICI_ROW, target: ['node', TARGETS.start] },
    { name: 'ankra cluster list', argv: [ANKRA, 'cluster', 'list'], env: aliceEnv, node: NODE, undici: UNDICI_ROW, get: GET_ROW, target: ['undici', TARGETS.api] },
    { name: 'ankra cluster access list staging', argv: [ANKRA, 'cluster', 'access', 'list', 'staging'], env: adminEnv, node: NODE, undici: UNDICI_ROW, get: GET_ROW, target: ['undici', TARGETS.api] },
    SH_NODE,
    SH_UNDICI,
    { name: 'plugin, cache miss', argv: plugin, env: missEnv, sh: true, node: SH_NODE, undici: SH_UNDICI, get: GET_ROW, target: ['undici', TARGETS.api], before: () => rmSync(missTokenDir, { recursive: true, force: true }) },
    { name: 'plugin, cache hit', argv: plugin, env: pluginEnv, sh: true, node: SH_NODE, undici: SH_UNDICI, target: ['node', TARGETS.hit], before: notDue },
    {
      name: 'plugin, cache hit starting the check',
      argv: plugin,
      env: pluginEnv,
      sh: true,
      node: SH_NODE,
      undici: SH_UNDICI,
      before: async () => ((checksBefore = await checks()), due()),
      after: checkStarted,
    },
  ];
  for (const row of rows) row.ms = [];

  // ---- warm-up (the OS file cache; the cached token gets old enough for a due check), and
  // the API requests each command makes
  await sleep(Math.max(0, mintedAt + 5_500 - Date.now()));
  for (const row of rows) await once(row);
  for (const row of rows) {
    await api('DELETE', '/_emulator/requests');
    await once(row);
    row.requests = (await api('GET', '/_emulator/requests')).length;
  }

  // ---- the rounds
  const random = prng(SEED);
  await api('DELETE', '/_emulator/requests');
  const roundsStarted = Date.now();
  for (let i = 0; i < RUNS; i++) for (const row of shuffle(rows, random)) row.ms.push(await once(row));
  const roundsS = (Date.now() - roundsStarted) / 1000;
  // Every hit was a hit: the only mints are the misses', one check per hit that starts one.
  const log = await api('GET', '/_emulator/requests');
  const mints = log.filter((e) => e.method === 'POST' && e.path.endsWith('/k8s-token')).length;
  const checked = log.filter((e) => e.method === 'GET' && e.path.endsWith('/k8s/api')).length;
  if (mints !== RUNS || checked !== RUNS) throw new Error(`expected ${RUNS} mints and ${RUNS} checks in the rounds, saw ${mints} and ${checked}: a cache hit was not a hit`);

  // ---- peak RSS of a few commands, after the rounds (so it slows none of them)
  const hook = join(dir, 'rss.cjs');
  const rssFile = join(dir, 'rss.out');
  writeFileSync(hook, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)));\n`);
  /** The largest peak RSS (MB) of RSS_RUNS runs of a row. */
  async function peakMb(row) {
    let kb = 0;
    for (let i = 0; i < RSS_RUNS; i++) {
      await row.before?.();
      rmSync(rssFile, { force: true });
      const measured = TIME ? [TIME, '-f', '%M', '-o', rssFile, process.execPath, ...row.argv] : [process.execPath, '--require', hook, ...row.argv];
      // under /usr/bin/time, `time` is the plugin's own parent process; with the hook, sh is
      const [cmd, ...args] = TIME ? measured : argvOf(row, measured);
      const r = spawnSync(cmd, args, { env: row.env, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${row.name} exited ${r.status ?? r.signal} (peak RSS): ${r.stderr}`);
      kb = Math.max(kb, Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()));
      await row.after?.();
    }
    return kb / 1024;
  }
  const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
  const rss = [];
  for (const [name, oneRequest] of [
    ['node -e 0', false],
    ['node + https + 1 GET', false],
    ['node + undici + 1 GET', false],
    ['ankra --version', false],
    ['ankra cluster list', true],
    ['ankra cluster access list staging', true],
    ['plugin, cache miss', true],
    ['plugin, cache hit', false],
  ]) {
    rss.push({ name, mb: await peakMb(byName[name]), target: oneRequest ? TARGETS.rssMb : undefined });
  }

  // ---- the report
  const results = [];
  const fmtX = (x) => (x === undefined ? '' : `${x.toFixed(2)}×`);
  const verdict = (value, limit) => {
    const pct = (value / limit - 1) * 100;
    return value <= limit ? 'PASS' : `OVER (+${pct.toFixed(pct < 10 ? 1 : 0)}%)`;
  };
  out(`\nankra speed: ${RUNS} interleaved rounds of ${rows.length} commands (shuffled, BENCH_SEED=${SEED}), ${roundsS.toFixed(0)} s; median / p90 wall time\n`);
  out(`node + undici = node -e "require('${UNDICI.startsWith(ROOT) ? UNDICI.slice(ROOT.length + 1) : UNDICI}')"\n`);
  out('node + https|undici + 1 GET = test/bench/one-request.cjs: the same CA, one GET of the organisations, with Node\'s https or undici; the floor of any Node client making one request (× +1 GET: against the https one)\n');
  const head = `  ${'command'.padEnd(38)} ${'req'.padStart(3)} ${'median'.padStart(9)} ${'p90'.padStart(9)} ${'× node'.padStart(8)} ${'× n+undici'.padStart(10)} ${'× +1 GET'.padStart(8)}   ${'target'.padEnd(20)} result\n`;
  for (const [title, group] of [
    ['run directly', rows.filter((r) => !r.sh)],
    ['through sh -c (own parent process, as under kubectl); ratios to the sh baselines', rows.filter((r) => r.sh)],
  ]) {
    out(`\n ${title}\n${head}`);
    for (const row of group) {
      const m = median(row.ms);
      const xNode = row.node && m / median(row.node.ms);
      const xUndici = row.undici && m / median(row.undici.ms);
      const xGet = row.get && m / median(row.get.ms);
      let target = '';
      let result = '';
      if (row.target) {
        const [base, limit] = row.target;
        const x = base === 'node' ? xNode : xUndici;
        target = `≤ ${limit}× ${base === 'node' ? 'node' : 'node+undici'}`;
        result = verdict(x, limit);
        results.push({ name: row.name, ratio: x, base, limit, pass: x <= limit });
      }
      const req = row.requests ? String(row.requests) : row.argv[0] === ANKRA ? '0' : '';
      out(`  ${row.name.padEnd(38)} ${req.padStart(3)} ${`${m.toFixed(1)} ms`.padStart(9)} ${`${p90(row.ms).toFixed(1)} ms`.padStart(9)} ${fmtX(xNode).padStart(8)} ${fmtX(xUndici).padStart(10)} ${fmtX(xGet).padStart(8)}   ${target.padEnd(20)} ${result}\n`);
    }
  }
  out(`  (req: API requests one run makes; the check's one request is made after the plugin answered)\n`);
  const hitMs = median(byName['plugin, cache hit'].ms);
  const checkCost = median(byName['plugin, cache hit starting the check'].ms) - hitMs;
  out(`  the background check costs a hit that starts it +${checkCost.toFixed(1)} ms (spawning its detached process); a hit starts one at most once per cached token every 5 s\n`);

  out(`\n peak RSS, the largest of ${RSS_RUNS} runs (${TIME ? '/usr/bin/time -f %M' : 'process.resourceUsage().maxRSS via --require'})\n`);
  for (const r of rss) {
    const result = r.target === undefined ? '' : verdict(r.mb, r.target);
    if (r.target !== undefined) results.push({ name: `${r.name} peak RSS`, mb: r.mb, limit: r.target, pass: r.mb <= r.target });
    out(`  ${r.name.padEnd(38)} ${`${r.mb.toFixed(1)} MB`.padStart(9)}   ${(r.target === undefined ? '' : `≤ ${r.target} MB (one request)`).padEnd(24)} ${result}\n`);
  }
  if (process.env.NODE_EXTRA_CA_CERTS) out(`  note: NODE_EXTRA_CA_CERTS is set in this shell; the commands above run without it (it slows every node start)\n`);

  summary = {
    runs: RUNS,
    seed: SEED,
    rows: Object.fromEntries(rows.map((r) => [`${r.sh ? 'sh: ' : ''}${r.name}`, { median_ms: median(r.ms), p90_ms: p90(r.ms), requests: r.requests }])),
    rss_mb: Object.fromEntries(rss.map((r) => [r.name, r.mb])),
    check_cost_ms: checkCost,
    targets: results,
  };
} finally {
  stop();
  rmSync(dir, { recursive: true, force: true });
}

// ---- the scale benches, each in its own process with its own emulator and defaults
const scale = [];
if (!QUICK) {
  const { BENCH_RUNS: _runs, ...scaleEnv } = process.env;
  if (process.env.BENCH_SCALE_RUNS) scaleEnv.BENCH_RUNS = process.env.BENCH_SCALE_RUNS;
  for (const file of ['access-scale.mjs', 'kubeconfig.mjs']) {
    out(`\n---- test/bench/${file}\n`);
    const t0 = Date.now();
    const r = await new Promise((done) => {
      const child = spawn(process.execPath, [join(ROOT, 'test', 'bench', file)], { env: scaleEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s) => ((stdout += s), out(s)));
      child.stderr.setEncoding('utf8').on('data', (s) => (stderr += s));
      child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
    });
    // Each ends with a JSON line and exits 1 when one of its targets is missed.
    const json = r.stdout.trim().split('\n').pop();
    const parsed = json?.startsWith('{') ? JSON.parse(json) : undefined;
    const failed = r.code !== 0 && !(r.code === 1 && parsed);
    if (failed) out(`\n  ${file} FAILED (exit ${r.code ?? r.signal}):\n${r.stderr.replace(/^/gm, '    ')}\n`);
    scale.push({ file, code: r.code, failed, s: (Date.now() - t0) / 1000, result: parsed });
  }
}

// ---- the summary
const over = summary.targets.filter((t) => !t.pass);
out(`\n==== summary: ${summary.targets.length - over.length} of ${summary.targets.length} targets pass\n`);
for (const t of summary.targets) {
  const figure = t.mb === undefined ? `${t.ratio.toFixed(2)}× ${t.base === 'node' ? 'node' : 'node+undici'} (≤ ${t.limit}×)` : `${t.mb.toFixed(1)} MB (≤ ${t.limit} MB)`;
  out(`  ${t.pass ? 'PASS' : 'OVER'}  ${t.name.padEnd(46)} ${figure}\n`);
}
for (const s of scale) {
  const what = s.failed ? 'FAILED' : !s.result ? 'done (no targets)' : s.code === 0 ? 'its targets PASS' : 'a target OVER (see above)';
  out(`  ${s.file.padEnd(52)} ${what}, ${s.s.toFixed(0)} s\n`);
}
if (QUICK) out('  scale benches skipped (BENCH_QUICK=1)\n');
out(`  total ${((Date.now() - started) / 1000).toFixed(0)} s\n\n`);
out(`${JSON.stringify({ ...summary, scale: scale.map(({ file, code, failed, result }) => ({ file, code, failed, result })) })}\n`);
// A missed target is reported, not an error; a scale bench that broke is.
process.exitCode = scale.some((s) => s.failed) ? 1 : 0;
