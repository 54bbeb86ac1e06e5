// What the tests need from the machine beyond Node and npm, in one place. A need is a group
// of programs on PATH and the command that installs them. Outside CI a missing need skips
// the tests that use it, with one line on stderr saying what to install; in CI (CI set and
// not "false" or "0") nothing is skipped: the tests run, and `assert()` fails them with that
// line. Node built-ins only, so any test file or script can use it.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const IN_CI = Boolean(process.env.CI) && !/^(false|0)$/i.test(process.env.CI ?? '');

/** The absolute path of `cmd` on PATH, or undefined. Looks at the files only: runs nothing. */
export function onPath(cmd, path = process.env.PATH ?? '') {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

const announced = new Set();

/**
 * `what` (e.g. "the real-keychain tests") needs `programs`; `install` says how to get them
 * (e.g. "apt-get install -y dbus gnome-keyring"). Use `skip` with `describe.skipIf` /
 * `it.skipIf`, and call `assert()` first thing in those tests (or their beforeAll).
 */
export function need(what, programs, install) {
  const missing = programs.filter((p) => !onPath(p));
  const line = missing.length ? `${what} need ${missing.join(', ')}: ${install}` : '';
  const skip = missing.length > 0 && !IN_CI;
  if (skip && !announced.has(line)) {
    announced.add(line);
    console.warn(`skipped: ${line}`);
  }
  return {
    missing,
    skip,
    assert() {
      if (missing.length) throw new Error(IN_CI ? `${line} (required in CI)` : line);
    },
  };
}
