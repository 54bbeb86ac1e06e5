/**
 * Which kubeconfig files to read and write, by kubectl's loading rules (client-go's
 * `clientcmd.PathOptions`).
 */
import { delimiter, join, resolve } from 'node:path';

export interface KubeconfigLocation {
  /** Absolute paths in precedence order; one file unless they come from KUBECONFIG. */
  files: string[];
  /** True for --kubeconfig: only that file is read, written and created. */
  explicit: boolean;
}

export interface LocateInput {
  /** --kubeconfig */
  explicit?: string;
  env: NodeJS.ProcessEnv;
  home: string;
}

/** --kubeconfig PATH, else the KUBECONFIG path list, else ~/.kube/config. */
export function resolveKubeconfig({ explicit, env, home }: LocateInput): KubeconfigLocation {
  if (explicit) return { files: [resolve(explicit)], explicit: true };
  // client-go skips empty entries and loads a path once; a KUBECONFIG with no entry at
  // all (":") would leave it nowhere to write, so that falls back to the default file
  const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  const files = [...new Set(fromEnv.map((p) => resolve(p)))];
  return { files: files.length > 0 ? files : [join(home, '.kube', 'config')], explicit: false };
}

/**
 * Where a new entry goes (client-go's GetDefaultFilename): the first file that exists,
 * else the last one, which is then created.
 */
export function defaultTarget(files: ReadonlyArray<{ path: string; exists: boolean }>): string {
  const target = files.find((f) => f.exists) ?? files[files.length - 1];
  if (!target) throw new Error('a kubeconfig location has at least one file');
  return target.path;
}
