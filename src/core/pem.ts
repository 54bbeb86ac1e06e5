/**
 * PEM bundles given with --ca-file: only the certificates in them are ever used or copied
 * (into kubeconfig entries); anything else in the file (a private key kept beside the CA,
 * say) is dropped and reported. Node built-ins only.
 */

export interface CertificateBundle {
  /** The certificate blocks, one after the other, each ending in a newline. */
  pem: string;
  count: number;
  /** The labels of other PEM blocks that were left out, e.g. "PRIVATE KEY". */
  dropped: string[];
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

export function certificatesOf(text: string): CertificateBundle {
  const certs: string[] = [];
  const dropped: string[] = [];
  for (const m of text.matchAll(BLOCK)) {
    if (m[1] === 'CERTIFICATE') certs.push(`${m[0].replace(/\r\n/g, '\n')}\n`);
    else dropped.push(m[1] ?? 'unknown');
  }
  return { pem: certs.join(''), count: certs.length, dropped };
}
