/**
 * Everything a command needs, built in one place from the global options and the
 * environment: paths, output, the resolved server/organisation/credential, and lazily the
 * HTTP client and the API. Tests build the real thing aimed at a temp HOME and the emulator.
 */
import { AnkraApi, notLoggedIn } from './api/ankra';
import { HttpClient } from './api/http';
import { looksLikeId, type Cluster, type Organisation } from './api/types';
import { Credentials } from './auth/credentials';
import { resolve, type ResolveOptions, type Resolved, type Target } from './auth/source';
import { NotFoundError, UsageError } from './errors';
import { resolvePaths, type Paths } from './core/paths';
import { Output, type Format } from './ui/output';

export interface GlobalOptions {
  baseUrl?: string;
  org?: string;
  token?: string;
  output: Format;
  caFile?: string;
  debug: boolean;
  color: boolean;
}

export interface ClusterRef {
  id: string;
  name: string;
}

export class Context {
  readonly paths: Paths;
  readonly out: Output;
  private resolvedValue: Resolved | undefined;
  private httpClient: HttpClient | undefined;
  private creds: Credentials | undefined | null = null;
  private orgIdValue: Promise<string | undefined> | undefined;
  private orgsValue: Promise<Organisation[]> | undefined;
  private noted = false;

  constructor(
    readonly global: GlobalOptions,
    readonly env: NodeJS.ProcessEnv,
    /** For the exec plugin: see `ResolveOptions.exec`. */
    private readonly resolveOptions: ResolveOptions = {},
  ) {
    this.paths = resolvePaths(env);
    this.out = new Output({ format: global.output, color: global.color, debug: global.debug });
  }

  get resolved(): Resolved {
    this.resolvedValue ??= resolve({ baseUrl: this.global.baseUrl, org: this.global.org, token: this.global.token }, this.env, this.paths, this.resolveOptions);
    return this.resolvedValue;
  }

  get target(): Target {
    return this.resolved.target;
  }

  get caFile(): string | undefined {
    return this.global.caFile || this.env.ANKRA_CA_FILE || undefined;
  }

  readonly debug = (line: string): void => this.out.debug(line);

  http(): HttpClient {
    this.httpClient ??= new HttpClient({
      baseUrl: this.target.baseUrl,
      caFile: this.caFile,
      env: this.env,
      debug: this.debug,
      // kubectl waits for the plugin, and other plugins wait for its lock (60 s): finish first.
      ...(this.resolveOptions.exec ? { deadlineMs: 45_000 } : {}),
    });
    return this.httpClient;
  }

  /** The credential to use, or undefined when there is none (not logged in). */
  credentials(): Credentials | undefined {
    if (this.creds === null) {
      const { source, envTokenIgnored } = this.resolved;
      if (source && envTokenIgnored && !this.noted) {
        this.noted = true;
        this.out.info(`note: ANKRA_API_TOKEN is set but ignored; using the ${source.label}`);
      }
      this.creds = source ? new Credentials(source, this.target, { paths: this.paths, env: this.env, caFile: this.caFile, debug: this.debug }) : undefined;
    }
    return this.creds;
  }

  requireCredentials(): Credentials {
    const c = this.credentials();
    if (!c) throw notLoggedIn(this.target.baseUrl);
    return c;
  }

  /** The API without an organisation header (discovery, the organisation list). */
  baseApi(): AnkraApi {
    return new AnkraApi(this.http(), this.credentials(), undefined);
  }

  /** The API scoped to the selected organisation. */
  async api(): Promise<AnkraApi> {
    this.requireCredentials();
    return this.baseApi().withOrg(await this.orgId());
  }

  /** The caller's organisations, asked for once per command. */
  organisations(): Promise<Organisation[]> {
    this.requireCredentials();
    this.orgsValue ??= this.baseApi().organisations();
    return this.orgsValue;
  }

  /** --org / ANKRA_ORG / the saved default, as an id (names are looked up once). */
  orgId(): Promise<string | undefined> {
    this.orgIdValue ??= this.lookupOrg(this.target.org);
    return this.orgIdValue;
  }

  /**
   * The organisation a request acts in: the chosen one, else the server's default for this
   * user (looked up). Keys per-organisation settings such as the default cluster, so
   * `--org acme` and "no --org" while acme is the default mean the same thing.
   */
  async effectiveOrgId(): Promise<string> {
    const chosen = await this.orgId();
    if (chosen) return chosen;
    const orgs = await this.organisations();
    return (orgs.find((o) => o.user_current) ?? orgs[0])?.organisation_id ?? '';
  }

  private async lookupOrg(given: string | undefined): Promise<string | undefined> {
    if (!given || looksLikeId(given)) return given;
    const orgs = await this.organisations();
    const want = given.toLowerCase();
    const hit = orgs.find((o) => o.name.toLowerCase() === want || o.slug?.toLowerCase() === want || o.organisation_id === given);
    if (!hit) {
      const names = orgs.map((o) => o.slug ?? o.name).join(', ');
      throw new NotFoundError(`organisation ${JSON.stringify(given)} not found${names ? ` (yours: ${names})` : ''}`, { hint: 'run `ankra org list`' });
    }
    return hit.organisation_id;
  }

  /**
   * The cluster a command is about: --cluster (a name, or an id used without a lookup),
   * else ANKRA_CLUSTER, else the one chosen with `ankra cluster select`.
   */
  async cluster(given: string | undefined): Promise<ClusterRef> {
    const wanted = given || this.env.ANKRA_CLUSTER || undefined;
    if (!wanted) {
      const savedByOrg = this.resolved.config.servers[this.target.baseUrl]?.clusters ?? {};
      const saved = Object.keys(savedByOrg).length > 0 ? savedByOrg[await this.effectiveOrgId()] : undefined;
      if (saved) return saved;
      throw new UsageError('no cluster given', { hint: 'pass --cluster NAME, or run `ankra cluster select NAME` once' });
    }
    if (looksLikeId(wanted)) return { id: wanted, name: wanted };
    const api = await this.api();
    const found: Cluster | undefined = await api.clusterByName(wanted);
    if (!found) throw new NotFoundError(`cluster ${JSON.stringify(wanted)} not found`, { hint: 'run `ankra cluster list` (and check --org)' });
    return { id: found.id, name: found.name };
  }

  async close(): Promise<void> {
    await this.httpClient?.close();
  }
}
