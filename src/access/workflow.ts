/**
 * What `diff` and `apply` share: read the access file, check it against the organisation
 * (nothing is changed while anything is wrong), list the grants on the clusters it names
 * (bounded fan-out; a cluster that fails is reported, not hidden) and plan each one; show
 * the plan as a table or as one object for `-o json|yaml`. Loads yaml (through `file.ts`):
 * commands import this module lazily.
 */
import { readFileSync } from 'node:fs';
import type { Deps } from '../deps';
import { AccessUnavailableError, AnkraError, Exit, UsageError, messageOf, shellWord } from '../errors';
import { fanOut, reportFailures } from '../commands/shared/fanout';
import { grantsOn } from '../commands/shared/grants';
import type { Column, View } from '../ui/output';
import { checkAgainstOrganisation } from './check';
import { organisationView } from './org';
import { formatProblem, parseAccessFile, type AccessFile, type Problem } from './file';
import { planCluster, totals, type Change, type ClusterPlan, type Totals } from './plan';

/** At most this many problems are listed; the count says how many more. */
const MAX_LISTED = 50;

export interface Planned {
  file: AccessFile;
  plans: ClusterPlan[];
  /** Clusters whose grants could not be listed: not planned. */
  errors: Array<{ cluster: string; cluster_id: string; error: string }>;
  /** 0, or 1 when some clusters could not be listed (their lines are printed). */
  code: number;
}

/** The plan as `-o json|yaml` prints it (diff, apply --dry-run). */
export interface PlanReport {
  file: string;
  prune: boolean;
  clusters: number;
  changes: Change[];
  summary: Totals;
  errors: Planned['errors'];
  drift: boolean;
}

/**
 * The last line of a diff or an apply when some clusters' grants could not be read: they were
 * left out of the plan (and, for apply, left as they are), and the command to run again.
 */
export function listFailure(planned: Planned, again: string, outcome: 'left out of the plan' | 'left as they are'): AnkraError | undefined {
  const n = planned.errors.length;
  if (!n) return undefined;
  const said = outcome === 'left out of the plan' ? `the plan leaves ${n === 1 ? 'it' : 'them'} out` : `${n === 1 ? 'its grants are' : 'their grants are'} left as they are`;
  return new AnkraError(`could not list the grants on ${planned.errors.map((e) => e.cluster).join(', ')}: ${said}`, Exit.FAILURE, { hint: `run \`${again}\` again` });
}

/** Reads, parses and checks the file; plans every cluster it names. Nothing changes. */
export async function planFile(deps: Deps, path: string, prune: boolean): Promise<Planned> {
  const file = readAccessFile(deps, path);
  const { clusters, users } = await organisationView(deps);
  const { targets, problems } = checkAgainstOrganisation(file, clusters, users);
  if (problems.length) throw fileProblems(deps, file.name, path, problems);

  const outcomes = await fanOut(
    deps,
    targets.map((t) => t.cluster),
    'Listing grants',
    (c) => grantsOn(deps, { id: c.id, label: c.name }),
  );
  // One line per cluster here; the command's last line names them all (listFailure).
  reportFailures(deps, outcomes, 'list its grants', { summary: false });
  // reportFailures is quiet about clusters without Cluster Access; the file named them.
  for (const o of outcomes) if (o.error instanceof AccessUnavailableError) deps.out.warn(`${o.cluster.name}: ${messageOf(o.error)}`);
  const plans: ClusterPlan[] = [];
  const errors: Planned['errors'] = [];
  outcomes.forEach((o, i) => {
    const section = targets[i]?.section;
    if (o.value && section) plans.push(planCluster(o.cluster, section.entries, o.value, prune));
    else errors.push({ cluster: o.cluster.name, cluster_id: o.cluster.id, error: messageOf(o.error) });
  });
  return { file, plans, errors, code: errors.length ? Exit.FAILURE : Exit.OK };
}

/** The file's text, parsed; every problem of its shape at once, with line and field. */
export function readAccessFile(deps: Deps, path: string): AccessFile {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : messageOf(err);
    throw new UsageError(`cannot read ${path}: ${why}`, { hint: 'pass the access file with -f FILE (or -f - for standard input)' });
  }
  const name = path === '-' ? '(stdin)' : path;
  const { file, problems } = parseAccessFile(text, name);
  if (problems.length) throw fileProblems(deps, name, path, problems);
  return file;
}

/** One problem: the error itself. Several: each on its own line, then the error. */
function fileProblems(deps: Deps, name: string, path: string, problems: Problem[]): UsageError {
  const fix = `fix ${problems.length === 1 ? 'it' : 'them'}, then check with \`ankra cluster access diff -f ${shellWord(path)}\``;
  if (problems.length === 1 && problems[0]) return new UsageError(`${formatProblem(name, problems[0])}; nothing was changed`, { hint: fix });
  for (const p of problems.slice(0, MAX_LISTED)) deps.out.info(formatProblem(name, p));
  if (problems.length > MAX_LISTED) deps.out.info(`… and ${problems.length - MAX_LISTED} more`);
  return new UsageError(`${name} has ${problems.length} problems; nothing was changed`, { hint: fix });
}

export function planReport(planned: Planned, prune: boolean): PlanReport {
  const changes = planned.plans.flatMap((p) => p.changes);
  return { file: planned.file.name, prune, clusters: planned.plans.length, changes, summary: totals(planned.plans), errors: planned.errors, drift: changes.length > 0 };
}

const SIGN: Record<Change['action'], string> = { create: '+', change: '~', delete: '-' };

export const changeColumns: Column<Change>[] = [
  { header: '', value: (c) => SIGN[c.action], style: (c) => (c.action === 'create' ? 'green' : c.action === 'change' ? 'yellow' : 'red') },
  // One flexible column: Output.fitToTerminal does not end when two of them are as wide and too wide.
  { header: 'Cluster', value: (c) => c.cluster },
  { header: 'User', value: (c) => c.user_email ?? '?', flex: true },
  { header: 'Namespace', value: (c) => (c.scope === 'namespace' ? (c.namespace ?? '?') : '*') },
  { header: 'Role', value: (c) => (c.action === 'change' ? `${c.from_role ?? '?'} → ${c.role}` : c.role) },
  { header: 'Line', value: (c) => (c.line === undefined ? '-' : String(c.line)), wide: true },
  { header: 'Grant', value: (c) => c.grant_id ?? '-', wide: true },
];

/** Prints the plan (a table on stdout, or the report for -o json|yaml) and a summary on stderr. */
export async function showPlan(deps: Deps, planned: Planned, prune: boolean, dryRun = false): Promise<PlanReport> {
  const report = planReport(planned, prune);
  if (deps.out.machine) await deps.out.result(report);
  else await deps.out.data(report.changes, { columns: changeColumns } satisfies View<Change>);
  deps.out.info(summaryLine(report, dryRun));
  noteFailing(deps, report.summary);
  return report;
}

export function summaryLine(report: PlanReport, dryRun: boolean): string {
  const s = report.summary;
  const on = `${report.clusters} cluster${report.clusters === 1 ? '' : 's'}`;
  const left = s.left_alone ? `; ${s.left_alone} grant${s.left_alone === 1 ? '' : 's'} not in ${report.file} left alone (--prune deletes ${s.left_alone === 1 ? 'it' : 'them'})` : '';
  const tail = dryRun ? ' (dry run: nothing changed)' : '';
  if (!report.drift) return `No changes: the grants on ${on} match ${report.file} (${s.unchanged} unchanged)${left}${tail}`;
  return `Plan for ${on}: ${s.create} to create, ${s.change} to change, ${s.delete} to delete; ${s.unchanged} unchanged${left}${tail}`;
}

export function noteFailing(deps: Deps, s: Totals): void {
  if (s.failing) deps.out.warn(`${s.failing} grant${s.failing === 1 ? '' : 's'} the file lists failed to apply on the cluster; see \`ankra cluster access review\``);
}
