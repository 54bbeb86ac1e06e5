/** `ankra version`: the version and what it runs on. */
import { defineCommand } from '../cli/spec';
import { versionInfo, versionLine } from '../version';

export default defineCommand({
  path: ['version'],
  summary: 'print the version of ankra, Node.js and the platform',
  args: {},
  flags: {},
  examples: ['ankra version', 'ankra version -o json'],
  async run(_opts, deps) {
    if (deps.out.machine) await deps.out.result(versionInfo(), (v) => v.version);
    else deps.out.printRaw(versionLine());
    return 0;
  },
});
