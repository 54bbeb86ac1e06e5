/**
 * The ExecCredential that kubectl (client-go) and the other clients read from the plugin's
 * stdout. Node built-ins only: the cache hit prints it.
 */

export type ExecApiVersion = 'client.authentication.k8s.io/v1' | 'client.authentication.k8s.io/v1beta1';

/** kubectl says which ExecCredential version it wants in KUBERNETES_EXEC_INFO; v1 when absent. */
export function execApiVersion(env: NodeJS.ProcessEnv): ExecApiVersion {
  const info = env.KUBERNETES_EXEC_INFO;
  if (info) {
    try {
      const v = (JSON.parse(info) as { apiVersion?: unknown }).apiVersion;
      if (v === 'client.authentication.k8s.io/v1beta1') return v;
    } catch {
      // malformed: answer with v1
    }
  }
  return 'client.authentication.k8s.io/v1';
}

// Go's time.Parse(time.RFC3339, …), which client-go uses, takes four-digit years only.
const FIRST_MS = Date.UTC(1970, 0, 1);
const LAST_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

/**
 * An instant as RFC 3339 in UTC with whole seconds, the form client-go parses; undefined
 * for an instant it cannot parse (not a number, or a year outside 1970–9999).
 */
export function rfc3339Seconds(ms: number): string | undefined {
  if (!Number.isFinite(ms) || ms < FIRST_MS || ms > LAST_MS) return undefined;
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * One ExecCredential line. An expiry that cannot be written in a form kubectl parses is left
 * out (the credential then has no expiry, and kubectl re-runs the plugin after a 401).
 */
export function execCredential(token: string, expiresAt: string, apiVersion: ExecApiVersion): string {
  const expirationTimestamp = rfc3339Seconds(Date.parse(expiresAt));
  const status = expirationTimestamp ? { token, expirationTimestamp } : { token };
  return `${JSON.stringify({ apiVersion, kind: 'ExecCredential', status })}\n`;
}
