/**
 * Opening a URL in the user's browser: a process edge, kept here. Only when there is a
 * display to show it on; failures are silent (the URL is printed anyway).
 */
import type * as ChildProcess from 'node:child_process';
import { builtin } from '../core/builtin';

const childProcess = builtin<typeof ChildProcess>('node:child_process');

/** CI=true/1/yes (what CI systems set); CI=false or CI=0 means not CI. */
export const isCI = (env: NodeJS.ProcessEnv): boolean => Boolean(env.CI) && !/^(false|0|no)$/i.test(env.CI ?? '');

export function canOpenBrowser(env: NodeJS.ProcessEnv): boolean {
  if (env.BROWSER === 'none' || isCI(env)) return false;
  if (process.platform === 'darwin' || process.platform === 'win32') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY || env.BROWSER);
}

/** Only web links are opened: the URL comes from the identity provider, not from us. */
function safeUrl(url: string): boolean {
  try {
    return ['https:', 'http:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

export function openBrowser(url: string, env: NodeJS.ProcessEnv): void {
  if (!safeUrl(url)) return;
  const [cmd, args] =
    env.BROWSER && env.BROWSER !== 'none'
      ? [env.BROWSER, [url]]
      : process.platform === 'darwin'
        ? ['open', [url]]
        : process.platform === 'win32'
          ? // Not `cmd /c start`: cmd would interpret & and | inside the URL.
            ['rundll32', ['url.dll,FileProtocolHandler', url]]
          : ['xdg-open', [url]];
  try {
    const child = childProcess().spawn(cmd, args, { stdio: 'ignore', detached: true, env });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no browser: the printed URL is enough
  }
}
