/**
 * YAML for output (`-o yaml`), the access-as-code files and Ankra's Go CLI's
 * `~/.ankra.yaml`: the yaml package's owner outside the kubeconfig editor (`kube/`).
 * Loaded only by the commands that need it.
 */
import { LineCounter, parseDocument, stringify as yamlStringify, isMap, isScalar, isSeq, type Document } from 'yaml';

export { LineCounter, parseDocument, isMap, isScalar, isSeq };
export type { Document };

/** Data as YAML, every string on one line (no folding). */
export function stringify(value: unknown): string {
  return yamlStringify(value, { lineWidth: 0 });
}
