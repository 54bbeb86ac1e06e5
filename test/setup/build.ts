// Vitest global setup: the end-to-end tests run the built binary and emulator, so make
// sure the build is current (a no-op when nothing changed since the last build).
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

export default function setup(): void {
  const root = resolve(import.meta.dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'test', 'tools', 'ensure-built.mjs'), 'cli'], { stdio: 'inherit', cwd: root });
}
