/**
 * The kubeconfig module: the only code that reads or writes kubeconfig files. Commands
 * call the functions here; the pure parts live beside it (locate, names, exec-entry, scan,
 * parse, plan, edit) and the file system edges in files.ts and ../core/lock.ts.
 *
 * A write follows kubectl: lock the files to change (`<file>.lock`), read them again under
 * the lock so a concurrent writer's entries are kept (an unchanged file is not parsed
 * again, nor planned again), plan, splice, replace atomically (or in place where rename
 * cannot: a bind-mounted file).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { acquireLock } from '../core/lock';
import type { Lock } from '../core/lock';
import { AnkraError, Exit } from '../errors';
import { applyEdits, editedData } from './edit';
import { fsReason, loadFile, prepareWrite, rememberWritten, writeKubeconfigFile } from './files';
import type { LoadedFile, WriteMethod } from './files';
import { assertWritable } from './locate';
import type { KubeconfigLocation } from './locate';
import { knownKubeconfig, parseKubeconfig } from './parse';
import { ankraContexts, mergeFiles, planRemove, planUpsert } from './plan';
import type { AnkraContext, EntrySpec, FileState, Plan, RemoveMatch, RemoveResult, UpsertResult } from './plan';

export { resolveKubeconfig } from './locate';
export type { KubeconfigLocation, LocateInput } from './locate';
export { clusterSlug, entryName } from './names';
export type { NameHolder, OrgName, TakenNames } from './names';
export type { WriteMethod } from './files';
export { buildExecEntry, parseAnkraExec, EXEC_API_VERSION, INSTALL_HINT } from './exec-entry';
export type { ExecConfig, ExecSpec } from './exec-entry';
export type { AnkraContext, EntrySpec, RemoveMatch, RemoveResult, UpsertedEntry, UpsertResult } from './plan';

export interface Written {
  /** The files that were replaced or created, as named in the location. */
  written: string[];
  /** How each of them was written, for `--debug`. */
  writes: FileWrite[];
}

export interface FileWrite {
  /** As named in the location (a symlink is written through to its target). */
  file: string;
  /** `rename`: a temp file renamed over it; `in-place`: rewritten in place, where rename was refused. */
  method: WriteMethod;
  /** Why rename was refused (EBUSY: a bind-mounted file; EXDEV: across file systems). */
  renameRefused?: string;
  /** `splice`: only our entries changed, every other byte kept; `restringify`: the whole file re-rendered. */
  edit: 'splice' | 'restringify';
}

/** The Ankra contexts kubectl sees (merged over every file), in kubectl's order. */
export async function listAnkraContexts(loc: KubeconfigLocation): Promise<AnkraContext[]> {
  const files = await loadAll(loc);
  return ankraContexts(mergeFiles(files.map(stateOf)));
}

export interface WriteOptions {
  /** How long to wait for a lock held by kubectl or another ankra; default 10 s. */
  lockTimeoutMs?: number;
}

export interface UpsertOptions extends WriteOptions {
  /** The cluster id (one of the specs) whose context becomes current-context. */
  use?: string;
}

/**
 * Adds or refreshes the cluster, user and context entries of each cluster. An existing
 * Ankra context for the same cluster id (also one written by Ankra's Go CLI) is replaced
 * in place under its own name; entries that already match are left alone.
 */
export async function upsertAnkraEntries(
  loc: KubeconfigLocation,
  specs: readonly EntrySpec[],
  opts: UpsertOptions = {},
): Promise<UpsertResult & Written> {
  return mutate(loc, (files) => planUpsert(files, specs, opts.use), opts);
}

/** Removes matching Ankra entries from every file that defines them; see planRemove and RemoveMatch (an `org` keeps it to one organisation). */
export async function removeAnkraEntries(loc: KubeconfigLocation, match: RemoveMatch, opts: WriteOptions = {}): Promise<RemoveResult & Written> {
  return mutate(loc, (files) => planRemove(files, match), opts);
}

/** A kubeconfig holding only these entries, for `--print`; `use` as in upsertAnkraEntries. */
export function renderStandaloneKubeconfig(specs: readonly EntrySpec[], opts: { use?: string } = {}): string {
  const empty = parseKubeconfig('<standalone>', '');
  const { edits } = planUpsert([{ path: empty.file, exists: false, data: empty.data }], specs, opts.use);
  return applyEdits(empty, edits.get(empty.file) ?? []).text;
}

async function mutate<R>(loc: KubeconfigLocation, plan: (files: FileState[]) => Plan<R>, opts: WriteOptions): Promise<R & Written> {
  assertWritable(loc);
  // The plan made before locking only says which files to lock; the one that counts is
  // made again under the lock. Should it need a file we did not lock (another writer
  // created one meanwhile), start over.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const read = await loadAll(loc);
    const draft = { files: read, ...plan(read.map(stateOf)) };
    const targets = [...draft.edits.keys()];
    if (targets.length === 0) return { ...draft.result, written: [], writes: [] };
    // the lock sits beside the file, so a new file's directory must exist first
    await Promise.all(targets.map((file) => mkdir(dirname(file), { recursive: true, mode: 0o700 })));
    const done = await withKubeconfigLocks(targets, opts.lockTimeoutMs ?? 10_000, () => writePlanned(loc, plan, targets, draft));
    if (done) return done;
  }
  throw new AnkraError('the kubeconfig files kept changing while ankra was editing them', Exit.FAILURE, {
    hint: 'run the command again',
  });
}

async function writePlanned<R>(
  loc: KubeconfigLocation,
  plan: (files: FileState[]) => Plan<R>,
  locked: string[],
  draft: Plan<R> & { files: LoadedFile[] },
): Promise<(R & Written) | undefined> {
  // read again under the lock (a file whose bytes did not change keeps its parse, and when
  // none changed, the plan made from them stands: planning is a function of the files' data)
  const files = await loadAll(loc);
  const unchanged = files.every((f, i) => f.exists === draft.files[i]?.exists && f.parsed === draft.files[i]?.parsed);
  const { edits, result } = unchanged ? draft : plan(files.map(stateOf));
  if (![...edits.keys()].every((file) => locked.includes(file))) return undefined;
  // render every file, and check that each may be written, before writing any, so a file
  // we cannot edit stops us early
  const changes = [];
  for (const file of files) {
    const fileEdits = edits.get(file.path);
    if (!fileEdits) continue;
    const { text, method } = applyEdits(file.parsed, fileEdits);
    if (file.exists && text === file.parsed.text) continue;
    changes.push({ file, text, edit: method, target: await prepareWrite(file), fileEdits });
  }
  const writes: FileWrite[] = [];
  for (const { file, text, edit, target, fileEdits } of changes) {
    const bytes = Buffer.from(text, 'utf8');
    const outcome = await writeKubeconfigFile(file, target, bytes);
    writes.push({ file: file.path, ...outcome, edit });
    // The new text was checked to mean the edited data: reading it back in this process
    // (a listing after an add) takes that data rather than parsing the file again.
    rememberWritten(file.path, bytes, knownKubeconfig(file.path, text, editedData(file.parsed, fileEdits)));
  }
  return { ...result, written: writes.map((w) => w.file), writes };
}

/**
 * kubectl's lock on each file (`<file>.lock`, created exclusively; see src/core/lock.ts
 * for stale locks), taken in sorted order as client-go does, so that two writers can never
 * each hold a lock the other waits for.
 */
async function withKubeconfigLocks<T>(files: readonly string[], timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const locks: Lock[] = [];
  try {
    for (const file of [...files].sort()) locks.push(await lockKubeconfig(file, timeoutMs));
    return await fn();
  } finally {
    for (const lock of locks.reverse()) lock.release();
  }
}

async function lockKubeconfig(file: string, timeoutMs: number): Promise<Lock> {
  try {
    // kubectl's own lock files are empty: only their age (60 s) tells they are left over
    return await acquireLock(`${file}.lock`, { what: `kubeconfig ${file}`, timeoutMs, staleMs: 60_000 });
  } catch (err) {
    if (err instanceof AnkraError) throw err;
    throw new AnkraError(`cannot create the kubeconfig lock ${file}.lock: ${fsReason(err)}`, Exit.FAILURE, {
      hint: 'check that you may write to that directory, or pass --kubeconfig with a file you own',
      cause: err,
    });
  }
}

function loadAll(loc: KubeconfigLocation): Promise<LoadedFile[]> {
  return Promise.all(loc.files.map((path) => loadFile(path)));
}

function stateOf(file: LoadedFile): FileState {
  return { path: file.path, exists: file.exists, data: file.parsed.data };
}
