/**
 * Waiting until Ankra has applied grants to a cluster's RBAC: `grant --wait`,
 * `access wait`, `apply --wait`. Polls the cluster's grant list with back-off; a spinner on
 * a terminal, else a line when a state changes and at most every 30 s otherwise. Ctrl-C
 * stops the waiting, not the grant: it says so and how to resume.
 */
import type { ClusterTarget } from '../../api/ankra';
import type { Grant } from '../../api/types';
import type { Deps } from '../../deps';
import { AnkraError, CancelledError, NotFoundError, WaitTimeoutError, shellWord } from '../../errors';
import { seconds, sleep } from '../../core/time';
import { describeGrant, grantee, grantsOn } from './grants';

export interface WaitResult {
  /** Each grant as last seen. */
  grants: Grant[];
  /** Why waiting ended without every grant applied (exit 1 failed, 5 offline/timeout). */
  outcome?: AnkraError;
}


function summary(grants: Grant[]): string {
  const counts = new Map<string, number>();
  for (const g of grants) counts.set(g.reconcile_status, (counts.get(g.reconcile_status) ?? 0) + 1);
  return [...counts].map(([s, n]) => (grants.length === 1 ? s : `${n} ${s}`)).join(', ');
}

export async function waitForGrants(deps: Deps, cluster: ClusterTarget, start: Grant[], timeoutMs: number): Promise<WaitResult> {
  const deadline = deps.now() + timeoutMs;
  const what = start.length === 1 && start[0] ? `${describeGrant(start[0], cluster.label)} for ${grantee(start[0])}` : `${start.length} grants on ${cluster.label}`;
  const resume = start.length === 1 && start[0] ? `ankra cluster access wait ${start[0].id} --cluster ${shellWord(cluster.label)}` : `ankra cluster access list ${shellWord(cluster.label)}`;
  const progress = await deps.out.progress(`Waiting for Ankra to apply ${what} (${summary(start)})`);
  let delay = 400;
  let current = start;
  try {
    for (;;) {
      const failed = current.filter((g) => g.reconcile_status === 'failed');
      const offline = current.filter((g) => g.reconcile_status === 'cluster_offline');
      if (current.every((g) => g.reconcile_status === 'applied')) {
        progress.succeed(`Applied ${what}`);
        return { grants: current };
      }
      if (failed.length > 0) {
        progress.stop();
        const first = failed[0] as Grant;
        return {
          grants: current,
          outcome: new AnkraError(`${failed.length === 1 ? `the grant (${describeGrant(first, cluster.label)} for ${grantee(first)})` : `${failed.length} grants`} failed to apply: ${first.reconcile_error ?? 'no reason given'}`, undefined, {
            hint: `fix the cause, then replace it: \`ankra cluster access grant ${shellWord(grantee(first))} --cluster ${shellWord(cluster.label)} --role ${first.role}${first.namespace ? ` --namespace ${first.namespace}` : ''} --replace --wait\``,
          }),
        };
      }
      if (offline.length > 0 && current.every((g) => g.reconcile_status === 'applied' || g.reconcile_status === 'cluster_offline')) {
        progress.stop();
        return {
          grants: current,
          outcome: new WaitTimeoutError(`cluster ${cluster.label} is offline (its Ankra agent is disconnected): the grant is applied when it reconnects`, {
            hint: `check later with \`${resume}\``,
          }),
        };
      }
      if (deps.now() >= deadline) {
        progress.stop();
        return {
          grants: current,
          outcome: new WaitTimeoutError(`timed out after ${seconds(timeoutMs)} waiting for Ankra to apply ${what} (still ${summary(current)})`, {
            hint: start.length === 1 ? `wait longer with \`${resume} --timeout 10m\`` : `check later with \`${resume}\``,
          }),
        };
      }
      await sleep(Math.min(delay, Math.max(0, deadline - deps.now())), deps.signal);
      delay = Math.min(delay * 1.5, 5000);
      const fresh = new Map((await grantsOn(deps, cluster)).map((g) => [g.id, g]));
      const gone = current.find((g) => !fresh.has(g.id));
      if (gone) throw new NotFoundError(`the grant ${gone.id} disappeared from ${cluster.label} while waiting (revoked?)`, { hint: `run \`ankra cluster access list ${shellWord(cluster.label)}\`` });
      current = current.map((g) => fresh.get(g.id) as Grant);
      progress.update(`Waiting for Ankra to apply ${what} (${summary(current)})`);
    }
  } catch (err) {
    progress.stop();
    if (err instanceof CancelledError) {
      throw new CancelledError(`stopped waiting; ${start.length === 1 ? 'the grant exists and is' : 'the grants exist and are'} still ${summary(current)} on ${cluster.label}`, {
        hint: `resume with \`${resume}\``,
      });
    }
    throw err;
  }
}
