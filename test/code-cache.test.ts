// The V8 code cache of the CLI bundle (src/core/vendor.ts), through the built binary: kept
// in $XDG_CACHE_HOME/ankra/v8 as a private file, named by version and bundle size, harmless
// when corrupt (V8 rejects it and it is written again), never kept in a directory others
// may write, and the caches older builds left are removed when a new one is written.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, ankra, sandbox, type Sandbox } from './helpers/cli';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const CACHE_NAME = `cli-${pkg.version}-${statSync(join(ROOT, 'dist', 'cli', 'cli.cjs')).size}.bin`;

let box: Sandbox;
let v8dir: string;
beforeEach(() => {
  box = sandbox();
  v8dir = join(box.home, '.cache', 'ankra', 'v8');
});
afterEach(() => box.cleanup());

async function help(): Promise<string> {
  const r = await ankra(['--help'], { env: box.env });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  return r.stdout;
}

describe('the code cache of the CLI bundle', () => {
  it('is written once, 0600 in a 0700 directory, and then used as it is', async () => {
    const first = await help();
    const file = join(v8dir, CACHE_NAME);
    expect(readdirSync(v8dir)).toEqual([CACHE_NAME]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(v8dir).mode & 0o777).toBe(0o700);
    const written = statSync(file).mtimeMs;
    const bytes = readFileSync(file);
    expect(await help()).toBe(first);
    expect(statSync(file).mtimeMs).toBe(written);
    expect(readFileSync(file).equals(bytes)).toBe(true);
  });

  it('a corrupt cache changes nothing the user sees, and is written again', async () => {
    const first = await help();
    const file = join(v8dir, CACHE_NAME);
    writeFileSync(file, Buffer.alloc(4096, 0x5a));
    expect(await help()).toBe(first);
    expect(readFileSync(file).equals(Buffer.alloc(4096, 0x5a))).toBe(false);
    expect(statSync(file).size).toBeGreaterThan(4096);
    expect(await help()).toBe(first);
  });

  it('removes the caches older builds left, and nothing else, when it writes its own', async () => {
    mkdirSync(v8dir, { recursive: true, mode: 0o700 });
    const stale = ['cli-0.0.9-123456.bin', `cli-${pkg.version}-1.bin`, 'cli-1.0.0-rc.1-42.bin'];
    const others = ['undici-0.0.9-999.bin', 'notes.txt', 'cli-notaversion.bin'];
    for (const f of [...stale, ...others]) writeFileSync(join(v8dir, f), 'x', { mode: 0o600 });
    await help();
    expect(readdirSync(v8dir).sort()).toEqual([CACHE_NAME, ...others].sort());
  });

  it('is not kept in a cache directory others may write', async () => {
    mkdirSync(v8dir, { recursive: true, mode: 0o700 });
    chmodSync(v8dir, 0o777);
    const out = await help();
    expect(readdirSync(v8dir)).toEqual([]);
    // And with no cache directory possible (a file in the way), the same help.
    writeFileSync(join(box.dir, 'a-file'), '');
    const none = await ankra(['--help'], { env: { ...box.env, XDG_CACHE_HOME: join(box.dir, 'a-file') } });
    expect([none.code, none.stderr]).toEqual([0, '']);
    expect(none.stdout).toBe(out);
    expect(statSync(join(box.dir, 'a-file')).isFile()).toBe(true);
  });
});
