/** Flags and arguments several commands share, declared once. */
import { arg, flag } from '../../cli/spec';

const WHICH_CLUSTER = 'cluster name or id (default: ANKRA_CLUSTER, or `ankra cluster select`)';

/** `--cluster NAME|ID`. */
export const clusterFlag = flag.string('cluster', WHICH_CLUSTER, { completes: 'cluster' });

/**
 * `[cluster]`, for commands whose positional is free: they accept both `ankra doctor
 * staging` and `ankra doctor --cluster staging` (help shows the positional).
 */
export const clusterArg = arg.optional('cluster', WHICH_CLUSTER, { completes: 'cluster' });

export const kubeconfigFlag = flag.string('path', 'the kubeconfig file (default: KUBECONFIG, else ~/.kube/config)', { completes: 'file' });
