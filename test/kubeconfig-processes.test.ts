// The kubeconfig library in real processes: 20 writers at once on one file, writes the
// operating system refuses, and a file the writer may not write in a directory it may. A tiny driver around upsertAnkraEntries is bundled with
// esbuild and run with node, as a separate OS process per writer.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { build } from 'esbuild';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { listAnkraContexts, removeAnkraEntries } from '../src/kube/kubeconfig';

const ROOT = resolve(import.meta.dirname, '..');
const ORIGINAL = readFileSync(join(ROOT, 'fixtures', 'kubeconfig', 'kubectl-style.yaml'), 'utf8');

const DRIVER = `
import { upsertAnkraEntries } from './src/kube/kubeconfig';
const [file, clusterId, clusterName] = process.argv.slice(2);
const server = 'https://ankra.example/api/v1/clusters/' + clusterId + '/k8s';
try {
  const res = await upsertAnkraEntries({ files: [file], explicit: true }, [{ clusterId, clusterName, server, exec: { command: 'ankra' } }], { lockTimeoutMs: 30_000 });
  process.stdout.write(JSON.stringify(res));
} catch (err) {
  process.stdout.write(JSON.stringify({ message: err.message, hint: err.hint, exitCode: err.exitCode }));
  process.exitCode = 1;
}
`;

// Inside the repository (in the git-ignored .vitest-tmp), so that the bundle's `yaml`
// import resolves from node_modules.
mkdirSync(join(ROOT, '.vitest-tmp'), { recursive: true });
const work = mkdtempSync(join(ROOT, '.vitest-tmp', 'kubeconfig-'));
const driver = join(work, 'driver.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'ankra-kubeconfig-proc-'));

beforeAll(async () => {
  await build({
    stdin: { contents: DRIVER, resolveDir: ROOT, loader: 'ts', sourcefile: 'driver.ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: driver,
    logLevel: 'warning',
  });
  // the unprivileged writer below must be able to read the driver and reach its files
  for (const dir of [work, scratch]) chmodSync(dir, 0o755);
});
afterAll(() => {
  for (const dir of [work, scratch]) rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  out: { message?: string; hint?: string; exitCode?: number; written?: string[] };
}

function runDriver(args: string[], as: { uid?: number; gid?: number } = {}): Promise<Outcome> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [driver, ...args], { ...as, env: { PATH: process.env.PATH, HOME: scratch }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, out: JSON.parse(stdout || '{}') as Outcome['out'] }));
  });
}

it('20 processes adding 20 clusters to one file at once leave all 20, and every byte of the rest', async () => {
  const dir = mkdtempSync(join(scratch, 'many-'));
  const path = join(dir, 'config');
  cpSync(join(ROOT, 'fixtures', 'kubeconfig', 'kubectl-style.yaml'), path);
  const ids = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`);

  const outcomes = await Promise.all(ids.map((id, i) => runDriver([path, id, `cluster ${i}`])));
  expect(outcomes.map((o) => o.code)).toEqual(ids.map(() => 0));
  expect(outcomes.map((o) => o.out.written)).toEqual(ids.map(() => [path]));

  const listed = await listAnkraContexts({ files: [path], explicit: true });
  expect(listed.map((c) => c.clusterId).sort()).toEqual(ids);
  const kubectl = await promisify(execFile)('kubectl', ['config', 'get-contexts', '-o', 'name', '--kubeconfig', path], { env: { PATH: process.env.PATH, HOME: dir } }).catch(
    (err: unknown) => (process.env.CI ? Promise.reject(err) : undefined),
  );
  if (kubectl) expect(kubectl.stdout.split('\n').filter((n) => n.startsWith('ankra-'))).toHaveLength(20);

  expect(readdirSync(dir)).toEqual(['config']); // no lock and no temp file left behind
  await removeAnkraEntries({ files: [path], explicit: true }, { all: true });
  expect(readFileSync(path, 'utf8')).toBe(ORIGINAL);
});

// Root may write anywhere, so as root the writer runs as nobody (uid 65534) instead.
const asRoot = process.getuid?.() === 0;
const nobody = asRoot ? { uid: 65534, gid: 65534 } : {};

it('a write refused by the OS leaves the file byte-identical, with no temp file or lock behind', async () => {
  // The kubeconfig is a symlink, in a directory the writer may write (so the lock beside it
  // is taken), to a file it may write in a directory it may not (so the temp file cannot be
  // created).
  const base = mkdtempSync(join(scratch, 'refused-'));
  chmodSync(base, 0o755);
  const [home, shelf] = [join(base, 'home'), join(base, 'shelf')];
  for (const dir of [home, shelf]) mkdirSync(dir, { mode: 0o755 });
  cpSync(join(ROOT, 'fixtures', 'kubeconfig', 'kubectl-style.yaml'), join(shelf, 'config'));
  chmodSync(join(shelf, 'config'), 0o644);
  symlinkSync(join(shelf, 'config'), join(home, 'config'));
  if (asRoot) {
    chownSync(home, 65534, 65534);
    chownSync(join(shelf, 'config'), 65534, 65534);
  } else chmodSync(shelf, 0o555);

  try {
    const { code, out } = await runDriver([join(home, 'config'), '11111111-0000-4000-8000-000000000000', 'Prod'], nobody);
    expect(code).toBe(1);
    expect(out).toEqual({
      message: `cannot write kubeconfig ${join(home, 'config')}: permission denied (EACCES)`,
      hint: 'it is unchanged; check that you may write to its directory, or pass --kubeconfig with another file',
      exitCode: 1,
    });
    expect(readFileSync(join(shelf, 'config'), 'utf8')).toBe(ORIGINAL);
    expect(readdirSync(shelf)).toEqual(['config']);
    expect(readdirSync(home)).toEqual(['config']);
  } finally {
    chmodSync(shelf, 0o755);
  }
});

it('a directory where the lock cannot be created: the file is untouched and the error names the lock', async () => {
  const dir = mkdtempSync(join(scratch, 'nolock-'));
  cpSync(join(ROOT, 'fixtures', 'kubeconfig', 'kubectl-style.yaml'), join(dir, 'config'));
  chmodSync(join(dir, 'config'), 0o644);
  chmodSync(dir, asRoot ? 0o755 : 0o555);
  try {
    const { code, out } = await runDriver([join(dir, 'config'), '11111111-0000-4000-8000-000000000000', 'Prod'], nobody);
    expect(code).toBe(1);
    expect(out).toMatchObject({ message: `cannot create the kubeconfig lock ${join(dir, 'config')}.lock: permission denied (EACCES)`, exitCode: 1 });
    expect(readFileSync(join(dir, 'config'), 'utf8')).toBe(ORIGINAL);
    expect(readdirSync(dir)).toEqual(['config']);
  } finally {
    chmodSync(dir, 0o755);
  }
});

it.runIf(asRoot)("a file the writer may not write, in a directory it may: refused as kubectl would be, not replaced behind its owner's back", async () => {
  // rename() would succeed here (the directory is the writer's) and hand root's file to nobody
  const dir = mkdtempSync(join(scratch, 'not-mine-'));
  cpSync(join(ROOT, 'fixtures', 'kubeconfig', 'kubectl-style.yaml'), join(dir, 'config'));
  chmodSync(join(dir, 'config'), 0o644);
  chownSync(dir, 65534, 65534);
  const { code, out } = await runDriver([join(dir, 'config'), '11111111-0000-4000-8000-000000000000', 'Prod'], nobody);
  expect(code).toBe(1);
  expect(out).toEqual({
    message: `kubeconfig ${join(dir, 'config')} is not writable by you (mode 0644, owner uid 0)`,
    hint: 'ankra left it unchanged; ask its owner, or pass --kubeconfig with a file you own',
    exitCode: 1,
  });
  expect(readFileSync(join(dir, 'config'), 'utf8')).toBe(ORIGINAL);
  expect(statSync(join(dir, 'config'))).toMatchObject({ uid: 0, mode: 0o100644 });
  expect(readdirSync(dir)).toEqual(['config']);
});
