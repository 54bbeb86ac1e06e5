/**
 * `ankra cluster access apply -f access.yaml [--dry-run] [--prune] [--wait]`: make the
 * grants on the clusters the file names match it. Idempotent: a second run changes
 * nothing and says so.
 */
import { defineCommand, flag } from '../../../cli/spec';
import { UsageError, shellWord } from '../../../errors';
import { FILE_HELP } from '../../../access/docs';
import { parseDuration } from '../../shared/values';

const DEFAULT_TIMEOUT_MS = 300_000;

export default defineCommand({
  path: ['cluster', 'access', 'apply'],
  summary: 'make the grants on the clusters an access file names match it (access as code)',
  details: `${FILE_HELP}

On each cluster new grants are made first, then role changes (the old grant goes and the new one follows at once: the API holds one grant per person and scope), then deletes. Grants the file does not list stay unless --prune. With --wait a person's dropped grants go only once their new ones are applied. Each change prints a result line.

Exit codes: 0 done (or nothing to do) · 1 a change or a cluster failed (the others were made) · 2 a bad file or flag (nothing changed) · 5 --wait: not all new grants applied in time, or a cluster is offline · 6 authentication · 7 permission (needs an organisation admin).`,
  args: {},
  flags: {
    file: flag.string('path', 'the access file (- reads standard input)', { short: '-f', completes: 'file' }),
    dryRun: flag.bool('print the plan (as `diff` does) and change nothing'),
    prune: flag.bool('delete grants the file does not list, on the clusters it names only'),
    wait: flag.bool('wait until Ankra has applied every new grant'),
    timeout: flag.parsed('duration', 'how long --wait waits (e.g. 90s, 5m; default 5m)', parseDuration),
  },
  examples: ['ankra cluster access apply -f access.yaml --dry-run', 'ankra cluster access apply -f access.yaml --prune --wait -o json'],
  check(o) {
    if (!o.file) throw new UsageError('no access file given', { hint: 'pass it with -f: `ankra cluster access apply -f access.yaml`' });
    if (o.timeout !== undefined && !o.wait) throw new UsageError('--timeout only applies with --wait', { hint: 'add --wait, or drop --timeout' });
    if (o.dryRun && o.wait) throw new UsageError('--dry-run changes nothing, so there is nothing to --wait for', { hint: 'drop one of them' });
  },
  async run(opts, deps) {
    const file = opts.file as string;
    const { listFailure, planFile, planReport, showPlan, summaryLine, noteFailing } = await import('../../../access/workflow');
    const planned = await planFile(deps, file, opts.prune);
    const again = `ankra cluster access apply -f ${shellWord(file)}${opts.prune ? ' --prune' : ''}`;
    if (opts.dryRun) {
      await showPlan(deps, planned, opts.prune, true);
      const failed = listFailure(planned, `${again} --dry-run`, 'left out of the plan');
      if (failed) throw failed;
      return 0;
    }
    const report = planReport(planned, opts.prune);
    const listFailed = listFailure(planned, again, 'left as they are');
    if (!report.drift) {
      await deps.out.result({ ...report, dry_run: false });
      deps.out.info(summaryLine(report, false));
      noteFailing(deps, report.summary);
      if (listFailed) throw listFailed;
      return 0;
    }
    const { executePlans } = await import('../../../access/execute');
    const { applied, outcome } = await executePlans(deps, planned.plans, { wait: opts.wait, timeoutMs: opts.timeout ?? DEFAULT_TIMEOUT_MS, file });
    const count = (r: string) => applied.filter((a) => a.result === r).length;
    const done = (action: string) => applied.filter((a) => a.result === 'done' && a.action === action).length;
    const summary = { ...report.summary, done: count('done'), failed: count('failed'), skipped: count('skipped') };
    await deps.out.result({ ...report, dry_run: false, changes: applied, summary });
    const s = report.summary;
    const clusters = new Set(applied.map((a) => a.cluster_id)).size;
    const extra = [summary.failed ? `${summary.failed} failed` : '', summary.skipped ? `${summary.skipped} kept for now` : ''].filter(Boolean).join(', ');
    deps.out.info(
      `Applied ${report.file} on ${clusters} cluster${clusters === 1 ? '' : 's'}: ${done('create')} created, ${done('change')} changed, ${done('delete')} deleted` +
        `${extra ? ` (${extra})` : ''}; ${s.unchanged} unchanged${s.left_alone ? `; ${s.left_alone} not in the file left alone (--prune deletes them)` : ''}`,
    );
    noteFailing(deps, s);
    if (outcome) throw outcome;
    if (listFailed) throw listFailed;
    return 0;
  },
});
