/**
 * Does a Kubernetes token still work? One request to the cluster's Kubernetes API through
 * Ankra's proxy (`GET {server}/api`, which needs authentication but no RBAC permission),
 * sent as kubectl would send it: the token as a bearer, the same CA and proxy settings as the
 * API calls. Only a 401 means the token is dead; a 403 means it authenticated (the grant may
 * be pending); anything else (no answer, 5xx, an offline cluster) proves nothing.
 */
import { HttpClient } from '../net/transport';

export type Verdict = 'alive' | 'dead' | 'unknown';

export interface VerifyOptions {
  env: NodeJS.ProcessEnv;
  /** Extra CA bundle, as for the API (--ca-file / ANKRA_CA_FILE). */
  caFile?: string;
  /** The whole check, in ms (default 5 s): a slow answer proves nothing. */
  timeoutMs?: number;
  debug?: (line: string) => void;
}

export async function verifyToken(server: string, token: string, opts: VerifyOptions): Promise<Verdict> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  let http: HttpClient;
  try {
    http = new HttpClient({ baseUrl: server, caFile: opts.caFile, env: opts.env, timeoutMs, deadlineMs: timeoutMs, attempts: 1, debug: opts.debug });
  } catch {
    return 'unknown'; // e.g. plain http to a remote host, or an unreadable CA file
  }
  try {
    const res = await http.send({ method: 'GET', path: '/api', headers: { authorization: `Bearer ${token}` } });
    if (res.status === 401) return 'dead';
    if ((res.status >= 200 && res.status < 300) || res.status === 403) return 'alive';
    return 'unknown';
  } catch {
    return 'unknown';
  } finally {
    await http.close().catch(() => undefined);
  }
}
