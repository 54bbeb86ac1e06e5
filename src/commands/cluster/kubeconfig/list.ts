/** `ankra cluster kubeconfig list`: the Ankra contexts in the kubeconfig (ours and the Go CLI's). */
import { defineCommand } from '../../../cli/spec';
import type { Column } from '../../../ui/output';
import type { AnkraContext } from '../../../kube/kubeconfig';
import { kubeconfigFlag } from '../../shared/flags';
import { rememberForCompletion } from '../../../completion/cache';

/** An Ankra context as -o json/yaml prints it (snake_case, like the API's objects). */
export interface ContextRecord {
  context: string;
  cluster: string;
  user: string;
  server: string | null;
  cluster_id: string;
  org_id: string | null;
  base_url: string | null;
  ca_file: string | null;
  namespace: string | null;
  current: boolean;
  file: string;
  command: string;
}

export function contextRecord(c: AnkraContext): ContextRecord {
  return {
    context: c.context,
    cluster: c.cluster,
    user: c.user,
    server: c.server ?? null,
    cluster_id: c.clusterId,
    org_id: c.orgId ?? null,
    base_url: c.baseUrl ?? null,
    ca_file: c.caFile ?? null,
    namespace: c.namespace ?? null,
    current: c.current,
    file: c.file,
    command: c.command,
  };
}

const COLUMNS: Column<ContextRecord>[] = [
  { header: 'Current', value: (c) => (c.current ? '*' : '') },
  { header: 'Context', value: (c) => c.context, flex: true },
  { header: 'Namespace', value: (c) => c.namespace ?? '-' },
  { header: 'Server', value: (c) => c.server ?? '-', flex: true },
  { header: 'File', value: (c) => c.file, flex: true },
  { header: 'Cluster ID', value: (c) => c.cluster_id, wide: true },
];

export default defineCommand({
  path: ['cluster', 'kubeconfig', 'list'],
  summary: 'list the Ankra contexts in your kubeconfig',
  args: {},
  flags: { kubeconfig: kubeconfigFlag },
  examples: ['ankra cluster kubeconfig list', 'ankra cluster kubeconfig list -o name'],
  async run(opts, deps) {
    const kube = await import('../../../kube/kubeconfig');
    const loc = kube.resolveKubeconfig({ explicit: opts.kubeconfig, env: deps.env, home: deps.paths.home });
    const contexts = (await kube.listAnkraContexts(loc)).map(contextRecord);
    rememberForCompletion(deps.paths.cacheDir, deps.target.baseUrl, '', 'contexts', contexts.map((c) => c.context));
    await deps.out.data(contexts, { columns: COLUMNS, name: (c) => c.context, empty: 'no Ankra contexts; add one with `ankra cluster kubeconfig add CLUSTER`' });
    return 0;
  },
});
