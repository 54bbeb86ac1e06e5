// Kubeconfig files as people really have them, through the kubeconfig library: a single
// file bind-mounted into a container (rename refused with EBUSY, so it is rewritten in
// place), read-only files, KUBECONFIG naming no file, non-UTF-8 text, FIFOs and devices,
// and temp files left by writers killed with kill -9. Each failure leaves the file's bytes
// and mode as they were and nothing beside it. The real kubectl is asked what it makes of
// the same situations.
import { afterAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { AnkraError } from '../src/errors';
import { listAnkraContexts, removeAnkraEntries, resolveKubeconfig, upsertAnkraEntries } from '../src/kube/kubeconfig';
import type { EntrySpec, KubeconfigLocation } from '../src/kube/kubeconfig';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'kubeconfig');
const ORIGINAL = readFileSync(join(FIXTURES, 'kubectl-style.yaml'));
const root = mkdtempSync(join(tmpdir(), 'ankra-kubeconfig-files-'));
let dirs = 0;
const scratch = () => mkdtempSync(join(root, `${dirs++}-`));
const only = (path: string): KubeconfigLocation => ({ files: [path], explicit: true });
const run = promisify(execFile);

const PROD_ID = '11111111-aaaa-4bbb-8ccc-000000000001';
const CA_DATA = Buffer.from(`-----BEGIN CERTIFICATE-----\n${'MIIB'.repeat(900)}\n-----END CERTIFICATE-----\n`).toString('base64');
const prod = (extra: Partial<EntrySpec> = {}): EntrySpec => ({
  clusterId: PROD_ID,
  clusterName: 'Prod',
  server: `https://platform.ankra.app/api/v1/clusters/${PROD_ID}/k8s`,
  exec: { command: 'ankra', orgId: 'org-1' },
  ...extra,
});

/** The error an operation fails with (it must fail). */
async function failure(op: Promise<unknown>): Promise<AnkraError> {
  const err = await op.then(
    () => {
      throw new Error('expected the operation to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AnkraError);
  return err as AnkraError;
}

/** A file's bytes, mode, owner and inode, to show that a refused write changed none of them. */
function snapshot(path: string) {
  const s = statSync(path);
  return { bytes: readFileSync(path).toString('base64'), mode: s.mode, uid: s.uid, gid: s.gid, ino: s.ino };
}

// ---------------------------------------------------------------------------------------
// A single file bind-mounted into a container: `docker run -v ~/.kube/config:/root/.kube/config`.

const mounts: string[] = [];
async function mount(args: string[], at: string): Promise<void> {
  await run('mount', [...args, at]);
  mounts.push(at);
}
afterAll(async () => {
  for (const at of mounts.reverse()) await run('umount', [at]).catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

/** Whether this process may bind-mount (root, and a kernel/sandbox that allows it). */
const bindMountRefusal = await (async () => {
  if (process.getuid?.() !== 0) return `mount --bind needs root (this is uid ${process.getuid?.()})`;
  const dir = mkdtempSync(join(tmpdir(), 'ankra-bind-probe-'));
  try {
    writeFileSync(join(dir, 'a'), '');
    writeFileSync(join(dir, 'b'), '');
    await run('mount', ['--bind', join(dir, 'a'), join(dir, 'b')]);
    await run('umount', [join(dir, 'b')]);
    return undefined;
  } catch (err) {
    return `mount --bind is not permitted here: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();
if (bindMountRefusal) process.stderr.write(`kubeconfig-files: bind-mount tests skipped: ${bindMountRefusal}\n`);

/** The host's kubeconfig, and the path the "container" sees it at (a bind mount of that one file). */
async function bindMounted(content: Buffer, mode = 0o600): Promise<{ host: string; inside: string; dir: string }> {
  const base = scratch();
  const host = join(base, 'host', 'config');
  const dir = join(base, 'container', '.kube');
  mkdirSync(dirname(host));
  mkdirSync(dir, { recursive: true });
  writeFileSync(host, content, { mode });
  chmodSync(host, mode);
  const inside = join(dir, 'config');
  writeFileSync(inside, '');
  await mount(['--bind', host], inside);
  return { host, inside, dir };
}

describe.skipIf(bindMountRefusal !== undefined)('a bind-mounted kubeconfig (rename refused with EBUSY)', () => {
  it('is rewritten in place under the lock: same inode, mode and owner, the host file changes, nothing left beside it', async () => {
    const { host, inside, dir } = await bindMounted(ORIGINAL, 0o640);
    // rename onto the mount point really is refused
    writeFileSync(join(dir, 'probe'), '');
    expect(() => renameSync(join(dir, 'probe'), inside)).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    rmSync(join(dir, 'probe'));

    const before = snapshot(inside);
    const added = await upsertAnkraEntries(only(inside), [prod({ caData: CA_DATA })], { use: PROD_ID });
    expect(added.writes).toEqual([{ file: inside, method: 'in-place', renameRefused: 'EBUSY', edit: 'splice' }]);
    // the same result as an ordinary replace of an unmounted copy
    const copy = join(scratch(), 'config');
    writeFileSync(copy, ORIGINAL);
    const ordinary = await upsertAnkraEntries(only(copy), [prod({ caData: CA_DATA })], { use: PROD_ID });
    expect(ordinary.writes).toEqual([{ file: copy, method: 'rename', edit: 'splice' }]);
    expect(readFileSync(host, 'utf8')).toBe(readFileSync(copy, 'utf8'));
    const after = snapshot(inside);
    expect([after.ino, after.mode, after.uid, after.gid]).toEqual([before.ino, before.mode, before.uid, before.gid]);
    expect(readdirSync(dir)).toEqual(['config']);
    const { stdout } = await run('kubectl', ['config', 'current-context', '--kubeconfig', inside], { env: { PATH: process.env.PATH, HOME: root } });
    expect(stdout.trim()).toBe('ankra-prod');

    // removing makes the file shorter than it was: written in place, then cut to length
    const removed = await removeAnkraEntries(only(inside), { all: true });
    expect(removed.writes).toEqual([{ file: inside, method: 'in-place', renameRefused: 'EBUSY', edit: 'splice' }]);
    expect(readFileSync(host).toString()).toBe(ORIGINAL.toString().replace('current-context: minikube', 'current-context: ""'));
    expect(snapshot(inside).ino).toBe(before.ino);
    expect(readdirSync(dir)).toEqual(['config']);
  });

  it('a failed in-place write (the file system fills up) puts the old bytes back and says so in one line', async () => {
    // the host file lives on a 8 KiB tmpfs that holds it but not our entries as well
    const base = scratch();
    const small = join(base, 'small');
    mkdirSync(small);
    await mount(['-t', 'tmpfs', '-o', 'size=8k', 'tmpfs'], small);
    const host = join(small, 'config');
    const content = Buffer.concat([ORIGINAL, Buffer.from(`# ${'padding '.repeat(100)}\n`)]);
    writeFileSync(host, content, { mode: 0o600 });
    const dir = join(base, 'container');
    mkdirSync(dir);
    const inside = join(dir, 'config');
    writeFileSync(inside, '');
    await mount(['--bind', host], inside);

    const before = snapshot(inside);
    const err = await failure(upsertAnkraEntries(only(inside), [prod({ caData: CA_DATA })]));
    expect(err.exitCode).toBe(1);
    expect(err.message).toBe(`cannot write kubeconfig ${inside}: no space left on device (ENOSPC)`);
    expect(err.hint).toMatch(/^it is unchanged; /);
    expect(snapshot(inside)).toEqual(before);
    expect(readdirSync(dir)).toEqual(['config']);
  });
});

// ---------------------------------------------------------------------------------------

describe('a read-only kubeconfig', () => {
  it.each(['0444', '0400', '0555'])('mode %s is refused, also as root, and left exactly as it was', async (octal) => {
    const mode = parseInt(octal, 8);
    const dir = scratch();
    const path = join(dir, 'config');
    writeFileSync(path, ORIGINAL);
    await upsertAnkraEntries(only(path), [prod()]);
    chmodSync(path, mode);
    const before = snapshot(path);
    const other = prod({ clusterId: '22222222-aaaa-4bbb-8ccc-000000000002', clusterName: 'Dev' });
    for (const op of [() => upsertAnkraEntries(only(path), [other]), () => removeAnkraEntries(only(path), { clusterIds: [PROD_ID] })]) {
      const err = await failure(op());
      expect(err.exitCode).toBe(1);
      expect(err.message).toBe(`kubeconfig ${path} is read-only (mode ${octal})`);
      expect(err.hint).toBe(`ankra left it unchanged; make it writable (\`chmod u+w ${path}\`) or pass --kubeconfig with another file`);
    }
    expect(snapshot(path)).toEqual(before);
    expect(readdirSync(dir)).toEqual(['config']);
    // reading it is fine
    expect((await listAnkraContexts(only(path))).map((c) => c.context)).toEqual(['ankra-prod']);
  });

  it('a symlink to a read-only file is refused the same way; removing nothing writes nothing', async () => {
    const dir = scratch();
    const target = join(dir, 'real');
    writeFileSync(target, ORIGINAL, { mode: 0o444 });
    chmodSync(target, 0o444);
    const link = join(dir, 'config');
    symlinkSync('real', link);
    const err = await failure(upsertAnkraEntries(only(link), [prod()]));
    expect(err.message).toBe(`kubeconfig ${link} is read-only (mode 0444)`);
    expect(await removeAnkraEntries(only(link), { all: true })).toMatchObject({ removed: [], written: [] });
    expect(readFileSync(target)).toEqual(ORIGINAL);
    expect(readdirSync(dir).sort()).toEqual(['config', 'real']);
  });
});

// ---------------------------------------------------------------------------------------

describe('KUBECONFIG naming no file', () => {
  it.each([':', '::'])('KUBECONFIG=%j: kubectl reads nothing and cannot write; ankra lists nothing and refuses to write (exit 2)', async (value) => {
    const home = scratch();
    mkdirSync(join(home, '.kube'));
    const homeConfig = join(home, '.kube', 'config');
    writeFileSync(homeConfig, ORIGINAL);
    const env = { PATH: process.env.PATH, HOME: home, KUBECONFIG: value };

    // the real kubectl: no contexts, and set-context fails rather than writing ~/.kube/config
    const contexts = await run('kubectl', ['config', 'get-contexts', '-o', 'name'], { env });
    expect(contexts.stdout).toBe('');
    await expect(run('kubectl', ['config', 'set-context', 'x', '--cluster', 'y'], { env })).rejects.toMatchObject({ stderr: expect.stringContaining('no such file') });

    const loc = resolveKubeconfig({ env, home });
    expect(loc).toEqual({ files: [], explicit: false, kubeconfigEnv: value });
    expect(await listAnkraContexts(loc)).toEqual([]);
    for (const op of [() => upsertAnkraEntries(loc, [prod()]), () => removeAnkraEntries(loc, { all: true })]) {
      const err = await failure(op());
      expect(err.exitCode).toBe(2);
      expect(err.message).toBe(`KUBECONFIG is set to ${JSON.stringify(value)}, which names no file: kubectl reads no kubeconfig and cannot save one`);
      expect(err.hint).toBe('set KUBECONFIG to a file (e.g. `export KUBECONFIG=~/.kube/config`), unset it, or pass --kubeconfig PATH');
    }
    expect(readFileSync(homeConfig)).toEqual(ORIGINAL);
    expect(readdirSync(join(home, '.kube'))).toEqual(['config']);
  });

  it('empty entries around a file are skipped, as client-go skips them', async () => {
    const home = scratch();
    const file = join(home, 'ankra.yaml');
    const loc = resolveKubeconfig({ env: { KUBECONFIG: `:${file}:` }, home });
    expect(loc.files).toEqual([file]);
    await upsertAnkraEntries(loc, [prod()]);
    const { stdout } = await run('kubectl', ['config', 'get-contexts', '-o', 'name'], { env: { PATH: process.env.PATH, HOME: home, KUBECONFIG: `:${file}:` } });
    expect(stdout.trim()).toBe('ankra-prod');
  });
});

// ---------------------------------------------------------------------------------------

describe('a kubeconfig that is not UTF-8', () => {
  const latin1 = readFileSync(join(FIXTURES, 'invalid-latin1.yaml'));

  it('is refused in one line naming the byte and the line; the file keeps every byte (kubectl refuses it too)', async () => {
    const dir = scratch();
    const path = join(dir, 'config');
    writeFileSync(path, latin1);
    const before = snapshot(path);
    for (const op of [() => upsertAnkraEntries(only(path), [prod()]), () => removeAnkraEntries(only(path), { all: true }), () => listAnkraContexts(only(path))]) {
      const err = await failure(op());
      expect(err.exitCode).toBe(1);
      expect(err.message).toBe(`${path} is not a valid kubeconfig: it is not UTF-8 text (byte 0xe9 on line 1)`);
      expect(err.hint).toContain('convert it to UTF-8');
    }
    expect(snapshot(path)).toEqual(before);
    expect(readdirSync(dir)).toEqual(['config']);
    await expect(run('kubectl', ['config', 'get-contexts', '--kubeconfig', path], { env: { PATH: process.env.PATH, HOME: root } })).rejects.toMatchObject({
      stderr: expect.stringContaining('UTF-8'),
    });
  });

  it('a replacement character written as UTF-8 is valid text and is kept', async () => {
    const path = join(scratch(), 'config');
    const text = `# the old editor left a \uFFFD here\n${ORIGINAL.toString()}`;
    writeFileSync(path, text);
    await upsertAnkraEntries(only(path), [prod()]);
    await removeAnkraEntries(only(path), { all: true });
    expect(readFileSync(path, 'utf8')).toBe(text);
  });
});

// ---------------------------------------------------------------------------------------

/** Settles within `ms`, or fails the test: a read that blocks on a FIFO must not hang it. */
async function promptly<T>(op: Promise<T>, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms)));
  try {
    return await Promise.race([op, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a FIFO, a device or a directory as the kubeconfig', () => {
  it('a FIFO (directly or through a symlink) is refused at once, never opened for a blocking read', async () => {
    const dir = scratch();
    const fifo = join(dir, 'config');
    await run('mkfifo', [fifo]);
    const link = join(dir, 'link');
    symlinkSync('config', link);
    for (const path of [fifo, link]) {
      for (const op of [() => listAnkraContexts(only(path)), () => upsertAnkraEntries(only(path), [prod()]), () => removeAnkraEntries(only(path), { all: true })]) {
        const err = (await promptly(op().then(() => undefined, (e: unknown) => e))) as AnkraError;
        expect(err).toBeInstanceOf(AnkraError);
        expect(err.exitCode).toBe(1);
        expect(err.message).toBe(`${path} is not a valid kubeconfig: it is a named pipe (FIFO), not a regular file`);
      }
    }
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['config', 'link']);
  });

  it.each([
    ['/dev/null', 'a character device'],
    [FIXTURES, 'a directory'],
  ])('%s is refused: it is %s', async (path, kind) => {
    const err = await failure(promptly(upsertAnkraEntries(only(path), [prod()])));
    expect(err.message).toBe(`${path} is not a valid kubeconfig: it is ${kind}${kind === 'a directory' ? '' : ', not a regular file'}`);
  });
});

// ---------------------------------------------------------------------------------------

describe('temp files of writers killed with kill -9', () => {
  it("are removed by the next write when their writer's pid is gone; a live writer's, another file's and backups stay", async () => {
    const dir = scratch();
    const path = join(dir, 'config');
    writeFileSync(path, ORIGINAL);
    // a real dead pid, and a real live one
    const dead = await new Promise<number>((done) => {
      const child = spawn(process.execPath, ['-e', '0']);
      child.on('exit', () => done(child.pid!));
    });
    const live = spawn('sleep', ['30']);
    try {
      const leftovers = {
        deadTemp: `.config.ankra-${dead}-0badc0de.tmp`,
        liveTemp: `.config.ankra-${live.pid}-0badf00d.tmp`,
        otherFile: `.other.ankra-${dead}-12345678.tmp`,
        backup: `.config.ankra-${dead}-87654321.bak`,
      };
      for (const name of Object.values(leftovers)) writeFileSync(join(dir, name), 'half a kubeconfig');
      await upsertAnkraEntries(only(path), [prod()]);
      expect(readdirSync(dir).sort()).toEqual(['config', leftovers.liveTemp, leftovers.otherFile, leftovers.backup].sort());
      expect(readFileSync(path, 'utf8')).toContain('ankra-prod');
    } finally {
      live.kill();
    }
  });

  it('a writer killed for real mid-write leaves its temp file, and the next write clears it', async () => {
    const dir = scratch();
    const path = join(dir, 'config');
    writeFileSync(path, ORIGINAL);
    // a stand-in for a writer that created its temp file and was killed before the rename
    const script = `require('fs').writeFileSync(${JSON.stringify(dir)} + '/.config.ankra-' + process.pid + '-deadbeef.tmp', 'x'); setInterval(() => {}, 1000);`;
    const writer = spawn(process.execPath, ['-e', script]);
    const temp = `.config.ankra-${writer.pid}-deadbeef.tmp`;
    while (!existsSync(join(dir, temp))) await new Promise((r) => setTimeout(r, 10));
    // alive: kept
    await upsertAnkraEntries(only(path), [prod()]);
    expect(readdirSync(dir).sort()).toEqual([temp, 'config']);
    writer.kill('SIGKILL');
    await new Promise((done) => writer.on('exit', done));
    // dead: removed
    await removeAnkraEntries(only(path), { all: true });
    expect(readdirSync(dir)).toEqual(['config']);
    expect(readFileSync(path)).toEqual(ORIGINAL);
  });
});
