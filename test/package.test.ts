/**
 * The installable package: `npm pack` of the project, then `npm install -g` of the tarball
 * into a temporary prefix with a PATH holding only node, npm and sh (no compiler, no
 * python, no make), then the
 * installed `ankra` runs `--version`, `--help`, the full CLI and the exec credential plugin
 * against the emulator, with no trace of this checkout.
 *
 * `npm pack` runs the `prepack` script, whose build cleans dist/cli first: it runs in a
 * copy of the project (node_modules linked), so the binary other test files run is never
 * touched. Dependencies come from the npm registry through the local cache (--prefer-offline).
 *
 * The install must print no warning. npm 11 lists the `prepare` script of a package
 * installed from a tarball (a non-registry source) as an install script not covered by
 * `allowScripts`, and its advice (`--allow-scripts=ankra`) cannot match a file: install,
 * so the package carries no `prepare`: `prepack` builds for `npm pack`, and `postprepare`
 * for the repository's own `npm install` / `npm ci` (npm runs neither when installing
 * the package).
 *
 * The installed copy keeps its login in the OS keychain when a Secret Service runs (a
 * private D-Bus and gnome-keyring, skipped outside CI when they are missing), and in the
 * 0600 file with one notice line when none does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { builtinModules } from 'node:module';
import { ROOT, runProgram, sandbox, type RunResult, type Sandbox } from './helpers/cli';
import { EMAIL, IDS, startEmulator, type InProcessEmulator } from './helpers/emulator';
import { KEYCHAIN, startKeyring, type Keyring } from './helpers/keyring';
import { need } from './tools/needs.mjs';

const MAN = need('the man page test', ['man'], 'apt-get install -y man-db');

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};

/** What npm needs from the environment; nothing of the developer's build tools or npm run's own settings. */
function npmEnv(path: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: path };
  const keep = /^(HOME|LANG|LC_ALL|TMPDIR|https?_proxy|no_proxy|NODE_EXTRA_CA_CERTS|npm_config_(cache|registry|userconfig|cafile|strict_ssl|proxy|https_proxy|noproxy))$/i;
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && keep.test(k)) env[k] = v;
  return env;
}

function ok(r: RunResult, what: string): RunResult {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}${r.signal ? ` (${r.signal})` : ''}:\n${r.stderr.slice(-4000)}`);
  return r;
}

const PACK_MS = 45_000;
const INSTALL_MS = 75_000;

let work: string;
let tarball: string;
let prefix: string;
/** The installed package: <prefix>/lib/node_modules/ankra. */
let installed: string;
let installedBin: string;
/** A PATH with node, npm and sh only. */
let bareBin: string;
let installLog: RunResult;
let emu: InProcessEmulator | undefined;
let keyring: Keyring | undefined;
const boxes: Sandbox[] = [];

/** The emulator, started by the first test that needs it. */
async function emulator(): Promise<InProcessEmulator> {
  emu ??= await startEmulator({ reconcileDelayMs: 0 });
  return emu;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ankra-package-'));

  // A copy of the project as a clean checkout has it, with this checkout's node_modules.
  const stage = join(work, 'stage');
  const skip = new Set(['node_modules', 'dist', '.git', '.vitest-tmp', 'coverage']);
  cpSync(ROOT, stage, {
    recursive: true,
    filter: (src) => {
      const rel = relative(ROOT, src);
      const top = rel.split(/[\\/]/)[0] ?? '';
      return rel === '' || (!skip.has(top) && !rel.endsWith('.tgz'));
    },
  });
  symlinkSync(join(ROOT, 'node_modules'), join(stage, 'node_modules'), 'dir');

  const out = join(work, 'out');
  mkdirSync(out);
  ok(await runProgram('npm', ['pack', '--pack-destination', out], { env: npmEnv(process.env.PATH ?? ''), cwd: stage, timeoutMs: PACK_MS }), 'npm pack');
  const tgz = readdirSync(out).filter((f) => f.endsWith('.tgz'));
  expect(tgz).toEqual([`${pkg.name}-${pkg.version}.tgz`]);
  tarball = join(out, tgz[0] ?? '');

  // npm reads its global npmrc from <prefix>/etc once --prefix is given: keep the real one.
  const globalconfig = ok(await runProgram('npm', ['config', 'get', 'globalconfig'], { env: npmEnv(process.env.PATH ?? ''), cwd: work }), 'npm config').stdout.trim();

  bareBin = join(work, 'bin');
  mkdirSync(bareBin);
  const npmCli = ok(await runProgram('sh', ['-c', 'command -v npm'], { env: { PATH: process.env.PATH ?? '' }, cwd: work }), 'command -v npm').stdout.trim();
  symlinkSync(process.execPath, join(bareBin, 'node'));
  symlinkSync(npmCli, join(bareBin, 'npm'));
  symlinkSync('/bin/sh', join(bareBin, 'sh'));

  prefix = join(work, 'prefix');
  installLog = await runProgram(
    'npm',
    ['install', '-g', '--prefix', prefix, '--globalconfig', globalconfig, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'warn', tarball],
    { env: npmEnv(bareBin), cwd: work, timeoutMs: INSTALL_MS },
  );
  ok(installLog, 'npm install -g of the tarball with no build tools');
  installed = join(prefix, 'lib', 'node_modules', pkg.name);
  installedBin = join(prefix, 'bin', 'ankra');
}, PACK_MS + INSTALL_MS + 10_000);

afterAll(async () => {
  await keyring?.stop();
  await emu?.stop();
  for (const b of boxes) b.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A user's machine: a fresh HOME, and a PATH with nothing but node, npm and sh. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const b = sandbox(extra);
  boxes.push(b);
  return { ...b.env, PATH: bareBin };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('npm pack', () => {
  it('ships bin/ankra, dist/cli, package.json and README.md, and nothing of src, test, fixtures or the emulator', async () => {
    const r = ok(await runProgram('tar', ['-tzf', tarball], { env: { PATH: process.env.PATH ?? '' }, cwd: work }), 'tar -t');
    const files = r.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    expect(files).toEqual(
      expect.arrayContaining(['bin/ankra', 'bin/package.json', 'dist/cli/main.cjs', 'dist/cli/cli.cjs', 'dist/cli/vendor/undici.cjs', 'dist/cli/vendor/yaml.cjs', 'dist/man/ankra.1', 'package.json', 'README.md']),
    );
    const unexpected = files.filter((f) => !/^(bin\/ankra|bin\/package\.json|dist\/cli\/(vendor\/)?[\w-]+\.cjs|dist\/man\/ankra\.1|package\.json|README\.md|LICEN[CS]E(\.\w+)?)$/.test(f));
    expect(unexpected).toEqual([]);
    for (const f of files) expect(f).not.toMatch(/^(src|test|fixtures|dist\/emulator)\//);
  });

  it('every module the shipped code imports is shipped or a runtime dependency', () => {
    const runtime = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]);
    const problems: string[] = [];
    for (const file of filesUnder(join(installed, 'dist', 'cli'))) {
      const text = readFileSync(file, 'utf8');
      // CommonJS bundles: what they require or import() by a literal name
      const specs = [...text.matchAll(/\b(?:require|import)\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? '');
      for (const spec of specs) {
        const where = relative(installed, file);
        if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        if (spec.startsWith('.')) {
          if (!existsSync(resolve(dirname(file), spec))) problems.push(`${where} imports ${spec}, which is not in the package`);
          continue;
        }
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec);
        if (!runtime.has(name)) problems.push(`${where} imports ${spec}, but ${name} is ${pkg.devDependencies?.[name] ? 'only a devDependency' : 'not a dependency'}`);
      }
    }
    expect(problems).toEqual([]);
    // the exec plugin's entry loads no package at all on its own
    const main = readFileSync(join(installed, 'dist', 'cli', 'main.cjs'), 'utf8');
    expect([...main.matchAll(/\brequire\(["']([^"'.][^"']*)["']\)/g)].map((m) => m[1]).filter((s) => !s?.startsWith('node:'))).toEqual([]);
  });
});

describe('npm install -g of the tarball, on a machine without build tools', () => {
  it('installs with no warning (no install-time script of ours, nothing built)', () => {
    const warnings = `${installLog.stdout}\n${installLog.stderr}`.split('\n').filter((l) => /^npm (warn|WARN|ERR)/.test(l));
    expect(warnings).toEqual([]);
    expect(installLog.stderr).not.toMatch(/install-scripts|allow-scripts|gyp/);
    const shipped = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) expect(shipped.scripts?.[s], s).toBeUndefined();
  });

  it('installs the runtime dependencies only, with the keychain binary prebuilt', () => {
    expect(statSync(installedBin).isFile()).toBe(true);
    const deps = readdirSync(join(installed, 'node_modules'));
    for (const d of Object.keys(pkg.dependencies ?? {})) expect(existsSync(join(installed, 'node_modules', d)), d).toBe(true);
    for (const d of ['esbuild', 'typescript', 'vitest', 'oidc-provider']) expect(deps, d).not.toContain(d);
    // @napi-rs/keyring ships its binary in a per-platform npm package: nothing is built.
    expect(readdirSync(join(installed, 'node_modules', '@napi-rs')).some((d) => d.startsWith('keyring-'))).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);
  });

  it('loads every runtime dependency as resolved for this Node (no engine-incompatible versions)', async () => {
    const names = Object.keys(pkg.dependencies ?? {});
    const code = `for (const n of ${JSON.stringify(names)}) await import(n);`;
    const r = await runProgram(process.execPath, ['--input-type=module', '-e', code], { env: userEnv(), cwd: installed });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('`ankra --version` prints the package version and `--help` the commands', async () => {
    const env = userEnv();
    const version = await runProgram(installedBin, ['--version'], { env });
    expect(version).toMatchObject({ code: 0, stdout: `ankra ${pkg.version} (Node ${process.version}, ${process.platform}-${process.arch})\n`, stderr: '' });
    const help = await runProgram(installedBin, ['--help'], { env });
    expect(help.code, help.stderr).toBe(0);
    for (const c of ['login', 'cluster', 'org']) expect(help.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    const sub = await runProgram(installedBin, ['cluster', 'access', 'grant', '--help'], { env });
    expect(sub.code, sub.stderr).toBe(0);
    expect(sub.stdout).toContain('cluster-admin');
  });

  it.skipIf(MAN.skip)('ships a man page generated from the command tree, linked where man finds it, that renders', async () => {
    MAN.assert();
    const page = join(installed, 'dist', 'man', 'ankra.1');
    expect(existsSync(join(prefix, 'share', 'man', 'man1', 'ankra.1'))).toBe(true);
    const r = await runProgram('man', ['-l', page], { env: { PATH: process.env.PATH ?? '', MANPAGER: 'cat', MANWIDTH: '100', LANG: 'C.UTF-8' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ANKRA\(1\)/);
    for (const cmd of ['ankra login', 'ankra cluster access grant', 'ankra cluster kubeconfig add', 'ankra doctor']) expect(r.stdout).toContain(cmd);
    expect(r.stdout).toMatch(/ENVIRONMENT[\s\S]*ANKRA_API_TOKEN[\s\S]*EXIT STATUS/);
    const exits = r.stdout.slice(r.stdout.indexOf('EXIT STATUS'));
    for (const c of ['0', '6', '7', '10']) expect(exits).toMatch(new RegExp(`^ {7}${c}\\s`, 'm'));
    expect(exits).toContain('saw drift');
  });

  it('runs the CLI and the exec credential plugin against Ankra, with a cache hit on the second call', async () => {
    const emu = await emulator();
    const S = IDS.clusters.staging;
    const grant = await emu.api('POST', `/api/v1/clusters/${S}/access/grants`, {
      token: emu.tokens[EMAIL.admin],
      body: { user_email: EMAIL.alice, scope: 'cluster', role: 'view' },
    });
    expect([200, 201]).toContain(grant.status);
    await emu.hook('POST', 'reconcile/now');

    const env = userEnv({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, ANKRA_API_TOKEN: emu.tokens[EMAIL.alice] });
    // the full CLI (commander, undici) from the installed node_modules
    const list = await runProgram(installedBin, ['cluster', 'list', '-o', 'json'], { env });
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as Array<{ id: string }>).map((c) => c.id)).toContain(S);

    await emu.clearRequests();
    const first = await runProgram(installedBin, ['cluster', 'kube-token', '--cluster', S], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe('');
    const cred = JSON.parse(first.stdout) as { apiVersion: string; kind: string; status: { token: string; expirationTimestamp: string } };
    expect(cred).toMatchObject({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: expect.stringMatching(/^ankra_k8s_/) } });
    expect(Date.parse(cred.status.expirationTimestamp)).toBeGreaterThan(Date.now());
    expect((await emu.requests()).map((e) => `${e.method} ${e.path}`)).toEqual([`POST /api/v1/clusters/${S}/k8s-token`]);

    await emu.clearRequests();
    const second = await runProgram(installedBin, ['cluster', 'kube-token', '--cluster', S], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual(cred);
    expect(await emu.requests()).toEqual([]);
  });

  it('login --with-token without a keychain: the 0600 file, and one notice line after the success line', async () => {
    const emu = await emulator();
    const env = userEnv({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile });
    delete env.ANKRA_CREDENTIAL_STORE;
    delete env.DBUS_SESSION_BUS_ADDRESS;
    const r = await runProgram(installedBin, ['login', '--with-token'], { env, input: emu.tokens[EMAIL.alice] });
    expect(r.code, r.stderr).toBe(0);
    const credentials = join(env.XDG_CONFIG_HOME ?? '', 'ankra', 'credentials.json');
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`Logged in to ${emu.baseUrl} as ${EMAIL.alice} with an API token (kept in ${credentials})`);
    expect(lines[1]?.startsWith(`warning: no D-Bus session bus, so the login is kept in ${credentials} (mode 0600, `), lines[1]).toBe(true);
    expect(lines[1]).toMatch(/; to keep it in a keychain instead, .+ and run `ankra login` again$/);
    expect(lines[1]).not.toMatch(/chunk-|\.c?js\b/);
    expect(statSync(credentials).mode & 0o777).toBe(0o600);
  });

  it('without the keychain library\'s binary for this system (as after --omit=optional): the file, and a notice naming no file of the bundle', async () => {
    const emu = await emulator();
    const scope = join(installed, 'node_modules', '@napi-rs');
    const binaries = readdirSync(scope).filter((d) => d.startsWith('keyring-'));
    expect(binaries.length).toBeGreaterThan(0);
    const aside = join(work, 'aside');
    mkdirSync(aside, { recursive: true });
    for (const d of binaries) renameSync(join(scope, d), join(aside, d));
    try {
      const env = userEnv({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' });
      delete env.ANKRA_CREDENTIAL_STORE;
      const r = await runProgram(installedBin, ['login', '--with-token'], { env, input: emu.tokens[EMAIL.alice] });
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stderr.split('\n').filter(Boolean);
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatch(/^warning: the keychain library cannot be loaded, so the login is kept in .* reinstall ankra with npm/);
      expect(r.stderr).not.toMatch(/chunk-|\.c?js\b|\.node\b|native binding/);
    } finally {
      for (const d of binaries) renameSync(join(aside, d), join(scope, d));
    }
  });

  it.skipIf(KEYCHAIN.skip)('login --with-token with a Secret Service running: the OS keychain, and no notice', async () => {
    KEYCHAIN.assert();
    const emu = await emulator();
    const dir = sandbox();
    boxes.push(dir);
    keyring = await startKeyring(dir.dir);
    const env = userEnv({ ANKRA_BASE_URL: emu.baseUrl, ANKRA_CA_FILE: emu.caFile, ...keyring.env });
    delete env.ANKRA_CREDENTIAL_STORE;
    const token = emu.tokens[EMAIL.alice] ?? '';
    const r = await runProgram(installedBin, ['login', '--with-token'], { env, input: token });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`Logged in to ${emu.baseUrl} as ${EMAIL.alice} with an API token (kept in the OS keychain)\n`);
    expect(JSON.parse((await keyring.get('ankra', `default@${emu.baseUrl}`)) ?? 'null')).toEqual({ kind: 'api_token', token });
    expect(existsSync(join(env.XDG_CONFIG_HOME ?? '', 'ankra', 'credentials.json'))).toBe(false);
    // another process of the installed copy reads it back
    const list = await runProgram(installedBin, ['cluster', 'list', '-o', 'json'], { env });
    expect(list.code, list.stderr).toBe(0);
  });
});
