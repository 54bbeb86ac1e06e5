/**
 * URL rules shared by everything that talks to a server: which hosts are loopback (plain
 * http is allowed only there), and the canonical form of a base URL. Node built-ins only.
 */

/** localhost, 127.0.0.0/8 and ::1: the only hosts plain http may carry a credential to. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === 'localhost' || h === '[::1]' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Plain http to anything but loopback needs ANKRA_ALLOW_INSECURE_HTTP=1 (as Ankra's Go CLI). */
export function insecureHttpAllowed(url: URL, env: NodeJS.ProcessEnv): boolean {
  return url.protocol !== 'http:' || isLoopbackHost(url.hostname) || env.ANKRA_ALLOW_INSECURE_HTTP === '1';
}
