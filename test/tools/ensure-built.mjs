// Makes `npm test`, `npm run demo`, `npm run emulator` and `npm run bench` work on a fresh
// clone: installs dependencies when they are missing and rebuilds when a source is newer
// than the build. Uses only node: built-ins, since node_modules may not exist yet.
import { existsSync, statSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  process.stderr.write('ankra: installing dependencies (npm ci)...\n');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
// `ensure-built.mjs cli` checks only the CLI (what the test suite's global setup needs);
// without arguments both the CLI and the emulator/demo.
const only = process.argv[2];
const outputs = [join(root, 'dist', 'cli', 'main.cjs')];
if (only !== 'cli') outputs.push(join(root, 'dist', 'emulator', 'main.js'));
const sourceDirs = only === 'cli' ? [join(root, 'src')] : [join(root, 'src'), join(root, 'fixtures')];
const sources = Math.max(...sourceDirs.map(newest), statSync(join(root, 'package.json')).mtimeMs);
const stale = outputs.some((o) => !existsSync(o) || statSync(o).mtimeMs < sources);
if (stale) run(process.execPath, [join(root, 'test', 'tools', 'build.mjs'), ...(only ? [only] : [])]);
