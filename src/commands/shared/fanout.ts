/**
 * Doing one thing on many clusters: bounded concurrency (the API's per-user rate limits;
 * the transport already waits out a short Retry-After), a progress line on a terminal, and
 * every cluster's outcome kept, so a failure on one is reported instead of hidden.
 */
import type { Cluster } from '../../api/types';
import type { Deps } from '../../deps';
import { AccessUnavailableError, Exit, exitCodeOf, messageOf, AnkraError } from '../../errors';

export interface Outcome<T> {
  cluster: Cluster;
  value?: T;
  error?: unknown;
}

export const FANOUT_CONCURRENCY = 8;

export async function fanOut<T>(
  deps: Deps,
  clusters: readonly Cluster[],
  what: string,
  fn: (cluster: Cluster) => Promise<T>,
  limit = FANOUT_CONCURRENCY,
): Promise<Outcome<T>[]> {
  const out: Outcome<T>[] = new Array(clusters.length);
  let next = 0;
  let done = 0;
  const progress = clusters.length > limit && !deps.out.machine ? await deps.out.progress(`${what}: 0/${clusters.length} clusters`, { ttyOnly: true }) : undefined;
  const worker = async () => {
    while (next < clusters.length) {
      const i = next++;
      const cluster = clusters[i] as Cluster;
      try {
        out[i] = { cluster, value: await fn(cluster) };
      } catch (error) {
        if (deps.signal.aborted) throw error;
        out[i] = { cluster, error };
      }
      done++;
      progress?.update(`${what}: ${done}/${clusters.length} clusters`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, clusters.length) }, worker));
  } finally {
    progress?.stop();
  }
  return out;
}

/** Clusters that can hold grants (sandboxes cannot). */
export function accessCapable(clusters: readonly Cluster[]): Cluster[] {
  return clusters.filter((c) => c.kind !== 'sandbox');
}

/**
 * Says which clusters failed (one line each) and returns the exit code to end with: 0 when
 * none did. Clusters without Cluster Access are skipped quietly unless all are.
 */
export function reportFailures<T>(deps: Deps, outcomes: readonly Outcome<T>[], doing: string, opts: { summary?: boolean } = {}): number {
  const failed = outcomes.filter((o) => o.error !== undefined && !(o.error instanceof AccessUnavailableError));
  for (const f of failed) deps.out.warn(`${f.cluster.name}: could not ${doing}: ${messageOf(f.error)}`);
  if (failed.length === 0) {
    const off = outcomes.filter((o) => o.error instanceof AccessUnavailableError);
    if (off.length > 0 && off.length === outcomes.length) throw off[0]?.error;
    return Exit.OK;
  }
  if (failed.length === outcomes.length && failed[0]) {
    // Nothing worked: the first error says why (and carries its own exit code).
    const first = failed[0].error;
    if (failed.every((f) => exitCodeOf(f.error) === exitCodeOf(first))) throw first instanceof AnkraError ? first : new AnkraError(messageOf(first));
  }
  // (a caller that ends with its own line naming them asks for no summary)
  if (opts.summary !== false) deps.out.warn(`${failed.length} of ${outcomes.length} clusters failed: ${failed.map((f) => f.cluster.name).join(', ')}`);
  return Exit.FAILURE;
}
