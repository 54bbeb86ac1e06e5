declare const __ANKRA_VERSION__: string;

/** The package version, fixed at build time by esbuild's `define`. */
export const VERSION: string = typeof __ANKRA_VERSION__ === 'string' ? __ANKRA_VERSION__ : '0.0.0-dev';
export const USER_AGENT = `ankra/${VERSION}`;

/** `ankra --version` and `ankra version`: the version and what it runs on. */
export function versionLine(): string {
  return `ankra ${VERSION} (Node ${process.version}, ${process.platform}-${process.arch})`;
}

export function versionInfo(): { version: string; node: string; platform: string; arch: string } {
  return { version: VERSION, node: process.version, platform: process.platform, arch: process.arch };
}
