/**
 * The emulator's Kubernetes API facade against real clients: the `kubectl` on PATH and
 * @kubernetes/client-node 1.4, plus plain HTTPS requests for the error shapes.
 *
 * The harness plays the emulator core: an HTTPS server on 127.0.0.1 that maps bearer tokens
 * to fixed subjects (one per role × scope, and one with no applied grant) and routes
 * `/api/v1/clusters/{id}/k8s/…` to `handle`. The `kubectl` on PATH is a dispatcher that runs
 * the kubectl matching the server's minor version: cluster `k132` (v1.32) gets kubectl 1.32,
 * which sends protobuf bodies; cluster `k131` (v1.31) gets kubectl 1.31, which sends JSON.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException, AuthorizationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeBinding, KubeClusterSeed, KubeSubject } from '../fixtures/emulator/contracts';
import { createKube, writeStatus } from '../fixtures/emulator/kube';
import { requestAttributes } from '../fixtures/emulator/kube-rbac';
import { humanDuration } from '../fixtures/emulator/kube-resources';
import { generateTls } from '../fixtures/emulator/tls';

// ------------------------------------------------------------------ the harness

const CLUSTERS: KubeClusterSeed[] = [
  {
    id: 'k132',
    name: 'k132',
    kubeVersion: 'v1.32.4',
    namespaces: {
      default: {},
      'kube-system': { pods: [{ name: 'coredns-5d78c9869d-8xk2p', image: 'registry.k8s.io/coredns/coredns:v1.11.3', labels: { 'k8s-app': 'kube-dns' } }] },
      'team-a': {
        pods: [
          { name: 'web-7d9f8c6b5-x2x4k', image: 'nginx:1.27', phase: 'Running', labels: { app: 'web' } },
          { name: 'worker-0', image: 'busybox:1.36', phase: 'Pending', labels: { app: 'worker' } },
        ],
        configmaps: [{ name: 'app-config', data: { LOG_LEVEL: 'info', REGION: 'eu' } }],
        secrets: [{ name: 'db-password', data: { password: 's3cret' } }],
      },
    },
  },
  { id: 'k131', name: 'k131', kubeVersion: 'v1.31.4', namespaces: { default: {}, 'team-a': {} } },
];

/** One subject per role × scope (the RoleBindings in team-a), and one whose grant is still pending. */
const CONTEXTS = [
  'view@cluster',
  'view@team-a',
  'edit@cluster',
  'edit@team-a',
  'admin@cluster',
  'admin@team-a',
  'cluster-admin@cluster',
  'cluster-admin@team-a',
  'pending',
] as const;
type Context = (typeof CONTEXTS)[number];

function slug(ctx: Context): string {
  return ctx.replace('@', '-');
}

function subjectOf(ctx: Context): KubeSubject {
  const [role, where] = ctx.split('@') as [KubeBinding['role'], string | undefined];
  const bindings: KubeBinding[] =
    where === undefined ? [] : [{ role, scope: where === 'cluster' ? 'cluster' : 'namespace', namespace: where === 'cluster' ? null : where }];
  return { username: `${slug(ctx)}@acme.test`, uid: `uid-${slug(ctx)}`, groups: ['system:authenticated'], bindings };
}

const userOf = (ctx: Context): string => subjectOf(ctx).username;
const tokenOf = (ctx: Context): string => `token-${slug(ctx)}`;
const SUBJECTS = new Map(CONTEXTS.map((ctx) => [tokenOf(ctx), subjectOf(ctx)]));

/** What the harness saw, to assert on what real clients send. */
interface Seen {
  method: string;
  path: string;
  accept: string;
  contentType: string;
  status: number;
  userAgent: string;
}

interface Harness {
  server: Server;
  base: string;
  caPem: string;
  seen: Seen[];
}

async function startHarness(): Promise<Harness> {
  const tls = await generateTls();
  const kube = createKube(CLUSTERS, { now: () => Date.now() });
  const seen: Seen[] = [];
  const server = createServer({ key: tls.keyPem, cert: tls.certPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const route = /^\/api\/v1\/clusters\/([^/]+)\/k8s(\/.*)?$/.exec(url.pathname);
    const path = route?.[2] ?? '/';
    res.on('finish', () =>
      seen.push({
        method: req.method ?? '',
        path: `${path}${url.search}`,
        accept: req.headers.accept ?? '',
        contentType: req.headers['content-type'] ?? '',
        status: res.statusCode,
        userAgent: req.headers['user-agent'] ?? '',
      }),
    );
    const subject = SUBJECTS.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (!route) return writeStatus(res, 404, 'NotFound', 'not a cluster path');
    if (!subject) return writeStatus(res, 401, 'Unauthorized', 'Unauthorized');
    void kube.handle({ req, res, clusterId: route[1]!, path, query: url.searchParams, subject });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, base: `https://127.0.0.1:${port}`, caPem: tls.caPem, seen };
}

/** One kubeconfig with a context per subject on k132, and `<ctx>/k131` contexts on the v1.31 cluster. */
function kubeconfig(h: Harness): string {
  const ca = Buffer.from(h.caPem).toString('base64');
  const clusters = CLUSTERS.map((c) => `- name: ${c.id}\n  cluster:\n    server: ${h.base}/api/v1/clusters/${c.id}/k8s\n    certificate-authority-data: ${ca}`);
  const users = CONTEXTS.map((ctx) => `- name: ${ctx}\n  user:\n    token: ${tokenOf(ctx)}`);
  const contexts = CONTEXTS.flatMap((ctx) => [
    `- name: ${ctx}\n  context: {cluster: k132, user: ${ctx}}`,
    `- name: ${ctx}/k131\n  context: {cluster: k131, user: ${ctx}}`,
  ]);
  return ['apiVersion: v1', 'kind: Config', 'clusters:', ...clusters, 'users:', ...users, 'contexts:', ...contexts, ''].join('\n');
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking the event loop that serves its requests. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function kubectlVersion(): Promise<string | null> {
  try {
    const { code, stdout } = await run('kubectl', ['version', '--client', '-o', 'json'], { PATH: process.env['PATH'] });
    return code === 0 ? (JSON.parse(stdout) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion : null;
  } catch {
    return null;
  }
}

const KUBECTL = await kubectlVersion();

let h: Harness;
let dir: string;
let kubeconfigPath: string;
/** Shared by most kubectl runs, so discovery is cached after the first ones (as on a laptop). */
let home: string;
let dispatcher: Agent;

beforeAll(async () => {
  h = await startHarness();
  dir = await mkdtemp(join(tmpdir(), 'ankra-kube-'));
  kubeconfigPath = join(dir, 'kubeconfig');
  home = join(dir, 'home');
  await writeFile(kubeconfigPath, kubeconfig(h), { mode: 0o600 });
  dispatcher = new Agent({ connect: { ca: h.caPem } });
});

afterAll(async () => {
  await dispatcher?.close();
  await new Promise((resolve) => h?.server.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function kubectl(context: string, args: string[], kubeHome = home): Promise<Run> {
  return run('kubectl', ['--kubeconfig', kubeconfigPath, '--context', context, '--request-timeout=20s', ...args], {
    PATH: process.env['PATH'],
    HOME: kubeHome,
  });
}

// ------------------------------------------------------------ the RBAC matrix

const CLUSTER_SCOPE: Context[] = ['view@cluster', 'edit@cluster', 'admin@cluster', 'cluster-admin@cluster'];
const GRANTED: Context[] = CONTEXTS.filter((c) => c !== 'pending');
const WRITERS: Context[] = GRANTED.filter((c) => !c.startsWith('view@'));
const RBAC_ADMINS: Context[] = WRITERS.filter((c) => !c.startsWith('edit@'));

interface Case {
  name: string;
  args(ctx: Context): string[];
  /** The same question for `kubectl auth can-i`. */
  canI: string[];
  allowed: Context[];
  /** What stdout shows on success. */
  ok: RegExp;
  /** The message of the 403 for a subject not allowed. */
  denied(user: string): string;
}

const inTeamA = (verb: string, resource: string, group = ''): ((user: string) => string) => (user) =>
  `${group ? `${resource}.${group}` : resource} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${group}" in the namespace "team-a"`;

const CASES: Case[] = [
  {
    name: 'get ns',
    args: () => ['get', 'ns'],
    canI: ['list', 'namespaces', '-A'],
    allowed: CLUSTER_SCOPE,
    ok: /^NAME\s+STATUS\s+AGE\n(.*\n)*team-a\s+Active\s+\d+s\n/,
    denied: (u) => `namespaces is forbidden: User "${u}" cannot list resource "namespaces" in API group "" at the cluster scope`,
  },
  {
    // The namespace object carries namespace team-a for RBAC, so a RoleBinding there reads it.
    name: 'get ns team-a',
    args: () => ['get', 'ns', 'team-a'],
    canI: ['get', 'namespaces/team-a', '-n', 'team-a'],
    allowed: GRANTED,
    ok: /^NAME\s+STATUS\s+AGE\nteam-a\s+Active\s+\d+s\n$/,
    denied: (u) =>
      `namespaces "team-a" is forbidden: User "${u}" cannot get resource "namespaces" in API group "" in the namespace "team-a"`,
  },
  {
    name: 'get pods -n team-a',
    args: () => ['get', 'pods', '-n', 'team-a'],
    canI: ['list', 'pods', '-n', 'team-a'],
    allowed: GRANTED,
    ok: /web-7d9f8c6b5-x2x4k/,
    denied: inTeamA('list', 'pods'),
  },
  {
    name: 'get pods -n kube-system',
    args: () => ['get', 'pods', '-n', 'kube-system'],
    canI: ['list', 'pods', '-n', 'kube-system'],
    allowed: CLUSTER_SCOPE,
    ok: /coredns-5d78c9869d-8xk2p/,
    denied: (u) => `pods is forbidden: User "${u}" cannot list resource "pods" in API group "" in the namespace "kube-system"`,
  },
  {
    name: 'get secrets -n team-a',
    args: () => ['get', 'secrets', '-n', 'team-a'],
    canI: ['list', 'secrets', '-n', 'team-a'],
    allowed: WRITERS,
    ok: /^NAME\s+TYPE\s+DATA\s+AGE\ndb-password\s+Opaque\s+1\s+\d+s\n/,
    denied: inTeamA('list', 'secrets'),
  },
  {
    name: 'create configmap -n team-a',
    args: (ctx) => ['create', 'configmap', `cm-${slug(ctx)}`, '-n', 'team-a', '--from-literal=k=v'],
    canI: ['create', 'configmaps', '-n', 'team-a'],
    allowed: WRITERS,
    ok: /^configmap\/cm-[\w-]+ created\n$/,
    denied: inTeamA('create', 'configmaps'),
  },
  {
    name: 'create rolebinding -n team-a',
    args: (ctx) => ['create', 'rolebinding', `rb-${slug(ctx)}`, '-n', 'team-a', '--clusterrole=view', '--user=bob@acme.test'],
    canI: ['create', 'rolebindings', '-n', 'team-a'],
    allowed: RBAC_ADMINS,
    ok: /^rolebinding\.rbac\.authorization\.k8s\.io\/rb-[\w-]+ created\n$/,
    denied: inTeamA('create', 'rolebindings', 'rbac.authorization.k8s.io'),
  },
  {
    name: 'create namespace',
    args: (ctx) => ['create', 'namespace', `ns-${slug(ctx)}`],
    canI: ['create', 'namespaces', '-A'],
    allowed: ['cluster-admin@cluster'],
    ok: /^namespace\/ns-[\w-]+ created\n$/,
    denied: (u) => `namespaces is forbidden: User "${u}" cannot create resource "namespaces" in API group "" at the cluster scope`,
  },
];

const MATRIX = CASES.flatMap((c) => CONTEXTS.map((ctx) => ({ c, ctx, allowed: c.allowed.includes(ctx) })));

it.runIf(!KUBECTL && process.env['CI'])('has kubectl on PATH (required in CI)', () => {
  expect.fail('kubectl is not on PATH: CI must provide it (see environment.md)');
});

describe.skipIf(!KUBECTL)(`kubectl (${KUBECTL}) × RBAC`, () => {
  describe.concurrent('role × scope matrix', () => {
    it.each(MATRIX)('$ctx: $c.name', async ({ c, ctx, allowed }) => {
      const [result, canI] = await Promise.all([kubectl(ctx, c.args(ctx)), kubectl(ctx, ['auth', 'can-i', ...c.canI])]);
      if (allowed) {
        expect(result.stderr).toBe('');
        expect(result.stdout).toMatch(c.ok);
        expect(result.code).toBe(0);
      } else {
        expect(result.stderr).toContain(c.denied(userOf(ctx)));
        expect(result.code).toBe(1);
      }
      // can-i answers what the request found out: yes (exit 0) or no (exit 1).
      expect(canI.stdout).toBe(allowed ? 'yes\n' : 'no\n');
      expect(canI.code).toBe(allowed ? 0 : 1);
    });
  });

  it('prints server-side Tables the way a real cluster does', async () => {
    const [pods, all, data] = await Promise.all([
      kubectl('view@team-a', ['get', 'pods', '-n', 'team-a']),
      kubectl('view@cluster', ['get', 'pods', '-A', '-l', 'app in (web,dns)']),
      kubectl('edit@team-a', ['get', 'configmaps,secrets', '-n', 'team-a', '--field-selector', 'metadata.name!=kube-root-ca.crt']),
    ]);
    expect(pods.stdout.split('\n')).toEqual([
      expect.stringMatching(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/),
      expect.stringMatching(/^web-7d9f8c6b5-x2x4k\s+1\/1\s+Running\s+0\s+\d+s$/),
      expect.stringMatching(/^worker-0\s+0\/1\s+Pending\s+0\s+\d+s$/),
      '',
    ]);
    // kubectl adds NAMESPACE from each row's PartialObjectMetadata.
    expect(all.stdout).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nteam-a\s+web-7d9f8c6b5-x2x4k\s+1\/1\s+Running/);
    expect(all.stdout).not.toContain('coredns');
    expect(data.stdout).toMatch(/^NAME\s+DATA\s+AGE\nconfigmap\/app-config\s+2\s+\d+s\n/m);
    expect(data.stdout).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE\nsecret\/db-password\s+Opaque\s+1\s+\d+s\n/m);
  });

  it('answers whoami, can-i --list and discovery for a subject whose grant is pending', async () => {
    const [whoami, list, resources, version, pods] = await Promise.all([
      kubectl('pending', ['auth', 'whoami']),
      kubectl('pending', ['auth', 'can-i', '--list', '-n', 'team-a']),
      kubectl('pending', ['api-resources', '--namespaced=false']),
      kubectl('pending', ['version']),
      kubectl('pending', ['get', 'pods', '-n', 'team-a', '-o', 'name']),
    ]);
    expect(whoami.stdout.split('\n')).toEqual([
      expect.stringMatching(/^ATTRIBUTE\s+VALUE$/),
      expect.stringMatching(/^Username\s+pending@acme\.test$/),
      expect.stringMatching(/^UID\s+uid-pending$/),
      expect.stringMatching(/^Groups\s+\[system:authenticated\]$/),
      '',
    ]);
    // Only what system:basic-user and system:discovery give every authenticated user.
    expect(list.stdout).toMatch(/selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]/);
    expect(list.stdout).toMatch(/\s+\[\/api\/\*\]\s+\[\]\s+\[get\]/);
    expect(list.stdout).not.toMatch(/^pods/m);
    expect(resources.stdout).toMatch(/^namespaces\s+ns\s+v1\s+false\s+Namespace$/m);
    expect(version.stdout).toContain('Server Version: v1.32.4');
    expect(pods.code).toBe(1);
    expect(pods.stderr).toContain('Error from server (Forbidden): pods is forbidden: User "pending@acme.test" cannot list resource "pods"');
  });

  it('lists what a namespace-scoped admin may do with can-i --list', async () => {
    const [inside, outside] = await Promise.all([
      kubectl('admin@team-a', ['auth', 'can-i', '--list', '-n', 'team-a']),
      kubectl('admin@team-a', ['auth', 'can-i', '--list', '-n', 'default']),
    ]);
    expect(inside.stdout).toMatch(/^rolebindings\.rbac\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[get list watch create delete deletecollection patch update\]$/m);
    expect(inside.stdout).toMatch(/^secrets\s+\[\]\s+\[\]\s+\[get list watch create delete deletecollection patch update\]$/m);
    expect(outside.stdout).not.toContain('rolebindings');
  });

  it('serves aggregated discovery to a cold kubectl, then Tables', async () => {
    const coldHome = join(dir, 'cold-home');
    const from = h.seen.length;
    const { code } = await kubectl('cluster-admin@cluster', ['get', 'ns'], coldHome);
    expect(code).toBe(0);
    // The dispatcher on PATH first asks /version to pick the kubectl of the server's minor version.
    const seen = h.seen.slice(from).filter((s) => !s.userAgent.startsWith('kubectl-dispatcher/'));
    const requests = seen.map((s) => `${s.method} ${s.path.replace(/[?&]timeout=\d+s$/, '')} ${s.status}`);
    expect(requests).toEqual(['GET /api 200', 'GET /apis 200', 'GET /api/v1/namespaces?limit=500 200']);
    const [api, , list] = seen;
    expect(api!.accept).toBe(
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json',
    );
    expect(list!.accept).toBe('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json');
  });

  it('decodes the protobuf bodies of kubectl 1.32 and the JSON bodies of kubectl 1.31', async () => {
    const from = h.seen.length;
    const [v132, v131] = await Promise.all([
      kubectl('edit@team-a', ['create', 'secret', 'generic', 'pb-secret', '-n', 'team-a', '--from-literal=token=abc', '--type=example.com/token']),
      kubectl('edit@team-a/k131', ['create', 'secret', 'generic', 'json-secret', '-n', 'team-a', '--from-literal=token=abc']),
    ]);
    expect([v132.stdout, v131.stdout]).toEqual(['secret/pb-secret created\n', 'secret/json-secret created\n']);
    const creates = h.seen.slice(from).filter((s) => s.method === 'POST');
    for (const create of creates) {
      const minor = Number(/^kubectl\/v1\.(\d+)\./.exec(create.userAgent)?.[1]);
      expect(create.contentType).toBe(minor >= 32 ? 'application/vnd.kubernetes.protobuf' : 'application/json');
    }
    expect(creates.map((c) => c.contentType)).toContain('application/vnd.kubernetes.protobuf');
    const [secret, other, binding] = await Promise.all([
      kubectl('edit@team-a', ['get', 'secret', 'pb-secret', '-n', 'team-a', '-o', 'json']),
      kubectl('edit@team-a', ['get', 'secret', 'json-secret', '-n', 'team-a']),
      kubectl('admin@team-a', ['get', 'rolebinding', 'rb-admin-team-a', '-n', 'team-a', '-o', 'json']),
    ]);
    const s = JSON.parse(secret.stdout) as { type: string; data: Record<string, string>; metadata: Record<string, unknown> };
    expect(s.type).toBe('example.com/token');
    expect(s.data).toEqual({ token: Buffer.from('abc').toString('base64') });
    expect(Object.keys(s.metadata).sort()).toEqual(['creationTimestamp', 'name', 'namespace', 'resourceVersion', 'uid']);
    // Clusters are independent: what was created on k131 does not exist on k132.
    expect(other.stderr).toContain('Error from server (NotFound): secrets "json-secret" not found');
    expect(JSON.parse(binding.stdout)).toMatchObject({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'bob@acme.test' }],
    });
  });

  it('edits objects with apply, label and delete', async () => {
    const manifest = join(dir, 'cm.yaml');
    const apply = async (value: string): Promise<string> => {
      await writeFile(manifest, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  namespace: team-a\ndata:\n  a: "${value}"\n`);
      return (await kubectl('edit@team-a', ['apply', '-f', manifest])).stdout;
    };
    expect(await apply('1')).toBe('configmap/applied created\n');
    // The second apply sends a strategic merge patch computed from the last-applied annotation.
    expect(await apply('2')).toBe('configmap/applied configured\n');
    const labelled = await kubectl('edit@team-a', ['label', 'configmap', 'applied', '-n', 'team-a', 'tier=gold']);
    expect(labelled.stdout).toBe('configmap/applied labeled\n');
    const shown = await kubectl('edit@team-a', ['get', 'cm', '-n', 'team-a', '-l', 'tier=gold', '-o', 'jsonpath={.items[*].data.a}']);
    expect(shown.stdout).toBe('2');
    const deleted = await kubectl('edit@team-a', ['delete', 'configmap', 'applied', '-n', 'team-a']);
    expect(deleted.stdout).toBe('configmap "applied" deleted\n');
  });
});

// ------------------------------------------------------- @kubernetes/client-node

describe('@kubernetes/client-node 1.4', () => {
  function client<T>(ctx: Context, api: new (...args: never[]) => T): T {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    kc.setCurrentContext(ctx);
    return kc.makeApiClient(api as never) as T;
  }

  it('lists pods where a RoleBinding allows, and gets a 403 ApiException for the cluster-scope list', async () => {
    const core = client('view@team-a', CoreV1Api);
    const pods = await core.listNamespacedPod({ namespace: 'team-a' });
    expect(pods.kind).toBe('PodList');
    expect(pods.items.map((p) => [p.metadata?.name, p.status?.phase, p.spec?.containers[0]?.image])).toEqual([
      ['web-7d9f8c6b5-x2x4k', 'Running', 'nginx:1.27'],
      ['worker-0', 'Pending', 'busybox:1.36'],
    ]);
    const denied = await core.listNamespace().catch((err: unknown) => err);
    expect(denied).toBeInstanceOf(ApiException);
    const { code, body } = denied as ApiException<string>;
    expect(code).toBe(403);
    expect(JSON.parse(body)).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'namespaces is forbidden: User "view-team-a@acme.test" cannot list resource "namespaces" in API group "" at the cluster scope',
      reason: 'Forbidden',
      details: { kind: 'namespaces' },
      code: 403,
    });
  });

  it('creates, replaces and deletes with typed objects, and asks SelfSubjectAccessReviews', async () => {
    const core = client('edit@team-a', CoreV1Api);
    const created = await core.createNamespacedConfigMap({ namespace: 'team-a', body: { metadata: { name: 'typed' }, data: { a: '1' } } });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    const replaced = await core.replaceNamespacedConfigMap({ name: 'typed', namespace: 'team-a', body: { ...created, data: { a: '2' } } });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));
    await core.deleteNamespacedConfigMap({ name: 'typed', namespace: 'team-a' });
    await expect(core.readNamespacedConfigMap({ name: 'typed', namespace: 'team-a' })).rejects.toMatchObject({ code: 404 });

    const authz = client('edit@team-a', AuthorizationV1Api);
    const ask = (resource: string, namespace: string) =>
      authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { verb: 'delete', resource, namespace } } } });
    const [secrets, elsewhere] = await Promise.all([ask('secrets', 'team-a'), ask('secrets', 'default')]);
    expect(secrets.status).toEqual({
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "ankra:edit:edit-team-a@acme.test/team-a" of ClusterRole "edit" to User "edit-team-a@acme.test"',
    });
    expect(elsewhere.status).toEqual({ allowed: false });
  });
});

// ------------------------------------------------------------ plain HTTPS requests

/** A decoded JSON body, read without a schema: the assertions are what check its shape. */
type Json = Record<string, any>;

interface Reply {
  status: number;
  contentType: string;
  body: Json;
}

async function call(
  ctx: Context | null,
  method: string,
  path: string,
  init: { body?: unknown; contentType?: string; accept?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { accept: init.accept ?? 'application/json' };
  if (ctx) headers['authorization'] = `Bearer ${tokenOf(ctx)}`;
  if (init.body !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
  const body = init.body === undefined || typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  const res = await fetch(`${h.base}/api/v1/clusters/k132/k8s${path}`, { method, headers, body, dispatcher });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: (await res.json()) as Json };
}

const TEAM_A_CM = '/api/v1/namespaces/team-a/configmaps';

interface ErrorCase {
  name: string;
  ctx: Context | null;
  method: string;
  path: string;
  body?: unknown;
  contentType?: string;
  code: number;
  reason: string;
  message: string | RegExp;
}

const ERROR_CASES: ErrorCase[] = [
  {
    name: 'malformed JSON',
    ctx: 'edit@team-a',
    method: 'POST',
    path: TEAM_A_CM,
    body: '{"metadata": ',
    code: 400,
    reason: 'BadRequest',
    message: /^the object provided is unrecognized \(must be of type ConfigMap\): couldn't get version\/kind; json parse error: /,
  },
  { name: 'a body that is not an object', ctx: 'edit@team-a', method: 'POST', path: TEAM_A_CM, body: '[1]', code: 400, reason: 'BadRequest', message: /must be of type ConfigMap/ },
  {
    name: 'the wrong kind',
    ctx: 'edit@team-a',
    method: 'POST',
    path: TEAM_A_CM,
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } },
    code: 400,
    reason: 'BadRequest',
    message: 'the kind in the data (Secret) does not match the expected kind (ConfigMap)',
  },
  {
    name: 'a missing name',
    ctx: 'edit@team-a',
    method: 'POST',
    path: TEAM_A_CM,
    body: { data: {} },
    code: 422,
    reason: 'Invalid',
    message: 'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required',
  },
  {
    name: 'an invalid name and a pod without containers',
    ctx: 'edit@team-a',
    method: 'POST',
    path: '/api/v1/namespaces/team-a/pods',
    body: { metadata: { name: 'Bad_Name' }, spec: {} },
    code: 422,
    reason: 'Invalid',
    message: /^Pod "Bad_Name" is invalid: \[metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain .*, spec\.containers: Required value\]$/,
  },
  {
    name: 'a name taken',
    ctx: 'edit@team-a',
    method: 'POST',
    path: TEAM_A_CM,
    body: { metadata: { name: 'app-config' } },
    code: 409,
    reason: 'AlreadyExists',
    message: 'configmaps "app-config" already exists',
  },
  { name: 'a missing object', ctx: 'view@team-a', method: 'GET', path: `${TEAM_A_CM}/nope`, code: 404, reason: 'NotFound', message: 'configmaps "nope" not found' },
  {
    name: 'a missing namespace',
    ctx: 'cluster-admin@cluster',
    method: 'POST',
    path: '/api/v1/namespaces/ghost/configmaps',
    body: { metadata: { name: 'x' } },
    code: 404,
    reason: 'NotFound',
    message: 'namespaces "ghost" not found',
  },
  {
    name: 'a name that differs from the URL',
    ctx: 'edit@team-a',
    method: 'PUT',
    path: `${TEAM_A_CM}/app-config`,
    body: { metadata: { name: 'other' } },
    code: 400,
    reason: 'BadRequest',
    message: 'the name of the object (other) does not match the name on the URL (app-config)',
  },
  {
    name: 'a stale resourceVersion',
    ctx: 'edit@team-a',
    method: 'PUT',
    path: `${TEAM_A_CM}/app-config`,
    body: { metadata: { name: 'app-config', resourceVersion: '1' } },
    code: 409,
    reason: 'Conflict',
    message: 'Operation cannot be fulfilled on configmaps "app-config": the object has been modified; please apply your changes to the latest version and try again',
  },
  {
    name: 'an unknown resource',
    ctx: 'cluster-admin@cluster',
    method: 'GET',
    path: '/api/v1/widgets',
    code: 404,
    reason: 'NotFound',
    message: 'the server could not find the requested resource',
  },
  { name: 'an unknown path', ctx: 'cluster-admin@cluster', method: 'GET', path: '/nope', code: 404, reason: 'NotFound', message: 'the server could not find the requested resource' },
  {
    // RBAC runs before routing, as in kube-apiserver: who may not list there learns nothing.
    name: 'an unknown resource, unauthorized',
    ctx: 'pending',
    method: 'GET',
    path: '/api/v1/widgets',
    code: 403,
    reason: 'Forbidden',
    message: 'widgets is forbidden: User "pending@acme.test" cannot list resource "widgets" in API group "" at the cluster scope',
  },
  { name: 'an unknown path, unauthorized', ctx: 'pending', method: 'GET', path: '/nope', code: 403, reason: 'Forbidden', message: 'forbidden: User "pending@acme.test" cannot get path "/nope"' },
  {
    name: 'a JSON patch',
    ctx: 'edit@team-a',
    method: 'PATCH',
    path: `${TEAM_A_CM}/app-config`,
    body: [{ op: 'remove', path: '/data' }],
    contentType: 'application/json-patch+json',
    code: 415,
    reason: 'UnsupportedMediaType',
    message: /accepted media types include: application\/merge-patch\+json, application\/strategic-merge-patch\+json$/,
  },
  { name: 'a watch', ctx: 'view@team-a', method: 'GET', path: '/api/v1/namespaces/team-a/pods?watch=true', code: 405, reason: 'MethodNotAllowed', message: 'watch is not supported by the Ankra emulator' },
  {
    name: 'a bad label selector',
    ctx: 'view@team-a',
    method: 'GET',
    path: '/api/v1/namespaces/team-a/pods?labelSelector=a%3D%3D%3Db',
    code: 400,
    reason: 'BadRequest',
    message: /^unable to parse requirement: found 'a===b'/,
  },
  {
    name: 'deleting the default namespace',
    ctx: 'cluster-admin@cluster',
    method: 'DELETE',
    path: '/api/v1/namespaces/default',
    code: 403,
    reason: 'Forbidden',
    message: 'namespaces "default" is forbidden: this namespace may not be deleted',
  },
  {
    name: 'a protobuf body without the envelope',
    ctx: 'edit@team-a',
    method: 'POST',
    path: TEAM_A_CM,
    body: 'not protobuf',
    contentType: 'application/vnd.kubernetes.protobuf',
    code: 400,
    reason: 'BadRequest',
    message: /must be of type ConfigMap\): provided data does not appear to be a protobuf message/,
  },
  {
    name: 'an access review without attributes',
    ctx: 'pending',
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    body: { spec: {} },
    code: 422,
    reason: 'Invalid',
    message: /exactly one of nonResourceAttributes or resourceAttributes must be specified$/,
  },
];

describe.concurrent('Status bodies over plain HTTPS', () => {
  it.each(ERROR_CASES)('$code $reason for $name', async ({ ctx, method, path, body, contentType, code, reason, message }) => {
    const reply = await call(ctx, method, path, { body, contentType });
    expect(reply.status).toBe(code);
    expect(reply.contentType).toBe('application/json');
    expect(reply.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, code });
    expect(reply.body['message']).toMatch(typeof message === 'string' ? new RegExp(`^${escape(message)}$`) : message);
  });

  it('writes exactly the Status the core uses for 401 (writeStatus)', async () => {
    const reply = await call(null, 'GET', '/api/v1/namespaces');
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('objects over plain HTTPS', () => {
  it('lists as {Kind}List and as a Table of PartialObjectMetadata', async () => {
    const list = await call('view@team-a', 'GET', '/api/v1/namespaces/team-a/pods');
    expect(list.body).toMatchObject({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: expect.stringMatching(/^\d+$/) } });
    // Like kube-apiserver, list items carry no apiVersion/kind of their own.
    expect(list.body['items'][0]).not.toHaveProperty('kind');
    const table = await call('view@team-a', 'GET', '/api/v1/namespaces/team-a/pods?labelSelector=app%3Dweb', {
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
    });
    expect(table.contentType).toBe('application/json;as=Table;v=v1;g=meta.k8s.io');
    expect(table.body['kind']).toBe('Table');
    expect(table.body['columnDefinitions'].map((c: { name: string }) => c.name)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age']);
    expect(table.body['rows']).toEqual([
      {
        cells: ['web-7d9f8c6b5-x2x4k', '1/1', 'Running', '0', expect.stringMatching(/^\d+s$/)],
        object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: expect.objectContaining({ name: 'web-7d9f8c6b5-x2x4k', namespace: 'team-a' }) },
      },
    ]);
  });

  it('creates, updates, merge-patches and deletes, bumping resourceVersion each time', async () => {
    const path = `${TEAM_A_CM}/lifecycle`;
    const dry = await call('edit@team-a', 'POST', `${TEAM_A_CM}?dryRun=All`, { body: { metadata: { name: 'lifecycle' } } });
    expect(dry.status).toBe(201);
    expect((await call('edit@team-a', 'GET', path)).status).toBe(404);

    const created = await call('edit@team-a', 'POST', TEAM_A_CM, { body: { metadata: { name: 'lifecycle', labels: { a: '1' } }, data: { x: '1', y: '2' } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'lifecycle', namespace: 'team-a' } });
    const rv = (r: Reply): number => Number(r.body['metadata']['resourceVersion']);

    const updated = await call('edit@team-a', 'PUT', path, { body: { ...created.body, data: { x: '10', y: '2' } } });
    expect(updated.status).toBe(200);
    expect(rv(updated)).toBeGreaterThan(rv(created));
    expect(updated.body['metadata']['uid']).toBe(created.body['metadata']['uid']);

    const patched = await call('edit@team-a', 'PATCH', path, {
      body: { metadata: { labels: { b: '2' } }, data: { y: null }, '$retainKeys': ['data'] },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(patched.status).toBe(200);
    expect(patched.body['metadata']['labels']).toEqual({ a: '1', b: '2' });
    expect(patched.body['data']).toEqual({ x: '10' });
    expect(patched.body).not.toHaveProperty('$retainKeys');
    expect(rv(patched)).toBeGreaterThan(rv(updated));

    const deleted = await call('edit@team-a', 'DELETE', path);
    expect(deleted.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: 'lifecycle', kind: 'configmaps', uid: created.body['metadata']['uid'] },
    });
    expect((await call('edit@team-a', 'GET', path)).status).toBe(404);
  });

  it('names objects from generateName and deletes a namespace with what it holds', async () => {
    const ns = await call('cluster-admin@cluster', 'POST', '/api/v1/namespaces', { body: { metadata: { generateName: 'doomed-' } } });
    const name: string = ns.body['metadata']['name'];
    expect(name).toMatch(/^doomed-[a-z0-9]{5}$/);
    expect(ns.body['status']).toEqual({ phase: 'Active' });
    const cm = `/api/v1/namespaces/${name}/configmaps`;
    expect((await call('cluster-admin@cluster', 'POST', cm, { body: { metadata: { name: 'inside' } } })).status).toBe(201);
    const gone = await call('cluster-admin@cluster', 'DELETE', `/api/v1/namespaces/${name}`);
    expect(gone.body).toMatchObject({ kind: 'Namespace', status: { phase: 'Terminating' }, metadata: { deletionTimestamp: expect.any(String) } });
    expect((await call('cluster-admin@cluster', 'GET', `${cm}/inside`)).status).toBe(404);
  });
});

// ------------------------------------------------------------------ pure logic

describe('request attributes (RequestInfoFactory)', () => {
  it.each([
    ['GET', '/api/v1/namespaces', { kind: 'resource', verb: 'list', resource: 'namespaces', namespace: '', name: '' }],
    ['GET', '/api/v1/namespaces/team-a', { verb: 'get', resource: 'namespaces', namespace: 'team-a', name: 'team-a' }],
    ['PUT', '/api/v1/namespaces/team-a/status', { verb: 'update', resource: 'namespaces', name: 'team-a', subresource: 'status' }],
    ['GET', '/api/v1/namespaces/team-a/pods/web/log', { verb: 'get', resource: 'pods', name: 'web', subresource: 'log', namespace: 'team-a' }],
    ['DELETE', '/api/v1/namespaces/team-a/pods', { verb: 'deletecollection', resource: 'pods', namespace: 'team-a' }],
    ['GET', '/api/v1/pods?watch=1', { verb: 'watch', resource: 'pods', namespace: '' }],
    ['POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings', { verb: 'create', group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings' }],
    ['GET', '/apis/rbac.authorization.k8s.io/v1', { kind: 'nonResource', verb: 'get', path: '/apis/rbac.authorization.k8s.io/v1' }],
    ['GET', '/api/v1', { kind: 'nonResource', path: '/api/v1' }],
    ['POST', '/version', { kind: 'nonResource', verb: 'post', path: '/version' }],
  ])('%s %s', (method, url, expected) => {
    const [path = '', search = ''] = url.split('?');
    expect(requestAttributes(method, path, new URLSearchParams(search))).toMatchObject(expected);
  });
});

describe('humanDuration (the AGE column)', () => {
  const s = 1000;
  const m = 60 * s;
  const hr = 60 * m;
  const d = 24 * hr;
  it.each([
    [-1500, '0s'],
    [-3 * s, '<invalid>'],
    [0, '0s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [2 * m + 30 * s, '2m30s'],
    [10 * m + 5 * s, '10m'],
    [3 * hr, '3h'],
    [3 * hr + 30 * m, '3h30m'],
    [47 * hr, '47h'],
    [50 * hr, '2d2h'],
    [8 * d, '8d'],
    [730 * d, '2y'],
    [740 * d, '2y10d'],
    [9 * 365 * d, '9y'],
  ])('%d ms → %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});
