/**
 * `ankra cluster access revoke EMAIL|GRANT_ID` and `revoke --all`: take access away. Tokens
 * minted under a revoked grant stop working at once.
 */
import type { Grant } from '../../api/types';
import { looksLikeId } from '../../api/types';
import type { Context } from '../../context';
import { CancelledError, NotFoundError, UsageError } from '../../errors';
import { describeGrant } from './grant';

export interface Options {
  target?: string;
  cluster?: string;
  all: boolean;
  yes: boolean;
}

export async function run(ctx: Context, opts: Options): Promise<number> {
  if (opts.all && opts.target) throw new UsageError('give either an email / grant id or --all, not both');
  if (!opts.all && !opts.target) throw new UsageError('nothing to revoke', { hint: 'pass an email, a grant id, or --all' });
  const cluster = await ctx.cluster(opts.cluster);
  const api = await ctx.api();

  if (opts.all) {
    if (!opts.yes) {
      if (!ctx.out.interactive) {
        throw new CancelledError(`refusing to revoke every grant on ${cluster.name} without confirmation`, { hint: 'pass --yes' });
      }
      const ok = await ctx.out.confirm(`Revoke every grant on ${cluster.name}? Everyone loses kubectl access at once.`);
      if (!ok) throw new CancelledError('nothing revoked');
    }
    const revoked = await api.revokeAll(cluster.id, { cluster: cluster.name });
    ctx.out.success(`Revoked ${revoked} grant${revoked === 1 ? '' : 's'} on ${cluster.name}`);
    // The API's own answer for revoke-all: a count.
    if (ctx.out.format !== 'table') await ctx.out.data({ revoked }, undefined);
    return 0;
  }

  const target = opts.target ?? '';
  if (looksLikeId(target)) {
    await api.deleteGrant(cluster.id, target, { cluster: cluster.name });
    ctx.out.success(`Revoked grant ${target} on ${cluster.name}`);
    if (ctx.out.format !== 'table') await ctx.out.data({ revoked: 1, grant_ids: [target] }, undefined);
    return 0;
  }
  const email = target.toLowerCase();
  const doomed: Grant[] = (await api.grants(cluster.id, { cluster: cluster.name })).filter((g) => (g.user_email ?? '').toLowerCase() === email);
  if (doomed.length === 0) {
    throw new NotFoundError(`${target} has no grants on ${cluster.name}`, { hint: `run \`ankra cluster access list --cluster ${cluster.name}\`` });
  }
  for (const g of doomed) {
    await api.deleteGrant(cluster.id, g.id, { cluster: cluster.name });
    ctx.out.success(`Revoked ${describeGrant(g, cluster.name)} from ${g.user_email ?? target}`);
  }
  if (ctx.out.format !== 'table') await ctx.out.data({ revoked: doomed.length, grant_ids: doomed.map((g) => g.id) }, undefined);
  return 0;
}
