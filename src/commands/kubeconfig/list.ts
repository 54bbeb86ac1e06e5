/** `ankra cluster kubeconfig list`: the Ankra contexts in the kubeconfig (ours and the Go CLI's). */
import type { Context } from '../../context';
import type { Column } from '../../ui/output';
import type { AnkraContext } from '../../kube/kubeconfig';

export interface Options {
  kubeconfig?: string;
}

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
  { header: 'Context', value: (c) => c.context },
  { header: 'Cluster ID', value: (c) => c.cluster_id },
  { header: 'Namespace', value: (c) => c.namespace ?? '-' },
  { header: 'Server', value: (c) => c.server ?? '-' },
  { header: 'File', value: (c) => c.file },
];

export async function run(ctx: Context, opts: Options): Promise<number> {
  const kube = await import('../../kube/kubeconfig');
  const loc = kube.resolveKubeconfig({ explicit: opts.kubeconfig, env: ctx.env, home: ctx.paths.home });
  const contexts = (await kube.listAnkraContexts(loc)).map(contextRecord);
  await ctx.out.data(contexts, COLUMNS, { empty: 'no Ankra contexts; add one with `ankra cluster kubeconfig add CLUSTER`' });
  return 0;
}
