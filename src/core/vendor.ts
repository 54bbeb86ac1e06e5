/**
 * Loading the third-party libraries the build bundles into `dist/cli/vendor/*.cjs` (undici,
 * yaml, openid-client, ora): minified, and compiled with a V8 code cache kept in
 * `$XDG_CACHE_HOME/ankra/v8/`, so a command that needs the HTTP stack does not pay for
 * parsing and compiling it again. The cache is keyed by ankra's version and the bundle's
 * size, written only into a 0700 directory this user owns, and harmless when missing,
 * stale or corrupt: V8 checks it against the source and rejects a mismatch, and the file is
 * then rewritten. The build maps `import … from 'undici'` to `loadVendor('undici')`, and
 * main.cjs's imports of the CLI to `loadBundle(…/cli.cjs)`; from sources (tests, the type
 * check) the packages and modules load as usual.
 */
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { Script } from 'node:vm';
import { VERSION } from '../version';

const loaded = new Map<string, unknown>();
const pending: Array<() => void> = [];
let exitHooked = false;

/** `$XDG_CACHE_HOME/ankra/v8` (or `~/.cache/…`) when it is a private directory of ours, else undefined. */
function cacheDir(env: NodeJS.ProcessEnv): string | undefined {
  const base = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : env.HOME && isAbsolute(env.HOME) ? join(env.HOME, '.cache') : undefined;
  if (!base) return undefined;
  const dir = join(base, 'ankra', 'v8');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory() || (st.mode & 0o022) !== 0 || (process.getuid && st.uid !== process.getuid())) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

function writeQuietly(path: string, data: Buffer): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch {
    // the cache is an optimisation
  }
}

/**
 * Removes the caches of `name` that other versions or builds left (`<name>-<version>-<size>.bin`
 * other than `keep`): each upgrade would otherwise leave a few hundred KB behind.
 */
function removeStale(dir: string, name: string, keep: string): void {
  try {
    for (const file of readdirSync(dir)) {
      if (file === keep || !file.startsWith(`${name}-`) || !/^\d+\.\d+\.\d+\S*-\d+\.bin$/.test(file.slice(name.length + 1))) continue;
      try {
        unlinkSync(join(dir, file));
      } catch {
        // another ankra removed it first
      }
    }
  } catch {
    // the cache is an optimisation
  }
}

/** The exports of `dist/cli/vendor/<name>.cjs`, compiled with the code cache. */
export function loadVendor(name: string, bundleDir: string = __dirname): unknown {
  return loadBundle(join(bundleDir, 'vendor', `${name}.cjs`), name);
}

/**
 * The exports of the CommonJS bundle `file`, compiled with the code cache kept as `name`
 * (main.cjs loads cli.cjs this way: `require` would compile it from scratch every time, and
 * `import()` would also scan it for export names).
 */
export function loadBundle(file: string, name: string): unknown {
  const hit = loaded.get(name);
  if (hit !== undefined) return hit;
  const source = readFileSync(file, 'utf8');
  const dir = cacheDir(process.env);
  const cacheName = `${name}-${VERSION}-${statSync(file).size}.bin`;
  const cacheFile = dir ? join(dir, cacheName) : undefined;
  let cachedData: Buffer | undefined;
  try {
    if (cacheFile) cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new Script(wrapper, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const fn = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: { exports: unknown }, f: string, d: string) => void;
  const mod = { exports: {} as unknown };
  fn.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
  loaded.set(name, mod.exports);
  if (cacheFile && (!cachedData || script.cachedDataRejected)) {
    // At exit, when the functions the command ran have been compiled too.
    pending.push(() => {
      writeQuietly(cacheFile, script.createCachedData());
      if (dir) removeStale(dir, name, cacheName);
    });
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', () => {
        for (const write of pending) write();
      });
    }
  }
  return mod.exports;
}
