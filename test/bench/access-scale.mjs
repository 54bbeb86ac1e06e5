// Access at scale: the built `ankra` against the built emulator holding a generated
// organisation (500 clusters, 2,500 members, grants on every cluster).
//
//   1. `access apply -f FILE` of an unchanged 500-cluster file (written by `access export
//      --all-clusters`): median wall time, peak RSS, and the requests one run makes.
//   2. `access list gen-big -o json` of one cluster holding 10,000 grants.
//   3. `access list --all-clusters -o json` over every cluster.
//
// Each is run BENCH_RUNS times (default 5), interleaved with bare `node -e 0` so the ratios
// within this one run are the figures to trust on a noisy machine. Peak RSS comes from
// the ankra process itself (a preload records process.resourceUsage().maxRSS at exit).
// Exits 1 when a target is missed.
//
//   node test/bench/access-scale.mjs           (after `npm run build`)
//   BENCH_RUNS=9 BENCH_GRANTS_PER_CLUSTER=20 node test/bench/access-scale.mjs
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, ankraEnv, startEmulator } from './common.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CLUSTERS = 500;
const MEMBERS = 2500;
const PER_CLUSTER = Number(process.env.BENCH_GRANTS_PER_CLUSTER ?? 20);
const BIG = 10_000;
const TARGETS = { apply_s: 15, list_big_s: 1.5, list_big_mb: 150, list_all_s: 10 };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const generate = `clusters=${CLUSTERS},members=${MEMBERS},grants_per_cluster=${PER_CLUSTER}`;
const { ready, api, stop } = await startEmulator(['--generate', generate], { stderr: 'inherit' });
const hook = (method, path, body) => api(method, `/_emulator/${path}`, { body });

const dir = mkdtempSync(join(tmpdir(), 'ankra-bench-access-'));
const rssFile = join(dir, 'rss');
const preload = join(dir, 'rss.cjs');
writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)));\n`);
const env = ankraEnv(dir, ready, ready.tokens['admin@acme.test']);

/** Runs `ankra ARGS`, stdout to `out` (default /dev/null); wall ms and peak RSS (MB). */
function ankra(args, out = '/dev/null') {
  const fd = openSync(out, 'w');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--require', preload, join(ROOT, 'bin', 'ankra'), ...args], { env, cwd: dir, stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  closeSync(fd);
  if (r.status !== 0) throw new Error(`ankra ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, mb: Number(readFileSync(rssFile, 'utf8')) / 1024, stderr: r.stderr };
}
function bare() {
  const t0 = process.hrtime.bigint();
  spawnSync(process.execPath, ['-e', '0'], { env }); // the same environment as ankra's runs
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
async function requestsOf(fn) {
  await hook('DELETE', 'requests');
  const r = fn();
  const log = await hook('GET', 'requests');
  const by = {};
  for (const e of log) {
    const k = `${e.method} ${e.path.replace(/[0-9a-f-]{36}/g, '{id}')}`;
    by[k] = (by[k] ?? 0) + 1;
  }
  return { ...r, requests: log.length, by };
}

try {
  const file = join(dir, 'access.yaml');
  const exported = ankra(['cluster', 'access', 'export', '--all-clusters'], file);
  const entries = (readFileSync(file, 'utf8').match(/^\s+- \{/gm) ?? []).length;
  await hook('POST', 'generate', { grants: BIG, grants_cluster: 'gen-big' });

  // Warm the OS file cache and the V8 code cache of the vendor bundles.
  bare();
  ankra(['cluster', 'access', 'apply', '-f', file]);

  const rows = { bare: [], apply: [], applyMb: [], big: [], bigMb: [], bigTable: [], bigTableMb: [], all: [], allMb: [] };
  for (let i = 0; i < RUNS; i++) {
    rows.bare.push(bare());
    const a = ankra(['cluster', 'access', 'apply', '-f', file]);
    if (!/No changes: the grants on \d+ clusters match/.test(a.stderr)) throw new Error(`apply of the exported file was not a no-op: ${a.stderr}`);
    rows.apply.push(a.ms), rows.applyMb.push(a.mb);
    const b = ankra(['cluster', 'access', 'list', 'gen-big', '-o', 'json']);
    rows.big.push(b.ms), rows.bigMb.push(b.mb);
    // the table, not on a terminal (TSV: every row, full width)
    const t = ankra(['cluster', 'access', 'list', 'gen-big'], join(dir, 'table.tsv'));
    rows.bigTable.push(t.ms), rows.bigTableMb.push(t.mb);
    const c = ankra(['cluster', 'access', 'list', '--all-clusters', '-o', 'json']);
    rows.all.push(c.ms), rows.allMb.push(c.mb);
  }
  const applyReq = await requestsOf(() => ankra(['cluster', 'access', 'apply', '-f', file]));
  const allReq = await requestsOf(() => ankra(['cluster', 'access', 'list', '--all-clusters', '-o', 'json']));
  const bigReq = await requestsOf(() => ankra(['cluster', 'access', 'list', 'gen-big', '-o', 'json']));

  const res = {
    runs: RUNS,
    clusters: CLUSTERS,
    file_entries: entries,
    export_ms: exported.ms,
    bare_ms: median(rows.bare),
    apply_ms: median(rows.apply),
    apply_mb: Math.max(...rows.applyMb),
    apply_requests: applyReq.requests,
    apply_requests_by_route: applyReq.by,
    list_big_ms: median(rows.big),
    list_big_mb: Math.max(...rows.bigMb),
    list_big_table_ms: median(rows.bigTable),
    list_big_table_mb: Math.max(...rows.bigTableMb),
    list_big_requests: bigReq.requests,
    list_all_ms: median(rows.all),
    list_all_mb: Math.max(...rows.allMb),
    list_all_requests: allReq.requests,
  };
  const line = (name, ms, mb, target) => `  ${name.padEnd(58)} ${`${(ms / 1000).toFixed(2)} s`.padStart(9)} ${`${(ms / res.bare_ms).toFixed(1)}×`.padStart(8)} ${`${mb.toFixed(0)} MB`.padStart(8)}   ${target}\n`;
  process.stdout.write(`\naccess at scale: ${CLUSTERS} clusters, ${MEMBERS} members, ${PER_CLUSTER} grants per cluster, gen-big ${BIG}; ${RUNS} interleaved runs (median wall, × node -e 0, peak RSS)\n\n`);
  process.stdout.write(line(`apply -f (unchanged, ${entries} entries, ${applyReq.requests} requests)`, res.apply_ms, res.apply_mb, `≤ ${TARGETS.apply_s} s`));
  process.stdout.write(line(`list gen-big -o json (${BIG} grants, ${bigReq.requests} requests)`, res.list_big_ms, res.list_big_mb, `≤ ${TARGETS.list_big_s} s, ≤ ${TARGETS.list_big_mb} MB`));
  process.stdout.write(line(`list gen-big, the table into a file (${BIG} rows)`, res.list_big_table_ms, res.list_big_table_mb, `≤ ${TARGETS.list_big_s} s, ≤ ${TARGETS.list_big_mb} MB`));
  process.stdout.write(line(`list --all-clusters -o json (${allReq.requests} requests)`, res.list_all_ms, res.list_all_mb, `≤ ${TARGETS.list_all_s} s`));
  process.stdout.write(`  bare node -e 0: ${res.bare_ms.toFixed(1)} ms; apply's requests: ${JSON.stringify(applyReq.by)}\n\n${JSON.stringify(res)}\n`);
  const ok =
    res.apply_ms <= TARGETS.apply_s * 1000 &&
    res.list_big_ms <= TARGETS.list_big_s * 1000 &&
    res.list_big_mb <= TARGETS.list_big_mb &&
    res.list_big_table_ms <= TARGETS.list_big_s * 1000 &&
    res.list_big_table_mb <= TARGETS.list_big_mb &&
    res.list_all_ms <= TARGETS.list_all_s * 1000;
  process.exitCode = ok ? 0 : 1;
} finally {
  stop();
  rmSync(dir, { recursive: true, force: true });
}
