// @kubernetes/client-node as a client of the exec plugin, in its own process (client-node
// runs exec plugins synchronously, which would block a test process hosting the emulator).
//   node client-node-pods.mjs KUBECONFIG NAMESPACE
//   → {"pods":[names],"namespaces":[names]|{status,reason},"secrets":[names]|{status,reason}}
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

const [kubeconfig, namespace] = process.argv.slice(2);
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const core = kc.makeApiClient(CoreV1Api);

async function names(call) {
  try {
    return (await call()).items.map((o) => o.metadata?.name);
  } catch (err) {
    if (typeof err.code !== 'number') throw err;
    return { status: err.code, reason: JSON.parse(err.body ?? '{}').reason };
  }
}

process.stdout.write(
  JSON.stringify({
    pods: await names(() => core.listNamespacedPod({ namespace })),
    namespaces: await names(() => core.listNamespace()),
    secrets: await names(() => core.listNamespacedSecret({ namespace })),
  }),
);
