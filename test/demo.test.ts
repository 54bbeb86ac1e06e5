// `npm run demo` tells the whole story against the emulator and exits 0 only if every step
// did what the story says: run it as a user would (the built demo, a clean environment).
import { describe, expect, it } from 'vitest';
import { ROOT, runProgram } from './helpers/cli';
import { SKIP_KUBECTL } from './helpers/kubectl';
import { ensureEmulatorBuilt } from './helpers/emulator';

describe.skipIf(SKIP_KUBECTL)('npm run demo', () => {
  it('runs the Cluster Access story end to end and exits 0', async () => {
    await ensureEmulatorBuilt();
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' };
    const r = await runProgram('npm', ['run', '-s', 'demo'], { env, cwd: ROOT, timeoutMs: 120_000 });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const step of [
      '$ ankra login --no-browser',
      '$ ankra cluster access grant alice@acme.test --cluster staging --role view --namespace team-a --wait',
      '$ ankra cluster kubeconfig add staging --namespace team-a --use',
      '$ kubectl get pods -n team-a',
      '$ kubectl get pods -n kube-system',
      '$ ankra cluster access revoke alice@acme.test --cluster staging',
      'ankra: you have no access grant on cluster',
      '✓ The story held',
    ]) {
      expect(r.stdout).toContain(step);
    }
  }, 150_000);
});
