/**
 * `ankra doctor [CLUSTER]`: walks every link from Ankra to kubectl and stops at the first
 * broken one, saying what is wrong and the command that fixes it. Started from a kubectl
 * context (the current one, or --context), it uses exactly what that context's exec entry
 * pins: server, organisation, CA. Only the API's token lane is used: a minted token is the
 * proof of access. Exit 0 when every check passes, else the exit code of the failure.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { defineCommand, flag } from '../cli/spec';
import type { ClusterTarget, MintedToken } from '../api/ankra';
import type { Cluster, Grant } from '../api/types';
import { Deps } from '../deps';
import { AccessUnavailableError, AnkraError, Exit, NoGrantError, NotFoundError, exitCodeOf, messageOf, shellWord, type ExitCode } from '../errors';
import type { AnkraContext, KubeconfigLocation } from '../kube/kubeconfig';
import { orgLabel } from '../lookup/organisations';
import { clusterArg, clusterFlag, kubeconfigFlag } from './shared/flags';
import { otherOrgsWithAccess } from './shared/other-orgs';
import { cacheMinted } from './shared/token';
import { findOnPath } from '../core/fsutil';

export type CheckStatus = 'ok' | 'fail' | 'skip';

export interface CheckResult {
  check: string;
  status: CheckStatus;
  /** One line: what was found. */
  detail: string;
  /** The next command to run, when it failed. */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  server: string;
  organisation: string | null;
  cluster: string | null;
  context: string | null;
  checks: CheckResult[];
}

export const CHECKS = ['server', 'login', 'organisation', 'cluster', 'cached-token', 'cluster-access', 'grant', 'token', 'kubeconfig', 'kubernetes', 'namespace', 'permissions'] as const;
type CheckName = (typeof CHECKS)[number];

/** A failed check: the message is the finding, the hint the fix. */
class Broken extends AnkraError {}
const broken = (detail: string, fix: string, code: ExitCode = Exit.FAILURE) => new Broken(detail, code, { hint: fix });

/** Runs checks in order, recording each; the first failure stops the rest. */
class Report {
  readonly results: CheckResult[] = [];
  exit: ExitCode = Exit.OK;

  constructor(private readonly deps: Deps) {}

  async check<T>(name: CheckName, fn: () => Promise<[detail: string, value: T]>): Promise<T> {
    try {
      const [detail, value] = await fn();
      this.add({ check: name, status: 'ok', detail });
      return value;
    } catch (err) {
      this.exit = exitCodeOf(err) || Exit.FAILURE;
      const detail = err instanceof AnkraError ? err.message : messageOf(err);
      const fix = err instanceof AnkraError ? err.hint : undefined;
      this.add({ check: name, status: 'fail', detail, ...(fix ? { fix } : {}) });
      if (this.deps.out.debugEnabled && err instanceof Error) this.deps.debug(err.stack ?? String(err));
      throw new Stop();
    }
  }

  skipRest(): void {
    for (const name of CHECKS.slice(this.results.length)) this.add({ check: name, status: 'skip', detail: 'not checked (an earlier check failed)' });
  }

  private add(r: CheckResult): void {
    this.results.push(r);
    if (this.deps.out.machine) return;
    this.deps.out.check(r.status, `${r.check.padEnd(15)} ${r.detail}`);
    if (r.fix) this.deps.out.print(`  fix: ${r.fix}`);
  }
}

class Stop extends Error {}

export default defineCommand({
  path: ['doctor'],
  summary: 'check every link from Ankra to kubectl and say how to fix the first broken one',
  args: { cluster: clusterArg },
  flags: {
    cluster: clusterFlag,
    context: flag.string('context', 'check this kubectl context (default: the current one, when it is an Ankra context)'),
    kubeconfig: kubeconfigFlag,
  },
  examples: ['ankra doctor', 'ankra doctor staging', 'ankra doctor --context ankra-globex-staging', 'ankra doctor -o json | jq ".checks[] | select(.status == \\"fail\\")"'],
  async run(opts, deps) {
    const kube = await import('../kube/kubeconfig');
    const loc = kube.resolveKubeconfig({ explicit: opts.kubeconfig, env: deps.env, home: deps.paths.home });
    const start = await startingPoint(deps, loc, opts.cluster, opts.context);
    const d = start.deps;
    const report = new Report(d);
    let cluster: Cluster | undefined;
    try {
      await report.check('server', async () => {
        const status = await (await d.anonymousApi()).probe();
        const via = d.target.baseUrl.startsWith('https:') ? 'verified TLS' : 'plain http (loopback)';
        return [`${d.target.baseUrl} answers over ${via}${status >= 500 ? ` (with ${status})` : ''}`, undefined];
      });
      await report.check('login', async () => {
        const creds = d.credentials();
        if (!creds) throw broken(`not logged in to ${d.target.baseUrl}`, 'run `ankra login` (in CI, set ANKRA_API_TOKEN)', Exit.AUTH);
        await creds.bearer();
        const orgs = await d.organisations.list();
        return [`${creds.source.label}; member of ${orgs.length} organisation${orgs.length === 1 ? '' : 's'}`, undefined];
      });
      const org = await report.check('organisation', async () => {
        const chosen = await d.organisations.chosenId();
        const found = await d.organisations.effective();
        if (chosen && !(await d.organisations.list()).some((o) => o.organisation_id === chosen)) {
          throw broken(`you are not a member of organisation ${d.target.org ?? chosen}`, 'run `ankra org list` and pass --org', Exit.AUTH);
        }
        if (!found) throw broken('you belong to no organisation', 'ask an admin to invite you to their organisation', Exit.AUTH);
        return [`${orgLabel(found)}${found.name && found.slug && found.name !== found.slug ? ` (${found.name})` : ''}${chosen ? '' : ', your current one'}${start.from ? ` (pinned by ${start.from})` : ''}`, found];
      });
      cluster = await report.check('cluster', async () => {
        let ref;
        try {
          ref = await d.clusters.resolve(start.cluster);
        } catch (err) {
          if (err instanceof AnkraError && err.exitCode === Exit.USAGE) throw broken('no cluster to check', 'name one (`ankra doctor staging`), or run `ankra cluster select NAME`', Exit.USAGE);
          throw err;
        }
        const c = await ref.record();
        if (c.state === 'offline') {
          throw broken(`${c.name} is offline: its Ankra agent is disconnected; kubectl will fail until it reconnects`, "check the cluster's Ankra agent (it must be able to reach Ankra), then run `ankra doctor` again", Exit.TIMEOUT);
        }
        return [`${c.name} (${c.id})${c.state ? `, ${c.state}` : ''}${c.kind ? `, ${c.kind}` : ''}`, c];
      });
      const target: ClusterTarget = { id: cluster.id, label: cluster.name };
      await report.check('cached-token', async () => {
        // The token kubectl's next call would be served (the plugin's cache key for this
        // context): a dead one (a revoked grant) is dropped here, not left to fail kubectl.
        const identity = d.resolved.source?.identity;
        if (!identity) return ['none (no login to cache one for)', undefined];
        const { checkCachedToken } = await import('../exec/check');
        const state = await checkCachedToken(d.paths, { baseUrl: d.target.baseUrl, org: org.organisation_id, cluster: target.id, identity }, { env: d.env, caFile: d.flags.caFile, debug: (line) => d.debug(line) });
        switch (state) {
          case 'none':
            return ["none: kubectl's next call asks Ankra for one", undefined];
          case 'alive':
            return ['the cluster accepts the Kubernetes token kubectl is served', undefined];
          case 'dead':
            return ["the cluster refused the cached Kubernetes token (access revoked or changed in Ankra): dropped it, so kubectl's next call gets a new one", undefined];
          default:
            return ['the cluster could not be asked about the cached Kubernetes token (it is checked again on use)', undefined];
        }
      });
      const api = await d.api();
      const mint = await api.mintToken(target).then(
        (m): { minted: MintedToken } => ({ minted: m }),
        (error: unknown) => ({ error }),
      );
      await report.check('cluster-access', async () => {
        if ('error' in mint && mint.error instanceof AccessUnavailableError) throw mint.error;
        return ['enabled', undefined];
      });
      const grants = await report.check('grant', async () => grantCheck(d, cluster as Cluster, org.role === 'admin', mint));
      const minted = await report.check('token', async () => {
        if ('error' in mint) throw mint.error;
        cacheMinted(d, { orgId: org.organisation_id, clusterId: target.id }, mint.minted);
        const mins = Math.round((mint.minted.expiresAtMs - d.now()) / 60_000);
        return [`Ankra mints a Kubernetes token (valid ${mins} min) for ${mint.minted.server}`, mint.minted];
      });
      const kc = await report.check('kubeconfig', async () => {
        const fix = `run \`ankra${start.from ? '' : d.flags.org ? ` --org ${shellWord(d.flags.org)}` : ''} cluster kubeconfig add ${shellWord(target.label)}\``;
        const mine = (await kube.listAnkraContexts(loc)).filter((k) => k.clusterId === target.id && (!k.orgId || k.orgId === org.organisation_id));
        const c = (start.context ? mine.find((k) => k.context === start.context) : undefined) ?? mine.find((k) => k.current) ?? mine[0];
        if (!c) throw broken(`no kubectl context for ${target.label} in ${loc.files.join(', ') || `KUBECONFIG (${JSON.stringify(loc.kubeconfigEnv ?? '')} names no file)`}`, fix);
        const runs = resolveCommand(c.command, d.env);
        const me = realpath(process.argv[1] ?? '');
        if (!runs) throw broken(`context ${c.context} runs \`${c.command}\`, which is not installed or not on PATH`, `${fix} (it writes a command that resolves here)`);
        if (me && runs !== me) throw broken(`context ${c.context} runs ${runs}, not this ankra (${me})`, `${fix} to point it at this ankra`);
        if (c.baseUrl && c.baseUrl !== d.target.baseUrl) throw broken(`context ${c.context} talks to ${c.baseUrl}, not ${d.target.baseUrl}`, fix);
        if (c.server && c.server !== minted.server) throw broken(`context ${c.context} points kubectl at ${c.server}, but Ankra serves this cluster at ${minted.server}`, fix);
        return [`context ${c.context}${c.current ? ' (current)' : ''} in ${c.file} runs this ankra`, c];
      });
      const { kubeClient, KubeClientError } = await import('../kube/client');
      const k8s = await kubeClient(loc, kc.context);
      const asKube = (err: unknown): never => {
        if (!(err instanceof KubeClientError)) throw err;
        const f = err.failure;
        if (f.tls) {
          throw broken(
            `kubectl would not trust the certificate of ${k8s.server ?? 'the cluster'} (${f.message})`,
            'add the context with the CA: `ankra --ca-file CA.pem cluster kubeconfig add CLUSTER` (NODE_EXTRA_CA_CERTS is not read by kubectl)',
          );
        }
        throw broken(`the Kubernetes API behind Ankra's proxy answered${f.status ? ` ${f.status}` : ''}: ${f.message}`, 'run `kubectl get --raw /version` to see what kubectl sees; `ankra doctor --debug` shows more');
      };
      await report.check('kubernetes', async () => [`the cluster's API answers through Ankra's proxy; you are ${await k8s.whoami().catch(asKube)}`, undefined]);
      const ns = kc.namespace ?? 'default';
      await report.check('namespace', async () => {
        if (!grants) return [`${ns} (your grant's scope is visible to organisation admins only)`, undefined];
        const applied = grants.filter((g) => g.reconcile_status === 'applied');
        if (applied.length === 0 || applied.some((g) => g.scope === 'cluster')) return [`${ns} (your grant covers the whole cluster)`, undefined];
        const allowed = applied.map((g) => g.namespace).filter((n): n is string => Boolean(n));
        if (!allowed.includes(ns)) {
          throw broken(`context ${kc.context} uses namespace ${ns}, but your grant is for ${allowed.join(', ')}`, `run \`kubectl config set-context ${shellWord(kc.context)} --namespace ${allowed[0]}\``);
        }
        return [`${ns} matches your grant`, undefined];
      });
      await report.check('permissions', async () => {
        if (!(await k8s.canI('list', 'pods', ns).catch(asKube))) {
          const pendingMaybe = grants ? '' : ' (a new grant may still be pending, or be for another namespace)';
          throw broken(`the cluster says you may not list pods in ${ns}${pendingMaybe}`, `ask an organisation admin to check your grant: \`ankra cluster access list ${shellWord(target.label)} --user ${shellWord((await d.organisations.me().catch(() => undefined))?.email ?? 'YOUR-EMAIL')}\``);
        }
        return [`you may list pods in ${ns} (SelfSubjectAccessReview)`, undefined];
      });
    } catch (err) {
      if (!(err instanceof Stop)) throw err;
      report.skipRest();
    } finally {
      if (start.deps !== deps) await start.deps.close();
    }
    const ctx = report.results.find((r) => r.check === 'kubeconfig' && r.status === 'ok') ? /context (\S+)/.exec(report.results.find((r) => r.check === 'kubeconfig')?.detail ?? '')?.[1] ?? null : null;
    const doc: DoctorReport = {
      ok: report.exit === Exit.OK,
      server: d.target.baseUrl,
      organisation: (await d.organisations.effective().catch(() => undefined).then((o) => (o ? orgLabel(o) : null))) ?? null,
      cluster: cluster?.name ?? null,
      context: ctx,
      checks: report.results,
    };
    if (d.out.machine) await d.out.data(doc, undefined);
    else if (doc.ok) d.out.print(`\nkubectl should work: kubectl${ctx ? ` --context ${shellWord(ctx)}` : ''} get pods`);
    return report.exit;
  },
});

/** What doctor starts from: a cluster given, else a kubectl context (with what it pins), else the selected one. */
async function startingPoint(deps: Deps, loc: KubeconfigLocation, given: string | undefined, context: string | undefined): Promise<{ deps: Deps; cluster: string | undefined; context?: string; from?: string }> {
  if (given && !context) return { deps, cluster: given };
  if (!context && deps.env.ANKRA_CLUSTER) return { deps, cluster: undefined };
  let contexts: AnkraContext[] = [];
  try {
    const kube = await import('../kube/kubeconfig');
    contexts = await kube.listAnkraContexts(loc);
  } catch (err) {
    if (context) throw err;
  }
  const c = context ? contexts.find((k) => k.context === context) : contexts.find((k) => k.current);
  if (context && !c) throw new NotFoundError(`no Ankra context ${JSON.stringify(context)} in ${loc.files.join(', ')}`, { hint: 'run `ankra cluster kubeconfig list`' });
  if (!c) return { deps, cluster: undefined };
  // Exactly what kubectl's plugin call will use: the entry's server, organisation and CA.
  const pinned = new Deps({ ...deps.flags, baseUrl: c.baseUrl ?? deps.flags.baseUrl, org: c.orgId ?? deps.flags.org, caFile: c.caFile ?? deps.flags.caFile }, deps.env, { output: deps.out, signal: deps.signal, now: deps.now });
  return { deps: pinned, cluster: c.clusterId, context: c.context, from: `kubectl context ${c.context}` };
}

/** The grant check, from the mint's answer; an admin also sees the grant's state. */
async function grantCheck(deps: Deps, cluster: Cluster, admin: boolean, mint: { minted: MintedToken } | { error: unknown }): Promise<[string, Grant[] | undefined]> {
  // A token is the API's only proof of access: another failure means it cannot be told.
  if ('error' in mint && !(mint.error instanceof NoGrantError)) throw mint.error;
  if ('error' in mint) {
    const me = (await deps.organisations.me().catch(() => undefined))?.email ?? deps.credentials()?.email();
    const elsewhere = await otherOrgsWithAccess(deps, cluster.name);
    const also = elsewhere.length ? `; you do have access to ${cluster.name} in ${elsewhere.join(', ')} (\`ankra --org ${shellWord(elsewhere[0] as string)} doctor ${shellWord(cluster.name)}\`)` : '';
    throw broken(`you have no access grant on ${cluster.name}${also}`, `ask an organisation admin to run \`ankra cluster access grant ${me ? shellWord(me) : 'YOUR-EMAIL'} --cluster ${shellWord(cluster.name)}\``, Exit.AUTH);
  }
  if (!admin) return ['you have a grant (Ankra mints tokens for you); its state is visible to organisation admins only', undefined];
  const email = (await deps.organisations.me().catch(() => undefined))?.email ?? deps.credentials()?.email();
  if (!email) return ['you have a grant', undefined];
  const { grantsOn } = await import('./shared/grants');
  const mine = (await grantsOn(deps, { id: cluster.id, label: cluster.name })).filter((g) => g.user_email?.toLowerCase() === email.toLowerCase());
  const applied = mine.filter((g) => g.reconcile_status === 'applied');
  if (applied.length > 0) return [applied.map(describe).join('; '), mine];
  const g = mine[0];
  if (!g) return ['you have a grant', mine];
  switch (g.reconcile_status) {
    case 'pending':
      throw broken(`your grant (${describe(g)}) is still pending: Ankra has not applied it to the cluster yet`, `wait a moment (\`ankra cluster access wait ${g.id} --cluster ${shellWord(cluster.name)}\`), then run \`ankra doctor\` again`);
    case 'failed':
      throw broken(`your grant (${describe(g)}) failed to apply: ${g.reconcile_error ?? 'no reason given'}`, 'fix the cause, then replace it with `ankra cluster access grant … --replace`');
    case 'cluster_offline':
      throw broken(`${cluster.name} is offline: its Ankra agent is disconnected; your grant (${describe(g)}) applies when it reconnects`, "check the cluster's Ankra agent, then try again", Exit.TIMEOUT);
    default:
      return [describe(g), mine];
  }
}

function describe(g: Grant): string {
  return g.scope === 'namespace' ? `${g.role} in namespace ${g.namespace} (${g.reconcile_status})` : `${g.role} on the whole cluster (${g.reconcile_status})`;
}

function realpath(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

function resolveCommand(command: string, env: NodeJS.ProcessEnv): string | undefined {
  if (isAbsolute(command)) return realpath(command);
  const found = findOnPath(command, env);
  return found ? realpath(found) : undefined;
}
