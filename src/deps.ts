/**
 * What a command runs with, built in one place: the process edges (environment, paths,
 * output, clock, a cancellation signal) and lazy adaptors for the outside world. Nothing
 * heavy is loaded until a command asks for it: `api()` imports the HTTP stack (src/net/transport) on
 * first use, so `--help`, completion and local commands never pay for it.
 *
 * Tests build the real thing aimed at a temporary HOME and the emulator.
 */
import type { AnkraApi } from './api/ankra';
import type { HttpClient } from './net/transport';
import type { CommandTree } from './cli/spec';
import { Credentials, notLoggedIn } from './auth/credentials';
import { resolve, type Resolved, type Target } from './auth/source';
import { resolvePaths, type Paths } from './core/paths';
import { Clusters } from './lookup/clusters';
import { Organisations } from './lookup/organisations';
import { Output, type Format } from './ui/output';

/** The options every command accepts (`ankra help options`). */
export interface GlobalFlags {
  baseUrl?: string;
  org?: string;
  token?: string;
  output: Format;
  caFile?: string;
  debug: boolean;
  color: boolean;
  headers: boolean;
}

export interface DepsOptions {
  /** For the exec plugin: see `ResolveOptions.exec`, and a deadline on every request. */
  exec?: boolean;
  /** Ctrl-C: aborts what is in flight. Default: a signal that never fires. */
  signal?: AbortSignal;
  now?: () => number;
  output?: Output;
  /** The command tree, for the commands that describe it (help, completion). */
  tree?: () => CommandTree;
}

export class Deps {
  readonly paths: Paths;
  readonly out: Output;
  readonly signal: AbortSignal;
  readonly now: () => number;
  readonly organisations: Organisations;
  readonly clusters: Clusters;
  private resolvedValue: Resolved | undefined;
  private httpClient: Promise<HttpClient> | undefined;
  private apiBase: Promise<AnkraApi> | undefined;
  private creds: Credentials | undefined | null = null;
  private noted = false;

  constructor(
    readonly flags: GlobalFlags,
    readonly env: NodeJS.ProcessEnv,
    private readonly options: DepsOptions = {},
  ) {
    this.paths = resolvePaths(env);
    this.out = options.output ?? new Output({ format: flags.output, color: flags.color, debug: flags.debug, headers: flags.headers });
    this.signal = options.signal ?? new AbortController().signal;
    this.now = options.now ?? Date.now;
    this.organisations = new Organisations(this);
    this.clusters = new Clusters(this);
  }

  /** The command tree (help topics, completion scripts). */
  tree(): CommandTree {
    const t = this.options.tree?.();
    if (!t) throw new Error('the command tree is not available here');
    return t;
  }

  /** Server, organisation, profile and credential source, decided without touching the keychain. */
  get resolved(): Resolved {
    this.resolvedValue ??= resolve({ baseUrl: this.flags.baseUrl, org: this.flags.org, token: this.flags.token }, this.env, this.paths, {
      exec: this.options.exec,
    });
    return this.resolvedValue;
  }

  get target(): Target {
    return this.resolved.target;
  }

  /** --ca-file, else ANKRA_CA_FILE. */
  get caFile(): string | undefined {
    return this.flags.caFile || this.env.ANKRA_CA_FILE || undefined;
  }

  readonly debug = (line: string): void => this.out.debug(line);

  /** The HTTP client for the API's base URL (imports the transport on first use). */
  http(): Promise<HttpClient> {
    this.httpClient ??= import('./net/transport').then(
      ({ HttpClient }) =>
        new HttpClient({
          baseUrl: this.target.baseUrl,
          caFile: this.caFile,
          env: this.env,
          debug: this.debug,
          signal: this.signal,
          // kubectl waits for the plugin, and other plugins wait for its lock: finish first.
          ...(this.options.exec ? { deadlineMs: 45_000 } : {}),
        }),
    );
    return this.httpClient;
  }

  /** The credential to use, or undefined when there is none (not logged in). */
  credentials(): Credentials | undefined {
    if (this.creds === null) {
      const { source, envTokenIgnored } = this.resolved;
      if (source && envTokenIgnored && !this.noted && !this.options.exec) {
        this.noted = true;
        this.out.info(`note: ANKRA_API_TOKEN is set but ignored; using the ${source.label}`);
      }
      this.creds = source ? new Credentials(source, this.target, { paths: this.paths, env: this.env, caFile: this.caFile, debug: this.debug, now: this.now }) : undefined;
    }
    return this.creds;
  }

  requireCredentials(): Credentials {
    const c = this.credentials();
    if (!c) throw notLoggedIn(this.target);
    return c;
  }

  /**
   * The API without an organisation header (the organisation list); one per command, so
   * every `api()` (its copy for the organisation) shares what the answers taught it, such
   * as the server's clock.
   */
  baseApi(): Promise<AnkraApi> {
    this.apiBase ??= (async () => {
      const { AnkraApi } = await import('./api/ankra');
      return new AnkraApi(await this.http(), this.credentials(), undefined);
    })();
    return this.apiBase;
  }

  /** The API without credentials (Ankra's CLI login). */
  async anonymousApi(): Promise<AnkraApi> {
    const { AnkraApi } = await import('./api/ankra');
    return new AnkraApi(await this.http(), undefined, undefined);
  }

  /** The API scoped to the chosen organisation. */
  async api(): Promise<AnkraApi> {
    this.requireCredentials();
    const orgId = await this.organisations.chosenId();
    return (await this.baseApi()).withOrg(orgId);
  }

  async close(): Promise<void> {
    if (this.httpClient) await (await this.httpClient.catch(() => undefined))?.close();
  }
}
