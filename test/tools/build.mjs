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

// The CLI is two builds. dist/cli/main.cjs is the entry kubectl runs on every call: one
// CommonJS file holding src/main.ts and the exec plugin's cache hit (a hit loads no other
// module and never starts the ES module loader). Its three dynamic imports (the plugin's slow
// path, its background check, the full CLI) are the entries of dist/cli/lib/, which is
// everything else, split into chunks so each command loads only what it uses.
const LIB_ENTRIES = { cli: 'src/cli.ts', mint: 'src/exec/mint.ts', check: 'src/exec/check.ts' };
const MAIN_IMPORTS = { './cli': './lib/cli.js', './exec/mint': './lib/mint.js', './exec/check': './lib/check.js' };
const mainImports = {
  name: 'ankra-main-imports',
  setup(b) {
    b.onResolve({ filter: /^\.\/(cli|exec\/mint|exec\/check)$/ }, (args) =>
      args.importer === join(root, 'src', 'main.ts') ? { path: MAIN_IMPORTS[args.path], external: true } : undefined,
    );
  },
};

if (want('cli')) {
  if (clean) rmSync(join(root, 'dist', 'cli'), { recursive: true, force: true });
  await build({ ...common, format: 'cjs', splitting: false, entryPoints: ['src/main.ts'], outfile: 'dist/cli/main.cjs', plugins: [mainImports] });
  await build({ ...common, entryPoints: LIB_ENTRIES, outdir: 'dist/cli/lib' });
}

if (want('emulator') && existsSync(join(root, 'fixtures', 'emulator', 'main.ts'))) {
  if (clean) rmSync(join(root, 'dist', 'emulator'), { recursive: true, force: true });
  const entryPoints = { main: 'fixtures/emulator/main.ts' };
  if (existsSync(join(root, 'fixtures', 'demo', 'demo.ts'))) entryPoints.demo = 'fixtures/demo/demo.ts';
  await build({ ...common, entryPoints, outdir: 'dist/emulator' });
}
