import { VERSION } from '../version';

/** `ankra --version` and `ankra version`: the version and what it runs on. */
export function versionLine(): string {
  return `ankra ${VERSION} (Node ${process.version}, ${process.platform}-${process.arch})`;
}

export function versionInfo(): { version: string; node: string; platform: string; arch: string } {
  return { version: VERSION, node: process.version, platform: process.platform, arch: process.arch };
}
