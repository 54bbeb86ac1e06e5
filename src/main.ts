/**
 * Entry point. argv is parsed once (src/main-dispatch.ts):
 * - `ankra cluster kube-token …` (kubectl's exec credential plugin): the cache answers from a
 *   leaf module that loads only node built-ins and small project modules
 *   (src/fastpath/kube-token.ts); a miss continues in the slow path (src/exec/mint.ts);
 * - the plugin's detached check of a cached token (src/exec/check.ts);
 * - `--version` alone, answered here;
 * - anything else: the full CLI (src/cli/run.ts), which also explains bad plugin arguments.
 * Nothing imports back: the fast path never imports the slow path or the CLI, and the slow
 * path never imports this file, the fast path's entry or the CLI.
 *
 * Keep this file tiny: it runs on every kubectl call. It is built as CommonJS
 * (dist/cli/main.cjs): starting Node's ES module loader costs ~5 ms that a cache hit does
 * not need; the rest is dist/cli/cli.cjs, required only when needed.
 */
import { route } from './main-dispatch';
import { serveFromCache } from './fastpath/kube-token';
import { reportError } from './ui/report';
import { writeStderr, writeStdout } from './ui/stdio';
import { versionLine } from './version';

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const r = route(argv);
  if (r.kind === 'kube-token') {
    // A person ran it by hand: the token is a secret, and kubectl runs this for them. kubectl
    // always sets KUBERNETES_EXEC_INFO: then node:tty (which loads node:net, ~2 ms) is spared.
    if (!env.KUBERNETES_EXEC_INFO && (require('node:tty') as typeof import('node:tty')).isatty(1)) writeStderr('ankra: warning: this prints a secret for kubectl; you do not need to run it yourself\n');
    const answered = await serveFromCache(r.args, env);
    if (answered !== undefined) return answered;
    return (await import('./exec/mint')).runPlugin(r.args, env);
  }
  if (r.kind === 'version') {
    writeStdout(`${versionLine()}\n`);
    return 0;
  }
  if (r.kind === 'check') return (await import('./exec/check')).runCheck(r.dir, r.key, r.caFile, env);
  return (await import('./cli/run')).main(argv);
}

// Output is written synchronously, so exiting at once loses nothing, and a hung keychain call
// or a lingering socket cannot keep the process (and kubectl waiting on it) alive.
void main(process.argv.slice(2), process.env)
  .catch((err: unknown) => reportError(err, { debug: process.argv.includes('--debug') }) || 1)
  .then((code) => process.exit(code));
