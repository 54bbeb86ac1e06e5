// Builds the shipped CLI (dist/cli), its man page, and the local emulator and demo
// (dist/emulator) with esbuild.
//   node test/tools/build.mjs [cli] [emulator] [--clean]
//
// The CLI is three kinds of file, all CommonJS (Node's ES module loader costs start-up
// time nothing here needs):
//   dist/cli/main.cjs       the entry kubectl runs on every call: the exec plugin's cache hit,
//                           node built-ins only; everything else is required from cli.cjs.
//   dist/cli/cli.cjs        all of ankra's other code, and commander: one instance of every
//                           module (errors are told apart by class).
//   dist/cli/vendor/*.cjs   the heavy libraries (undici, yaml, openid-client, ora, uqr),
//                           each bundled and minified alone and loaded on first use through
//                           src/core/vendor.ts with a V8 code cache.
// @napi-rs/keyring (a native binary) and @kubernetes/client-node (ES module, doctor only)
// stay in node_modules.
import { build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  logLevel: 'warning',
  legalComments: 'none',
  define: { __ANKRA_VERSION__: JSON.stringify(pkg.version) },
  absWorkingDir: root,
};

/** Libraries bundled into dist/cli/vendor/ and loaded lazily with a code cache. */
export const VENDOR = ['undici', 'yaml', 'openid-client', 'ora', 'uqr'];
/** Left in node_modules: native code, or an ES module only doctor loads. */
const EXTERNAL = ['@napi-rs/keyring', '@kubernetes/client-node'];

/**
 * In main.cjs: its dynamic imports (the plugin's slow path, its background check, the full
 * CLI) read from cli.cjs, never bundled twice, loaded with a V8 code cache (src/core/vendor.ts
 * `loadBundle`): no ES module loader, no export-name scan, no compile from scratch.
 */
const toCliBundle = {
  name: 'ankra-cli-bundle',
  setup(b) {
    b.onResolve({ filter: /^\.\/(cli\/run|exec\/mint|exec\/check)$/ }, (args) =>
      args.importer === join(root, 'src', 'main.ts') ? { path: 'cli.cjs', namespace: 'ankra-cli' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'ankra-cli' }, () => ({
      contents: [
        `import { loadBundle } from ${JSON.stringify(join(root, 'src', 'core', 'vendor.ts'))};`,
        "import { join } from 'node:path';",
        "const m = loadBundle(join(__dirname, 'cli.cjs'), 'cli');",
        'export const main = m.main, runPlugin = m.runPlugin, runCheck = m.runCheck;',
      ].join('\n'),
      loader: 'js',
      resolveDir: root,
    }));
  },
};

/**
 * In cli.cjs: src/core/esm.ts's `importPackage` is dist/cli/esm.cjs, a plain file whose
 * `import()` works (cli.cjs runs in a vm.Script, where `import()` is unavailable).
 */
const ESM_HELPER = "'use strict';\n// import() for dist/cli/cli.cjs (see src/core/esm.ts)\nmodule.exports = (specifier) => import(specifier);\n";
const esmHelper = {
  name: 'ankra-esm-helper',
  setup(b) {
    b.onResolve({ filter: /\/esm$/ }, (a) => (join(a.resolveDir, a.path) === join(root, 'src', 'core', 'esm') ? { path: 'esm', namespace: 'ankra-esm' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'ankra-esm' }, () => ({ contents: "export const importPackage = require('./esm.cjs');", loader: 'js' }));
    b.onResolve({ filter: /^\.\/esm\.cjs$/ }, (a) => ({ path: a.path, external: true }));
  },
};

/**
 * In cli.cjs: commander's `require('node:child_process')` (for executable subcommands, which
 * ankra has none of) loads on first use: at start-up it would cost every command, `--help`
 * and TAB completion included, child_process and net (~2 ms).
 */
const lazyChildProcessForCommander = {
  name: 'ankra-lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (a) => (/[\\/]node_modules[\\/]commander[\\/]/.test(a.importer) ? { path: 'child_process', namespace: 'ankra-lazy' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'ankra-lazy' }, () => ({
      contents: "let m; module.exports = new Proxy({}, { get: (_, k) => (m ??= require('node:child_process'))[k] });",
      loader: 'js',
    }));
  },
};

/**
 * In cli.cjs: `import … from 'undici'` reads from `loadVendor('undici')`: an ES module with
 * the library's own export names (listed from the built vendor bundle), so default and named
 * imports mean what they mean in the sources.
 */
const vendored = (exportsOf) => ({
  name: 'ankra-vendor',
  setup(b) {
    const filter = new RegExp(`^(${VENDOR.map((v) => v.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (a) => ({ path: a.path, namespace: 'ankra-vendor' }));
    b.onLoad({ filter: /.*/, namespace: 'ankra-vendor' }, (a) => {
      const names = exportsOf(a.path).filter((n) => n !== 'default' && n !== '__esModule' && /^[A-Za-z_$][\w$]*$/.test(n));
      return {
        contents: [
          `import { loadVendor } from ${JSON.stringify(join(root, 'src', 'core', 'vendor.ts'))};`,
          `const m = loadVendor(${JSON.stringify(a.path)});`,
          'export default m.__esModule ? m.default : m;',
          ...(names.length ? [`export const { ${names.join(', ')} } = m;`] : []),
        ].join('\n'),
        loader: 'js',
        resolveDir: root,
      };
    });
  },
});

if (want('cli')) {
  const out = join(root, 'dist', 'cli');
  if (clean) rmSync(out, { recursive: true, force: true });
  for (const name of VENDOR) {
    await build({ ...common, format: 'cjs', minify: true, legalComments: 'eof', entryPoints: { [name]: name }, outdir: 'dist/cli/vendor', external: EXTERNAL, outExtension: { '.js': '.cjs' } });
  }
  const requireBuilt = createRequire(join(out, 'vendor', 'x.cjs'));
  const exportsOf = (name) => Object.keys(requireBuilt(`./${name}.cjs`));
  // No import() left in main.cjs (a built-in's too): from CommonJS it starts the ES module loader.
  await build({ ...common, format: 'cjs', supported: { 'dynamic-import': false }, entryPoints: ['src/main.ts'], outfile: 'dist/cli/main.cjs', plugins: [toCliBundle], external: EXTERNAL });
  await build({ ...common, format: 'cjs', minify: true, entryPoints: ['src/cli/bundle.ts'], outfile: 'dist/cli/cli.cjs', plugins: [vendored(exportsOf), esmHelper, lazyChildProcessForCommander], external: EXTERNAL });
  writeFileSync(join(out, 'esm.cjs'), ESM_HELPER);
  // Every import() in cli.cjs goes through esm.cjs: one left would fail in the vm.Script.
  if (/\bimport\(/.test(readFileSync(join(out, 'cli.cjs'), 'utf8'))) throw new Error('dist/cli/cli.cjs calls import(): use importPackage (src/core/esm.ts)');
  // The man page, from the command tree of the CLI just built.
  const man = execFileSync(process.execPath, [join(out, 'main.cjs'), '__manpage'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  mkdirSync(join(root, 'dist', 'man'), { recursive: true });
  writeFileSync(join(root, 'dist', 'man', 'ankra.1'), man);
}

if (want('emulator') && existsSync(join(root, 'fixtures', 'emulator', 'main.ts'))) {
  if (clean) rmSync(join(root, 'dist', 'emulator'), { recursive: true, force: true });
  const entryPoints = { main: 'fixtures/emulator/main.ts' };
  if (existsSync(join(root, 'fixtures', 'demo', 'demo.ts'))) entryPoints.demo = 'fixtures/demo/demo.ts';
  await build({ ...common, format: 'esm', packages: 'external', splitting: true, chunkNames: 'chunks/[name]-[hash]', entryPoints, outdir: 'dist/emulator' });
}
