/**
 * The @kubernetes/client-node adaptor (its only owner): a client for one kubectl context of
 * the kubeconfig files kubectl reads, running the context's exec plugin as kubectl would.
 * `doctor` uses it to ask the cluster who we are and what we may do. Loaded only there.
 */
import { rootCertificates } from 'node:tls';
import type * as K8s from '@kubernetes/client-node';
import type { KubeconfigLocation } from './locate';
import { importPackage } from '../core/esm';

export interface KubeFailure {
  /** The HTTP status, when the API answered. */
  status?: number;
  message: string;
  /** The certificate is not trusted (by kubectl either). */
  tls: boolean;
}

export class KubeClientError extends Error {
  constructor(readonly failure: KubeFailure) {
    super(failure.message);
  }
}

export interface KubeClient {
  server: string | undefined;
  /** The username the cluster sees (SelfSubjectReview). */
  whoami(): Promise<string>;
  /** SelfSubjectAccessReview. */
  canI(verb: string, resource: string, namespace: string): Promise<boolean>;
}

function load(k8s: typeof K8s, loc: KubeconfigLocation): K8s.KubeConfig {
  const [first, ...rest] = loc.files;
  const kc = new k8s.KubeConfig();
  if (first) kc.loadFromFile(first);
  for (const file of rest) {
    const more = new k8s.KubeConfig();
    try {
      more.loadFromFile(file);
    } catch {
      continue; // kubectl skips missing files too
    }
    kc.mergeConfig(more, true);
  }
  return kc;
}

function failure(err: unknown): never {
  const e = err as { code?: number; body?: string; message?: string; cause?: { code?: string } };
  let message = e.message ?? String(err);
  const tls = /certificate|self[- ]signed|unable to verify/i.test(`${message} ${e.cause?.code ?? ''}`);
  try {
    message = (JSON.parse(e.body ?? '') as { message?: string }).message ?? message;
  } catch {
    // not a Status body
  }
  throw new KubeClientError({ ...(typeof e.code === 'number' ? { status: e.code } : {}), message: message.split('\n')[0] ?? message, tls });
}

/** An ES module only: imported (never required), so it loads on every Node 20. */
export async function kubeClient(loc: KubeconfigLocation, context: string): Promise<KubeClient> {
  const k8s = await importPackage<typeof import('@kubernetes/client-node')>('@kubernetes/client-node');
  const kc = load(k8s, loc);
  kc.setCurrentContext(context);
  // Trust what kubectl trusts: the entry's CA, else the system's roots only. Node would also
  // trust NODE_EXTRA_CA_CERTS, which kubectl ignores, and then report a chain kubectl cannot use.
  const current = kc.getCurrentCluster();
  if (current && !current.caData && !current.caFile && !current.skipTLSVerify) {
    const caData = Buffer.from(rootCertificates.join('\n')).toString('base64');
    kc.clusters = kc.clusters.map((c) => (c.name === current.name ? { ...c, caData } : c));
  }
  return {
    server: current?.server,
    async whoami() {
      const api = kc.makeApiClient(k8s.AuthenticationV1Api);
      const r = await api.createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } }).catch(failure);
      return r.status?.userInfo?.username ?? 'unknown';
    },
    async canI(verb, resource, namespace) {
      const api = kc.makeApiClient(k8s.AuthorizationV1Api);
      const r = await api
        .createSelfSubjectAccessReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb, resource, namespace } } } })
        .catch(failure);
      return r.status?.allowed === true;
    },
  };
}
