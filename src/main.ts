/**
 * Entry point. `ankra cluster kube-token …` (kubectl's exec credential plugin) goes to a
 * fast path that loads only node built-ins and small project modules; everything else
 * loads the full CLI. Keep this file tiny: it runs on every kubectl call. It is built as
 * CommonJS (dist/cli/main.cjs): starting Node's ES module loader costs ~5 ms that a cache
 * hit does not need; the rest of the CLI is ESM, imported only when needed.
 */
import { isKubeToken } from './main-dispatch';

const argv = process.argv.slice(2);
const done = isKubeToken(argv)
  ? import('./fastpath/kube-token').then(({ kubeToken }) => kubeToken(argv, process.env))
  : import('./cli/run').then(({ main }) => main(argv));

// Output is written synchronously, so exiting at once loses nothing, and a hung keychain call
// or a lingering socket cannot keep the process (and kubectl waiting on it) alive.
void done.then((code) => process.exit(code));
