/**
 * Entry point. `ankra cluster kube-token …` (kubectl's exec credential plugin) goes to a
 * fast path that loads only node built-ins and small project modules; everything else
 * loads the full CLI. Keep this file tiny: it runs on every kubectl call.
 */

import { isKubeToken } from './main-dispatch';

// Output is written synchronously, so exiting at once loses nothing, and a hung keychain call
// or a lingering socket cannot keep the process (and kubectl waiting on it) alive.
const argv = process.argv.slice(2);
if (isKubeToken(argv)) {
  const { kubeToken } = await import('./fastpath/kube-token');
  process.exit(await kubeToken(argv, process.env));
} else {
  const { main } = await import('./cli');
  process.exit(await main(argv));
}
