/**
 * `ankra cluster kube-token --cluster ID`: kubectl's exec credential plugin. kubectl runs it
 * through `bin/ankra`, whose entry answers it without loading this tree (src/main.ts); this
 * declaration gives it a place in `--help` (hidden), completion and the man page, and runs
 * the plugin when the entry hands over (flags only the full CLI understands).
 */
import { defineCommand } from '../../cli/spec';
import { clusterFlag } from '../shared/flags';

export default defineCommand({
  path: ['cluster', 'kube-token'],
  summary: 'print a short-lived Kubernetes token as an ExecCredential (run by kubectl, not by you)',
  hidden: true,
  args: {},
  flags: { cluster: clusterFlag },
  examples: ['ankra cluster kube-token --cluster 5f0c…   # written into kubeconfig by `ankra cluster kubeconfig add`'],
  async run(opts, deps) {
    if (deps.out.isTTY) deps.out.warn('this prints a secret for kubectl; you do not need to run it yourself');
    const { mintWithArgs } = await import('../../exec/mint');
    const f = deps.flags;
    return mintWithArgs({ baseUrl: f.baseUrl, org: f.org, token: f.token, caFile: f.caFile, debug: f.debug, cluster: opts.cluster }, deps.env);
  },
});
