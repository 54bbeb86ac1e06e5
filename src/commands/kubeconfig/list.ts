/** `ankra cluster kubeconfig list`: the Ankra contexts in the kubeconfig (ours and the Go CLI's). */
import type { Context } from '../../context';
import type { Column } from '../../ui/output';
import type { AnkraContext } from '../../kube/kubeconfig';

export interface Options {
  kubeconfig?: string;
}

const COLUMNS: Column<AnkraContext>[] = [
  { header: 'Current', value: (c) => (c.current ? '*' : '') },
  { header: 'Context', value: (c) => c.context },
  { header: 'Cluster ID', value: (c) => c.clusterId },
  { header: 'Namespace', value: (c) => c.namespace ?? '-' },
  { header: 'Server', value: (c) => c.server ?? '-' },
  { header: 'File', value: (c) => c.file },
];

export async function run(ctx: Context, opts: Options): Promise<number> {
  const kube = await import('../../kube/kubeconfig');
  const loc = kube.resolveKubeconfig({ explicit: opts.kubeconfig, env: ctx.env, home: ctx.paths.home });
  const contexts = await kube.listAnkraContexts(loc);
  await ctx.out.data(contexts, COLUMNS, { empty: 'no Ankra contexts; add one with `ankra cluster kubeconfig add CLUSTER`' });
  return 0;
}
