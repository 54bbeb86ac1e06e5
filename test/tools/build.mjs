// Builds the shipped CLI (dist/cli) and the local emulator and demo (dist/emulator) with
// esbuild. Dependencies stay external: npm installs them beside the package. The CLI is
// split into chunks so that `ankra cluster kube-token` on a cache hit loads only its own
// small chunk.
//   node test/tools/build.mjs [cli] [emulator] [--clean]
import { build } from 'esbuild';
import { rmSync, existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const args = process.argv.slice(2);
const clean = args.includes('--clean');
const targets = args.filter((a) => !a.startsWith('--'));
const want = (t) => targets.length === 0 || targets.includes(t);

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  splitting: true,
  logLevel: 'warning',
  legalComments: 'none',
  define: { __ANKRA_VERSION__: JSON.stringify(pkg.version) },
  chunkNames: 'chunks/[name]-[hash]',
  absWorkingDir: root,
};

if (want('cli')) {
  if (clean) rmSync(join(root, 'dist', 'cli'), { recursive: true, force: true });
  await build({ ...common, entryPoints: { main: 'src/main.ts' }, outdir: 'dist/cli' });
}

if (want('emulator') && existsSync(join(root, 'fixtures', 'emulator', 'main.ts'))) {
  if (clean) rmSync(join(root, 'dist', 'emulator'), { recursive: true, force: true });
  const entryPoints = { main: 'fixtures/emulator/main.ts' };
  if (existsSync(join(root, 'fixtures', 'demo', 'demo.ts'))) entryPoints.demo = 'fixtures/demo/demo.ts';
  await build({ ...common, entryPoints, outdir: 'dist/emulator' });
}
