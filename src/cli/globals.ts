/**
 * The options every command accepts, declared once: the runner reads them, `ankra help
 * options` lists them, completion offers them. Environment variables beside each.
 */
import { parseFormat, type Format } from '../ui/output';
import { flag } from './spec';

export const GLOBAL_FLAGS = {
  baseUrl: flag.string('url', 'Ankra API base URL (env ANKRA_BASE_URL; default https://platform.ankra.app, or the server of your last login)'),
  org: flag.string('org', 'organisation name, slug or id (env ANKRA_ORG; default: your current organisation)'),
  token: flag.string('token', 'Ankra API token for this command (env ANKRA_API_TOKEN; prefer `ankra login`)'),
  output: flag.parsed<Format>('format', 'output format: table, wide, json, yaml, name or jsonpath=TEMPLATE', parseFormat, {
    short: '-o',
    fallback: 'table',
    suggests: ['table', 'wide', 'json', 'yaml', 'name', 'jsonpath='],
  }),
  caFile: flag.string('path', 'extra CA bundle (PEM) to trust; also written into kubeconfig entries (env ANKRA_CA_FILE)', { completes: 'file' }),
  debug: flag.bool('log each request (credentials redacted) and show stack traces'),
};

/** Negatable ones: `--no-color` (also NO_COLOR) and `--no-headers`. */
export const NEGATABLE = {
  color: 'plain output without colour (also NO_COLOR)',
  headers: 'tables without the header line',
} as const;
