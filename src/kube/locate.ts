/**
 * Which kubeconfig files to read and write, by kubectl's loading rules (client-go's
 * `clientcmd.NewDefaultClientConfigLoadingRules` and `PathOptions`).
 */
import { delimiter, join, resolve } from 'node:path';
import { UsageError } from '../errors';

export interface KubeconfigLocation {
  /**
   * Absolute paths in precedence order; one file unless they come from KUBECONFIG. Empty
   * when KUBECONFIG is set but names no file (`:`): kubectl then reads nothing.
   */
  files: string[];
  /** True for --kubeconfig: only that file is read, written and created. */
  explicit: boolean;
  /** The KUBECONFIG value, when the files come from it. */
  kubeconfigEnv?: string;
}

export interface LocateInput {
  /** --kubeconfig */
  explicit?: string;
  env: NodeJS.ProcessEnv;
  home: string;
}

/**
 * --kubeconfig PATH, else the KUBECONFIG path list, else ~/.kube/config.
 *
 * client-go loads each distinct entry of a non-empty KUBECONFIG and skips empty ones; it
 * falls back to ~/.kube/config only when KUBECONFIG is unset or empty. So `KUBECONFIG=:`
 * reads no file at all (kubectl shows no contexts, and `kubectl config set-context` fails
 * with "open : no such file or directory"): the location then has no files, listing finds
 * nothing, and writing is refused (see `assertWritable`) rather than going to a file
 * kubectl does not read.
 */
export function resolveKubeconfig({ explicit, env, home }: LocateInput): KubeconfigLocation {
  if (explicit) return { files: [resolve(explicit)], explicit: true };
  const value = env.KUBECONFIG ?? '';
  if (value === '') return { files: [join(home, '.kube', 'config')], explicit: false };
  const files = [...new Set(value.split(delimiter).filter((p) => p !== '').map((p) => resolve(p)))];
  return { files, explicit: false, kubeconfigEnv: value };
}

/** Refuses a location kubectl cannot write either: a KUBECONFIG naming no file. */
export function assertWritable(loc: KubeconfigLocation): void {
  if (loc.files.length > 0) return;
  throw new UsageError(`KUBECONFIG is set to ${JSON.stringify(loc.kubeconfigEnv ?? '')}, which names no file: kubectl reads no kubeconfig and cannot save one`, {
    hint: 'set KUBECONFIG to a file (e.g. `export KUBECONFIG=~/.kube/config`), unset it, or pass --kubeconfig PATH',
  });
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
