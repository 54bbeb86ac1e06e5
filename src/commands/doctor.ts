/**
 * `ankra doctor`: why kubectl does (not) work. Walks the chain from the Ankra server to the
 * Kubernetes API behind Ankra's proxy and stops at the first broken link with its fix.
 * Every check reports ok / fail / skip with one line; `-o json` gives the same as data;
 * exit 0 only when every check passes, else the exit code of the first failure.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { rootCertificates } from 'node:tls';
import { accessUnavailable, callerGrants, type AnkraApi } from '../api/ankra';
import type { Capabilities, Grant } from '../api/types';
import type { ClusterRef, Context } from '../context';
import { AnkraError, Exit, NotFoundError, exitCodeOf, messageOf, oneLine, type ExitCode } from '../errors';
import type { AnkraContext } from '../kube/kubeconfig';
import { findOnPath } from './kubeconfig/exec-command';

export interface Options {
  cluster?: string;
  kubeconfig?: string;
}

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
  cluster: string | null;
  checks: CheckResult[];
}

/** A failed check: the message is the finding, the hint the fix. */
class Broken extends AnkraError {}

const broken = (detail: string, fix: string, code: ExitCode = Exit.FAILURE) => new Broken(detail, code, { hint: fix });

/** What the checks learn and pass on. */
interface State {
  api?: AnkraApi;
  cluster?: ClusterRef;
  clusterKind?: string;
  caps?: Capabilities;
  grants?: Grant[];
  kubeContext?: AnkraContext;
}

interface Check {
  name: string;
  run(ctx: Context, opts: Options, s: State): Promise<string>;
}

const CHECKS: Check[] = [
  {
    name: 'server',
    async run(ctx) {
      const d = await ctx.baseApi().oidcDiscovery().catch((err: unknown) => {
        // Reachable and TLS fine, but no discovery document: still a server answering.
        if (err instanceof AnkraError && /answered|malformed/.test(err.message)) return undefined;
        throw err;
      });
      return `${ctx.target.baseUrl} answers over ${ctx.target.baseUrl.startsWith('https:') ? 'verified TLS' : 'plain http (loopback)'}${d ? '' : ' (no OIDC discovery)'}`;
    },
  },
  {
    name: 'login',
    async run(ctx) {
      const creds = ctx.credentials();
      if (!creds) throw broken(`not logged in to ${ctx.target.baseUrl}`, 'run `ankra login` (in CI, set ANKRA_API_TOKEN)', Exit.AUTH);
      await creds.bearer(); // refreshes an expiring session, or says it expired
      const orgs = await ctx.organisations();
      const email = creds.email();
      const who = email ? `${email} (${creds.source.label})` : creds.source.label;
      return `${who}; member of ${orgs.length} organisation${orgs.length === 1 ? '' : 's'}`;
    },
  },
  {
    name: 'organisation',
    async run(ctx, _o, s) {
      const chosen = await ctx.orgId();
      s.api = await ctx.api();
      const id = await ctx.effectiveOrgId();
      const org = (await ctx.organisations()).find((o) => o.organisation_id === id);
      if (chosen && !org) throw broken(`you are not a member of organisation ${chosen}`, 'run `ankra org list` and pass --org', Exit.PERMISSION);
      return org ? `${org.name} (${org.organisation_id})${chosen ? '' : ", the server's default"}` : "the server's default";
    },
  },
  {
    name: 'cluster',
    async run(ctx, opts, s) {
      const api = s.api as AnkraApi;
      const given = opts.cluster ?? (await clusterFromKubeconfig(ctx, opts));
      const ref = await ctx.cluster(given).catch((err: unknown) => {
        if (err instanceof AnkraError && err.exitCode === Exit.USAGE) {
          throw broken('no cluster to check', 'pass --cluster NAME, or run `ankra cluster select NAME`', Exit.USAGE);
        }
        throw err;
      });
      const all = await api.allClusters();
      const found = all.find((c) => c.id === ref.id);
      if (!found) throw new NotFoundError(`cluster ${ref.name} not found`, { hint: 'run `ankra cluster list` (and check --org)' });
      s.cluster = { id: found.id, name: found.name };
      s.clusterKind = found.kind;
      return `${found.name} (${found.id}), ${found.state ?? 'state unknown'}${found.kind ? `, ${found.kind}` : ''}`;
    },
  },
  {
    name: 'cluster-access',
    async run(_ctx, _o, s) {
      const c = s.cluster as ClusterRef;
      s.caps = await (s.api as AnkraApi).capabilities(c.id, { cluster: c.name });
      if (!s.caps.enabled) throw accessUnavailable({ name: c.name, kind: s.clusterKind });
      return `enabled${s.caps.can_manage ? '; you can manage grants' : ''}`;
    },
  },
  {
    name: 'grant',
    async run(ctx, _o, s) {
      const c = s.cluster as ClusterRef;
      if (!s.caps?.has_access) {
        const who = ctx.credentials()?.email() ?? '<your-email>';
        throw broken(`you have no access grant on ${c.name}`, `ask an organisation admin to run \`ankra cluster access grant ${who} --cluster ${c.name}\``, Exit.AUTH);
      }
      s.grants = await callerGrants(s.api as AnkraApi, c.id, { email: ctx.credentials()?.email(), canManage: s.caps.can_manage });
      if (!s.grants) return 'you have a grant (its details are not visible to this login)';
      const applied = s.grants.filter((g) => g.reconcile_status === 'applied');
      if (applied.length > 0) return applied.map(describe).join('; ');
      const g = s.grants[0];
      if (!g) return 'you have a grant';
      switch (g.reconcile_status) {
        case 'pending':
          throw broken(`your grant (${describe(g)}) is still pending: Ankra has not applied it to the cluster yet`, `wait a moment, then run \`ankra doctor --cluster ${c.name}\` again`);
        case 'failed':
          throw broken(`your grant (${describe(g)}) failed to apply: ${g.reconcile_error ?? 'no reason given'}`, 'ask an organisation admin to fix the cause, revoke and grant it again');
        case 'cluster_offline':
          throw broken(`${c.name} is offline: your grant (${describe(g)}) applies when it reconnects`, 'check the cluster\'s Ankra agent, then try again');
        default:
          return describe(g);
      }
    },
  },
  {
    name: 'token',
    async run(_ctx, _o, s) {
      const c = s.cluster as ClusterRef;
      const t = await (s.api as AnkraApi).mintToken(c.id, { cluster: c.name });
      const mins = Math.round((Date.parse(t.expiresAtLocal) - Date.now()) / 60_000);
      return `Ankra mints a Kubernetes token (valid ${mins} min)`;
    },
  },
  {
    name: 'kubeconfig',
    async run(ctx, opts, s) {
      const c = s.cluster as ClusterRef;
      const fix = `run \`ankra cluster kubeconfig add ${c.name}\``;
      const kube = await import('../kube/kubeconfig');
      const loc = kube.resolveKubeconfig({ explicit: opts.kubeconfig, env: ctx.env, home: ctx.paths.home });
      const mine = (await kube.listAnkraContexts(loc)).filter((k) => k.clusterId === c.id);
      const kc = mine.find((k) => k.current) ?? mine[0];
      if (!kc) throw broken(`no kubectl context for ${c.name} in ${loc.files.join(', ')}`, fix);
      s.kubeContext = kc;
      const runs = resolveCommand(kc.command, ctx.env);
      const me = realpath(process.argv[1] ?? '');
      if (!runs) throw broken(`context ${kc.context} runs \`${kc.command}\`, which is not installed or not on PATH`, `${fix} (it writes a command that resolves here)`);
      if (me && runs !== me) throw broken(`context ${kc.context} runs ${runs}, not this ankra (${me})`, `${fix} to point it at this ankra`);
      if (kc.baseUrl && kc.baseUrl !== ctx.target.baseUrl) throw broken(`context ${kc.context} talks to ${kc.baseUrl}, not ${ctx.target.baseUrl}`, fix);
      return `context ${kc.context}${kc.current ? ' (current)' : ''} in ${kc.file} runs this ankra`;
    },
  },
  {
    name: 'kubernetes',
    async run(ctx, opts, s) {
      const kc = s.kubeContext as AnkraContext;
      const k8s = await kubeClients(ctx, opts, kc.context);
      const review = await k8s.whoami();
      return `the cluster's API answers through Ankra's proxy; you are ${review}`;
    },
  },
  {
    name: 'namespace',
    async run(_ctx, _o, s) {
      const kc = s.kubeContext as AnkraContext;
      const ns = kc.namespace ?? 'default';
      if (!s.grants) return `${ns} (your grant's scope is not visible to this login)`;
      const grants = s.grants.filter((g) => g.reconcile_status === 'applied');
      if (grants.length === 0 || grants.some((g) => g.scope === 'cluster')) return `${ns} (your grant covers the whole cluster)`;
      const allowed = grants.map((g) => g.namespace).filter((n): n is string => Boolean(n));
      if (!allowed.includes(ns)) {
        throw broken(
          `context ${kc.context} uses namespace ${ns}, but your grant is for ${allowed.join(', ')}`,
          `run \`kubectl config set-context ${kc.context} --namespace ${allowed[0]}\``,
        );
      }
      return `${ns} matches your grant`;
    },
  },
  {
    name: 'permissions',
    async run(ctx, opts, s) {
      const kc = s.kubeContext as AnkraContext;
      const ns = kc.namespace ?? 'default';
      const k8s = await kubeClients(ctx, opts, kc.context);
      const allowed = await k8s.canI('list', 'pods', ns);
      if (!allowed) throw broken(`the cluster says you may not list pods in ${ns}`, `check your grant with \`ankra cluster access list --cluster ${(s.cluster as ClusterRef).name}\``);
      return `you may list pods in ${ns} (SelfSubjectAccessReview)`;
    },
  },
];

function describe(g: Grant): string {
  return g.scope === 'namespace' ? `${g.role} in namespace ${g.namespace} (${g.reconcile_status})` : `${g.role} on the whole cluster (${g.reconcile_status})`;
}

/** The cluster of the current kubectl context, when it is an Ankra one. */
async function clusterFromKubeconfig(ctx: Context, opts: Options): Promise<string | undefined> {
  if (ctx.env.ANKRA_CLUSTER) return undefined;
  try {
    const kube = await import('../kube/kubeconfig');
    const loc = kube.resolveKubeconfig({ explicit: opts.kubeconfig, env: ctx.env, home: ctx.paths.home });
    return (await kube.listAnkraContexts(loc)).find((k) => k.current)?.clusterId;
  } catch {
    return undefined;
  }
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

/** @kubernetes/client-node on the kubectl context: it runs the exec plugin like kubectl does. */
async function kubeClients(ctx: Context, opts: Options, context: string) {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else if (ctx.env.KUBECONFIG) kc.loadFromDefault({}, false);
  else kc.loadFromFile(`${ctx.paths.home}/.kube/config`);
  kc.setCurrentContext(context);
  // Trust what kubectl trusts: the entry's CA, else the system's roots only. Node would also
  // trust NODE_EXTRA_CA_CERTS, which kubectl ignores, and then report a working chain that
  // kubectl cannot use.
  const current = kc.getCurrentCluster();
  if (current && !current.caData && !current.caFile && !current.skipTLSVerify) {
    const caData = Buffer.from(rootCertificates.join('\n')).toString('base64');
    kc.clusters = kc.clusters.map((c) => (c.name === current.name ? { ...c, caData } : c));
  }
  const failure = (err: unknown): never => {
    const e = err as { code?: number; body?: string; message?: string; cause?: { code?: string } };
    let message = e.message ?? String(err);
    if (/certificate|self[- ]signed|unable to verify/i.test(`${message} ${e.cause?.code ?? ''}`)) {
      throw broken(
        `kubectl would not trust the certificate of ${kc.getCurrentCluster()?.server ?? 'the cluster'} (${message.split('\n')[0]})`,
        'add the context with the CA: `ankra --ca-file CA.pem cluster kubeconfig add CLUSTER` (NODE_EXTRA_CA_CERTS is not read by kubectl)',
      );
    }
    try {
      message = (JSON.parse(e.body ?? '') as { message?: string }).message ?? message;
    } catch {
      // not a Status body
    }
    throw broken(`the Kubernetes API behind Ankra's proxy answered${e.code ? ` ${e.code}` : ''}: ${message.split('\n')[0]}`, 'run `kubectl get --raw /version` to see what kubectl sees; `ankra doctor --debug` shows more');
  };
  return {
    async whoami(): Promise<string> {
      const api = kc.makeApiClient(k8s.AuthenticationV1Api);
      const r = await api.createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } }).catch(failure);
      return r.status?.userInfo?.username ?? 'unknown';
    },
    async canI(verb: string, resource: string, namespace: string): Promise<boolean> {
      const api = kc.makeApiClient(k8s.AuthorizationV1Api);
      const r = await api
        .createSelfSubjectAccessReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb, resource, namespace } } } })
        .catch(failure);
      return r.status?.allowed === true;
    },
  };
}

export async function run(ctx: Context, opts: Options): Promise<number> {
  const s: State = {};
  const results: CheckResult[] = [];
  let exit: number = Exit.OK;
  const table = ctx.out.format === 'table';
  for (const check of CHECKS) {
    if (exit !== Exit.OK) {
      results.push({ check: check.name, status: 'skip', detail: 'not checked (an earlier check failed)' });
      continue;
    }
    try {
      const detail = await check.run(ctx, opts, s);
      results.push({ check: check.name, status: 'ok', detail });
    } catch (err) {
      exit = exitCodeOf(err) || Exit.FAILURE;
      const hint = err instanceof AnkraError ? err.hint : undefined;
      const detail = err instanceof AnkraError ? err.message : messageOf(err);
      results.push({ check: check.name, status: 'fail', detail, ...(hint ? { fix: hint } : {}) });
      if (ctx.out.debugEnabled && err instanceof Error) ctx.debug(err.stack ?? String(err));
    }
    const last = results[results.length - 1];
    if (table && last) printCheck(ctx, last);
  }
  const report: DoctorReport = { ok: exit === Exit.OK, server: ctx.target.baseUrl, cluster: s.cluster?.name ?? null, checks: results };
  if (!table) await ctx.out.data(report, undefined);
  else if (report.ok) ctx.out.print(`\nkubectl should work${s.kubeContext ? `: kubectl --context ${s.kubeContext.context} get pods` : ''}`);
  return exit;
}

function printCheck(ctx: Context, r: CheckResult): void {
  const out = ctx.out;
  const mark = r.status === 'ok' ? out.paint('✓', 'green') : r.status === 'fail' ? out.paint('✗', 'red') : out.paint('-', 'dim');
  const detail = oneLine(r.detail);
  const line = `${mark} ${r.check.padEnd(15)} ${r.status === 'skip' ? out.paint(detail, 'dim') : detail}`;
  out.print(r.fix ? `${line}\n  ${out.paint('fix:', 'yellow')} ${oneLine(r.fix)}` : line);
}

