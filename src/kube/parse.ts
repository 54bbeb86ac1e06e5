/**
 * Parsing and validating one kubeconfig file. The parsed `Document` keeps its source
 * tokens so that edits can be spliced into the original text (see edit.ts); the plain
 * `data` view is what merging and planning work on.
 */
import { parseDocument, isMap } from 'yaml';
import type { Document, ParseOptions, DocumentOptions, SchemaOptions } from 'yaml';
import { AnkraError, Exit } from '../errors';

export const KINDS = ['clusters', 'users', 'contexts'] as const;
export type Kind = (typeof KINDS)[number];

/** One element of `clusters`, `users` or `contexts`, as plain data. */
export type Entry = { name: string } & Record<string, unknown>;

export interface KubeconfigData {
  clusters: Entry[];
  users: Entry[];
  contexts: Entry[];
  /** '' when unset, as client-go reads it. */
  currentContext: string;
}

export interface ParsedKubeconfig {
  file: string;
  text: string;
  doc: Document.Parsed;
  /** The whole file as plain data (`{}` for an empty one); `data` shares its entries. */
  plain: Record<string, unknown>;
  data: KubeconfigData;
}

/**
 * kubectl reads kubeconfig with go-yaml v2, i.e. YAML 1.1: `yes`, `on` and `no` are
 * booleans there and `<<` merges. Parsing and rendering as 1.1 keeps our view and the
 * strings we write (quoted when 1.1 would misread them) in line with kubectl's.
 */
export const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  keepSourceTokens: true,
  prettyErrors: true,
};

export function parseKubeconfig(file: string, text: string): ParsedKubeconfig {
  const doc = parseDocument(text, YAML_OPTIONS);
  const [error] = doc.errors;
  if (error?.code === 'MULTIPLE_DOCS') throw invalidKubeconfig(file, 'it holds more than one YAML document');
  if (error) {
    const at = error.linePos ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '';
    const what = error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? error.code;
    throw invalidKubeconfig(file, `YAML syntax error${at}: ${what}`);
  }
  if (doc.contents !== null && !isMap(doc.contents)) throw invalidKubeconfig(file, 'the top level is not a mapping');
  const plain = plainContents(file, doc);
  return { file, text, doc, plain, data: toData(file, plain) };
}

/** The error for a file we refuse to read or edit; callers leave the file untouched. */
export function invalidKubeconfig(file: string, problem: string): AnkraError {
  return new AnkraError(`${file} is not a valid kubeconfig: ${problem}`, Exit.FAILURE, {
    hint: 'fix or move that file, then run the command again',
  });
}

function plainContents(file: string, doc: Document.Parsed): Record<string, unknown> {
  try {
    return (doc.toJS() as Record<string, unknown> | null) ?? {};
  } catch (err) {
    // e.g. an alias to an undefined anchor, or an alias bomb past maxAliasCount
    throw invalidKubeconfig(file, err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err));
  }
}

function toData(file: string, top: Record<string, unknown>): KubeconfigData {
  const current = top['current-context'];
  if (current !== undefined && current !== null && typeof current !== 'string') {
    throw invalidKubeconfig(file, '`current-context` is not a string');
  }
  return {
    clusters: entries(file, top, 'clusters'),
    users: entries(file, top, 'users'),
    contexts: entries(file, top, 'contexts'),
    currentContext: current ?? '',
  };
}

function entries(file: string, top: Record<string, unknown>, kind: Kind): Entry[] {
  const list = top[kind];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw invalidKubeconfig(file, `\`${kind}\` is not a list`);
  const seen = new Set<string>();
  return list.map((item: unknown, i) => {
    if (!isRecord(item)) throw invalidKubeconfig(file, `entry ${i + 1} of \`${kind}\` is not a mapping`);
    const { name } = item;
    if (typeof name !== 'string' || name === '') {
      throw invalidKubeconfig(file, `entry ${i + 1} of \`${kind}\` has no name`);
    }
    // client-go refuses such a file too ("duplicate name in list")
    if (seen.has(name)) throw invalidKubeconfig(file, `the name "${name}" appears twice in \`${kind}\``);
    seen.add(name);
    return item as Entry;
  });
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
