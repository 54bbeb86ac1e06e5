// `npm run demo` tells the whole story against the emulator and exits 0 only if every step
// did what the story says: run it as a user would (a clean environment), with kubectl and,
// where kubectl is missing, with @kubernetes/client-node in its place.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runProgram } from './helpers/cli';
import { SKIP_KUBECTL } from './helpers/kubectl';
import { ensureEmulatorBuilt } from './helpers/emulator';

/** What the demo printed about itself: the emulator it used and the temp dir it removed. */
function leftovers(stdout: string): { port: number; dir: string } {
  const port = Number(/Ankra API at https:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1]);
  const dir = /\(emulator stopped; (.+) removed\)/.exec(stdout)?.[1] ?? '';
  return { port, dir };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('npm run demo', () => {
  it.skipIf(SKIP_KUBECTL)('runs the Cluster Access story end to end with kubectl and exits 0, leaving nothing behind', async () => {
    await ensureEmulatorBuilt();
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' };
    const r = await runProgram('npm', ['run', '-s', 'demo'], { env, cwd: ROOT, timeoutMs: 120_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const step of [
      '$ ankra login',
      'To log in to https://127.0.0.1:',
      'Logged in to https://127.0.0.1:',
      '$ ankra cluster access grant alice@acme.test --cluster staging --role view --namespace team-a --wait',
      '$ ankra cluster kubeconfig add staging --namespace team-a --use',
      '$ kubectl get pods -n team-a',
      '$ kubectl get pods -n kube-system',
      'Error from server (Forbidden)',
      '$ kubectl auth can-i list pods -n team-a\n    yes',
      '$ kubectl auth can-i get secrets -n team-a\n    no',
      '$ ankra cluster access revoke alice@acme.test --cluster staging',
      'ankra: you have no access grant on cluster staging',
      '$ ankra logout',
      'revoked its token',
      '✓ The story held',
    ]) {
      expect(r.stdout).toContain(step);
    }
    const { port, dir } = leftovers(r.stdout);
    expect(dir).not.toBe('');
    expect(existsSync(dir)).toBe(false);
    expect(await refused(port)).toBe(true);
  }, 150_000);

  it('without kubectl, says so and tells the story through @kubernetes/client-node', async () => {
    await ensureEmulatorBuilt();
    // A PATH with node, a shell and `script` (the demo's pseudo-terminal for `ankra login`): no kubectl.
    const bin = mkdtempSync(join(tmpdir(), 'ankra-demo-bin-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    for (const tool of ['sh', 'script', 'stty']) {
      const at = ['/usr/bin', '/bin'].map((d) => join(d, tool)).find((p) => existsSync(p));
      if (at) symlinkSync(at, join(bin, tool));
    }
    try {
      const r = await runProgram(process.execPath, [join(ROOT, 'dist', 'emulator', 'demo.js')], {
        env: { PATH: bin, HOME: process.env.HOME, NO_COLOR: '1' },
        cwd: ROOT,
        timeoutMs: 120_000,
      });
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('kubectl is not installed here: the Kubernetes steps use @kubernetes/client-node');
      expect(r.stdout).toContain('(client-node) list pods in team-a');
      expect(r.stdout).toContain('(client-node) can I list pods in team-a\n    yes');
      expect(r.stdout).toContain('✓ The story held');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  }, 150_000);
});
