/**
 * `ankra cluster access diff -f access.yaml [--prune]`: what `apply` would change, and an
 * exit code CI can act on (10: the platform differs from the file).
 */
import { defineCommand, flag } from '../../../cli/spec';
import { UsageError, shellWord } from '../../../errors';
import { FILE_HELP, FOUND_EXIT } from '../../../access/docs';

export default defineCommand({
  path: ['cluster', 'access', 'diff'],
  summary: 'show what `apply -f FILE` would change: + create, ~ change, - delete (exit 10 on drift)',
  details: `${FILE_HELP}

Exit codes: 0 the clusters match the file · ${FOUND_EXIT} they differ (the plan is printed) · 1 a cluster's grants could not be listed · 2 a bad file or flag · 6 authentication · 7 permission (listing grants needs an organisation admin).`,
  args: {},
  flags: {
    file: flag.string('path', 'the access file (- reads standard input)', { short: '-f', completes: 'file' }),
    prune: flag.bool('also show the grants `apply --prune` would delete (those the file does not list, on the clusters it names)'),
  },
  examples: ['ankra cluster access diff -f access.yaml', 'ankra cluster access diff -f access.yaml --prune -o json'],
  check(o) {
    if (!o.file) throw new UsageError('no access file given', { hint: 'pass it with -f: `ankra cluster access diff -f access.yaml`' });
  },
  async run(opts, deps) {
    const { listFailure, planFile, showPlan } = await import('../../../access/workflow');
    const planned = await planFile(deps, opts.file as string, opts.prune);
    const report = await showPlan(deps, planned, opts.prune);
    // An error wins over drift: the plan is not whole.
    const failed = listFailure(planned, `ankra cluster access diff -f ${shellWord(opts.file as string)}${opts.prune ? ' --prune' : ''}`, 'left out of the plan');
    if (failed) throw failed;
    return report.drift ? FOUND_EXIT : 0;
  },
});
