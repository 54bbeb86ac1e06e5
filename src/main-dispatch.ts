/** True when argv is the exec-credential command, with any options before or after. */
export function isKubeToken(argv: readonly string[]): boolean {
  const i = argv.indexOf('kube-token');
  return i > 0 && argv[i - 1] === 'cluster' && !argv.includes('--help') && !argv.includes('-h');
}
