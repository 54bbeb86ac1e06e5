/**
 * `ankra auth token`: print the Ankra API token in use, for scripts (`curl -H "Authorization:
 * Bearer $(ankra auth token)"`). On a terminal it warns first: the token is a secret.
 */
import { defineCommand } from '../../cli/spec';

export default defineCommand({
  path: ['auth', 'token'],
  summary: 'print the Ankra API token in use (for scripts; it is a secret)',
  args: {},
  flags: {},
  examples: ['curl -H "Authorization: Bearer $(ankra auth token)" https://platform.ankra.app/api/v1/clusters'],
  async run(_opts, deps) {
    const creds = deps.requireCredentials();
    const token = await creds.bearer();
    if (deps.out.isTTY) deps.out.warn('this is a secret: anyone with it acts as you until it expires or is revoked');
    deps.out.printRaw(token);
    return 0;
  },
});
