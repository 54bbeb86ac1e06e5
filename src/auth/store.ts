/**
 * Where session secrets live: the OS keychain through @napi-rs/keyring (service "ankra", one
 * account per base URL and profile), else `$XDG_CONFIG_HOME/ankra/credentials.json` (0600,
 * dir 0700). This module is the only user of @napi-rs/keyring.
 *
 * - Every keychain call has a timeout (an AbortSignal for the library, and a timer raced
 *   against it, since a call already running in a native thread cannot be cancelled), so a
 *   hung keychain never hangs kubectl.
 * - A login picks the keychain when it answers, else the file. The choice carries a notice,
 *   printed by the login only once it succeeded, and only the first time a secret goes to
 *   the file: `ANKRA_CREDENTIAL_STORE=keychain|file` forces a choice (and no notice).
 * - Secrets saved by the keytar build of ankra are still read. On macOS both libraries use
 *   the same generic password (service, account). On Linux keytar's Secret Service items
 *   carry the attributes {service, account} and @napi-rs/keyring's {service, username}, so
 *   the old item is read with `secret-tool` (libsecret-tools) when it is on PATH; on
 *   Windows keytar's credential is named `ankra/<account>` and holds UTF-8 bytes. A secret
 *   found there is written in the new format and the old item removed, once.
 */
import type * as ChildProcess from 'node:child_process';
import { existsSync } from 'node:fs';
import type * as Net from 'node:net';
import { join } from 'node:path';
import { AnkraError, Exit, UsageError, oneLine } from '../errors';
import type { StoreKind } from '../core/config';
import { findOnPath, isRecord, readJsonFile, writeFileAtomic } from '../core/fsutil';
import { withLock } from '../core/lock';
import { importPackage } from '../core/esm';
import { builtin } from '../core/builtin';

const childProcess = builtin<typeof ChildProcess>('node:child_process');
const net = builtin<typeof Net>('node:net');

export const KEYCHAIN_SERVICE = 'ankra';
const KEYCHAIN_TIMEOUT_MS = 5_000;
/** A read whose answer does not matter: it proves the keychain works without touching a real entry. */
const PROBE_ACCOUNT = 'ankra-probe';

export interface SecretStore {
  readonly kind: StoreKind;
  /** For humans: "the OS keychain" or the file path. */
  readonly where: string;
  get(account: string): Promise<string | undefined>;
  set(account: string, secret: string): Promise<void>;
  delete(account: string): Promise<boolean>;
}

export function accountName(baseUrl: string, profile: string): string {
  return `${profile}@${baseUrl}`;
}

/**
 * The keychain failed. `reason` is a short cause a person can act on ("no D-Bus session
 * bus"), never the library's own text, which can name files of the installed bundle;
 * `detail` keeps that text (cleaned) for --debug.
 */
export class KeychainUnavailable extends AnkraError {
  readonly reason: string;
  readonly detail: string | undefined;
  constructor(reason: string, hint = 'unlock or start your keychain, or run `ankra login` again to keep the session in a file', detail?: string) {
    super(`the OS keychain is not available (${oneLine(reason)})`, Exit.FAILURE, { hint });
    this.reason = oneLine(reason);
    this.detail = detail === undefined ? undefined : oneLine(detail);
  }
}

/** A secret the keytar build of ankra saved is there, but cannot be read. */
export class LegacySecretUnreadable extends AnkraError {
  constructor(where: string, why: string) {
    super(`the login an earlier ankra saved in ${where} cannot be read (${oneLine(why)})`, Exit.AUTH, { hint: 'run `ankra login`' });
  }
}

// ------------------------------------------------------------------ what went wrong, in words

interface Trouble {
  /** Why no keychain could be used. */
  cause: string;
  /** What to do to get one. */
  fix: string;
}

function troubleOf(err: unknown): Trouble {
  if (err instanceof KeychainUnavailable) return { cause: err.reason, fix: fixFor(err.reason) };
  const cause = causeOf(err instanceof Error ? err.message : String(err));
  return { cause, fix: fixFor(cause) };
}

const NO_BUS = 'no D-Bus session bus';
const NO_SERVICE = 'no Secret Service on the D-Bus session bus';
const LOCKED = 'the keychain is locked or has no default keyring';
const NO_LIBRARY = 'the keychain library cannot be loaded';
const NO_ANSWER = 'the keychain did not answer';
const TIMED_OUT = `${NO_ANSWER} within ${KEYCHAIN_TIMEOUT_MS / 1000} s`;

/** The library's error text, reduced to one of a few causes (its text is kept for --debug only). */
function causeOf(text: string): string {
  if (/did not receive a reply|timed? ?out/i.test(text)) return NO_ANSWER;
  if (/autolaunch|DBUS_SESSION_BUS_ADDRESS|failed to connect to socket|connection refused|no such file or directory/i.test(text)) return NO_BUS;
  if (/org\.freedesktop\.secrets|ServiceUnknown|NameHasNoOwner|not provided by any \.service/i.test(text)) return NO_SERVICE;
  if (/\blocked\b|no result found|\bprompt|dismissed|no default collection|does not exist at path/i.test(text)) return LOCKED;
  if (/native binding|cannot find (module|package)|err_module_not_found|err_dlopen|\.node\b/i.test(text)) return NO_LIBRARY;
  return 'the keychain reported an error';
}

function fixFor(cause: string): string {
  if (cause === NO_LIBRARY) return 'reinstall ankra with npm (it brings the keychain library for this system)';
  if (cause === LOCKED) return 'unlock your keychain';
  if (cause === NO_ANSWER || cause === TIMED_OUT) return 'make sure your keychain is running and responsive';
  if (process.platform === 'darwin') return 'unlock your login keychain';
  if (process.platform === 'linux') return 'start a Secret Service (such as gnome-keyring or KeePassXC) in your D-Bus session';
  return 'make sure your keychain is running and unlocked';
}

// ------------------------------------------------------------------ the keychain library

/** The calls ankra makes, with the timeout's signal. */
interface Keyring {
  get(account: string, signal: AbortSignal): Promise<string | null>;
  set(account: string, secret: string, signal: AbortSignal): Promise<void>;
  delete(account: string, signal: AbortSignal): Promise<boolean>;
  /** Where the keytar build of ankra kept its secrets, on systems where it differs. */
  legacy: LegacyKeychain | undefined;
}

/** The keytar build's items, read once and then carried over. */
interface LegacyKeychain {
  readonly where: string;
  /** The old secret, undefined when there is none; LegacySecretUnreadable when it cannot be read. */
  read(account: string): Promise<string | undefined>;
  /** Removes the old item; true when there was one. */
  remove(account: string): Promise<boolean>;
}

type KeyringModule = typeof import('@napi-rs/keyring');

/**
 * On Linux the library connects to the D-Bus session bus inside a synchronous call, on the
 * main thread, where no timer can fire: a bus that accepts the connection but never answers
 * (a stopped dbus-daemon, a dead forwarded socket) would hang ankra for good. So the bus is
 * asked first, with the timeout: the client's first line of the D-Bus handshake, and any
 * answer will do. An address that cannot be connected to is left for the library to report.
 */
function busAnswers(address: string | undefined): Promise<void> {
  if (process.platform !== 'linux' || !address) return Promise.resolve();
  const m = /^unix:(path|abstract)=([^,;]+)/.exec(address);
  if (!m?.[1] || !m[2]) return Promise.resolve();
  let path: string;
  try {
    path = (m[1] === 'abstract' ? '\0' : '') + decodeURIComponent(m[2]);
  } catch {
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const socket = net().createConnection({ path });
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new KeychainUnavailable(TIMED_OUT, undefined, 'the D-Bus session bus accepted a connection but did not answer')), KEYCHAIN_TIMEOUT_MS);
    timer.unref();
    const uid = Buffer.from(String(process.getuid?.() ?? 0)).toString('hex');
    socket.once('connect', () => socket.write(`\0AUTH EXTERNAL ${uid}\r\n`));
    socket.once('data', () => done());
    socket.once('error', () => done());
    socket.once('close', () => done());
  });
}

async function loadKeyring(): Promise<Keyring> {
  await busAnswers(process.env.DBUS_SESSION_BUS_ADDRESS);
  let mod: KeyringModule;
  try {
    mod = await importPackage<KeyringModule>('@napi-rs/keyring');
  } catch (err) {
    throw new KeychainUnavailable(NO_LIBRARY, undefined, err instanceof Error ? err.message.split('\n')[0] : String(err));
  }
  const { AsyncEntry } = mod;
  // Pinned to the Secret Service on Linux: the library's default falls back to the kernel
  // keyring, which forgets everything at reboot, where the 0600 file is the better fallback.
  const entry = (account: string) => new AsyncEntry(KEYCHAIN_SERVICE, account, { linux: { store: 'secret-service' } });
  return {
    get: (account, signal) => entry(account).getPassword(signal),
    set: (account, secret, signal) => entry(account).setPassword(secret, signal),
    delete: async (account, signal) => Boolean(await entry(account).deleteCredential(signal)),
    legacy: process.platform === 'linux' ? secretToolLegacy() : process.platform === 'win32' ? windowsLegacy(mod) : undefined,
  };
}


interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    childProcess().execFile(cmd, args, { timeout: KEYCHAIN_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 1 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(err.killed ? new KeychainUnavailable(TIMED_OUT) : err);
        return;
      }
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

/**
 * keytar's Secret Service items ({service, account}, schema org.freedesktop.Secret.Generic)
 * through libsecret's `secret-tool`, when it is installed. Without it the old item cannot
 * be seen at all, and the caller says the login is gone.
 */
function secretToolLegacy(): LegacyKeychain | undefined {
  const tool = findOnPath('secret-tool', process.env);
  if (!tool) return undefined;
  const where = 'the OS keychain (Secret Service)';
  const attrs = (account: string) => ['service', KEYCHAIN_SERVICE, 'account', account];
  return {
    where,
    async read(account) {
      // The secret comes back on stdout (never on a command line); exit 1 with nothing on
      // stderr is "no such item".
      const r = await run(tool, ['lookup', ...attrs(account)]).catch((err: unknown) => {
        throw new LegacySecretUnreadable(where, err instanceof KeychainUnavailable ? err.reason : `secret-tool: ${err instanceof Error ? err.message : String(err)}`);
      });
      if (r.code === 0 && r.stdout !== '') return r.stdout;
      const said = r.stderr.trim().split('\n')[0] ?? '';
      if (said === '') return undefined;
      throw new LegacySecretUnreadable(where, said.startsWith('secret-tool:') ? said : `secret-tool: ${said}`);
    },
    async remove(account) {
      const r = await run(tool, ['clear', ...attrs(account)]);
      return r.code === 0;
    },
  };
}

/**
 * keytar's Windows credential: target `ankra/<account>`, the secret as UTF-8 bytes. The
 * library reads a blob as UTF-16, so each UTF-16 unit it returns is two of keytar's bytes
 * (little-endian); an odd number of bytes cannot be read that way. The library's
 * `withTarget` is not used to read: on Windows, creating such an entry writes an empty
 * placeholder credential under the target (so its source says, up to 1.3), which would
 * replace the old secret before it is read. Not run on Windows by the tests here.
 */
function windowsLegacy(mod: KeyringModule): LegacyKeychain {
  const where = 'Windows Credential Manager';
  const target = (account: string) => `${KEYCHAIN_SERVICE}/${account}`;
  return {
    where,
    async read(account) {
      let found: Array<{ account: string; password: string }>;
      try {
        found = await mod.findCredentialsAsync(KEYCHAIN_SERVICE, target(account));
      } catch (err) {
        throw new LegacySecretUnreadable(where, err instanceof Error ? err.message : String(err));
      }
      const cred = found.find((c) => c.account === account) ?? (found.length === 1 ? found[0] : undefined);
      if (!cred) return undefined;
      const units = cred.password;
      const bytes = Buffer.alloc(units.length * 2);
      for (let i = 0; i < units.length; i++) bytes.writeUInt16LE(units.charCodeAt(i), i * 2);
      return bytes.toString('utf8');
    },
    async remove(account) {
      // Only when there is one: creating the entry may write the placeholder.
      const found = await mod.findCredentialsAsync(KEYCHAIN_SERVICE, target(account)).catch(() => [undefined]);
      if (found.length === 0) return false;
      return Boolean(await mod.AsyncEntry.withTarget(target(account), KEYCHAIN_SERVICE, account).deleteCredential());
    },
  };
}

/** `fn` with the keychain timeout: its signal aborts the library call, and a timer wins the race. */
async function withTimeout<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new KeychainUnavailable(TIMED_OUT));
    }, KEYCHAIN_TIMEOUT_MS);
    timer.unref();
  });
  const call = Promise.resolve()
    .then(() => fn(abort.signal))
    .catch((err: unknown) => {
      if (err instanceof AnkraError) throw err;
      const text = err instanceof Error ? err.message : String(err);
      throw new KeychainUnavailable(causeOf(text), undefined, text);
    });
  try {
    return await Promise.race([call, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

class KeychainStore implements SecretStore {
  readonly kind = 'keychain' as const;
  readonly where = 'the OS keychain';
  constructor(private readonly keyring: Keyring) {}

  /** Proves the keychain answers, without looking at the legacy items. */
  async probe(): Promise<void> {
    await withTimeout((signal) => this.keyring.get(PROBE_ACCOUNT, signal));
  }

  async get(account: string): Promise<string | undefined> {
    const now = await withTimeout((signal) => this.keyring.get(account, signal));
    if (now !== null) return now;
    const legacy = this.keyring.legacy;
    if (!legacy) return undefined;
    const old = await withTimeout(() => legacy.read(account));
    if (old === undefined) {
      // Another ankra (kubectl runs several) may have carried it over meanwhile.
      return (await withTimeout((signal) => this.keyring.get(account, signal))) ?? undefined;
    }
    try {
      await withTimeout((signal) => this.keyring.set(account, old, signal));
      await withTimeout(() => legacy.remove(account));
    } catch {
      // The old item stays, and the next read tries again.
    }
    return old;
  }

  set(account: string, secret: string): Promise<void> {
    return withTimeout((signal) => this.keyring.set(account, secret, signal));
  }

  async delete(account: string): Promise<boolean> {
    const removed = await withTimeout((signal) => this.keyring.delete(account, signal));
    const legacy = this.keyring.legacy;
    const removedOld = legacy ? await withTimeout(() => legacy.remove(account)).catch(() => false) : false;
    return removed || removedOld;
  }
}

// ------------------------------------------------------------------ the 0600 file

interface CredentialsFile {
  version: 1;
  accounts: Record<string, string>;
}

export class FileStore implements SecretStore {
  readonly kind = 'file' as const;
  readonly where: string;
  constructor(private readonly path: string) {
    this.where = path;
  }

  private read(): CredentialsFile {
    const raw = readJsonFile(this.path);
    if (isRecord(raw) && isRecord(raw.accounts)) return raw as unknown as CredentialsFile;
    return { version: 1, accounts: {} };
  }

  private update(fn: (f: CredentialsFile) => boolean): Promise<void> {
    return withLock(`${this.path}.lock`, { what: this.path, timeoutMs: 10_000 }, async () => {
      const f = this.read();
      if (fn(f)) writeFileAtomic(this.path, `${JSON.stringify(f, null, 2)}\n`, 0o600);
    });
  }

  async get(account: string): Promise<string | undefined> {
    const v = this.read().accounts[account];
    return typeof v === 'string' ? v : undefined;
  }
  set(account: string, secret: string): Promise<void> {
    return this.update((f) => {
      f.accounts[account] = secret;
      return true;
    });
  }
  async delete(account: string): Promise<boolean> {
    if (!existsSync(this.path)) return false;
    let had = false;
    await this.update((f) => {
      had = account in f.accounts;
      delete f.accounts[account];
      return had;
    });
    return had;
  }
}

export function credentialsFile(configDir: string): string {
  return join(configDir, 'credentials.json');
}

// ------------------------------------------------------------------ choosing

function forced(env: NodeJS.ProcessEnv): StoreKind | undefined {
  const v = env.ANKRA_CREDENTIAL_STORE;
  if (v === undefined || v === '') return undefined;
  if (v === 'keychain' || v === 'file') return v;
  throw new UsageError(`invalid ANKRA_CREDENTIAL_STORE=${JSON.stringify(v)}: expected keychain or file`);
}

/** The store a session recorded as `kind` lives in. */
export async function openStore(kind: StoreKind, configDir: string): Promise<SecretStore> {
  return kind === 'keychain' ? new KeychainStore(await loadKeyring()) : new FileStore(credentialsFile(configDir));
}

/** Where a new login's secret goes, and what to tell the person once the login succeeded. */
export interface StoreChoice {
  /** Where the secret goes: after `set`, `kind` and `where` say where it went. */
  readonly store: SecretStore;
  /**
   * One line for after a successful login, or undefined: set when the secret went to the
   * file because no keychain works, the first time a secret goes to that file. It says where
   * the secret is and how to use a keychain.
   */
  readonly notice: string | undefined;
}

/**
 * The keychain when it answers (and keeps answering when the secret is written), else the
 * file; both only when ANKRA_CREDENTIAL_STORE does not force one. Nothing is printed here:
 * the login prints `notice` once it has succeeded. `debug` gets the keychain's own error text.
 */
export async function chooseStore(configDir: string, env: NodeJS.ProcessEnv, debug: (line: string) => void = () => undefined): Promise<StoreChoice> {
  const want = forced(env);
  const file = new FileStore(credentialsFile(configDir));
  if (want === 'file') return { store: file, notice: undefined };
  try {
    const keychain = new KeychainStore(await loadKeyring());
    await keychain.probe();
    return want === 'keychain' ? { store: keychain, notice: undefined } : new FallingBack(keychain, file, debug);
  } catch (err) {
    if (err instanceof KeychainUnavailable && err.detail) debug(`keychain: ${err.detail}`);
    if (want === 'keychain') {
      const reason = err instanceof KeychainUnavailable ? err.reason : troubleOf(err).cause;
      throw new KeychainUnavailable(reason, `${fixFor(reason)}, or unset ANKRA_CREDENTIAL_STORE=keychain to use the 0600 file store`);
    }
    return new FallingBack(undefined, file, debug, troubleOf(err));
  }
}

/**
 * A store that writes to the keychain while it works and to the file once it does not, and
 * remembers why, for the notice.
 */
class FallingBack implements StoreChoice, SecretStore {
  private trouble: Trouble | undefined;
  private firstFileSecret = false;

  constructor(
    private keychain: KeychainStore | undefined,
    private readonly file: FileStore,
    private readonly debug: (line: string) => void,
    trouble?: Trouble,
  ) {
    this.trouble = trouble;
  }

  get store(): SecretStore {
    return this;
  }
  private get current(): SecretStore {
    return this.keychain ?? this.file;
  }
  get kind(): StoreKind {
    return this.current.kind;
  }
  get where(): string {
    return this.current.where;
  }

  get notice(): string | undefined {
    const t = this.trouble;
    if (this.keychain || !this.firstFileSecret || !t) return undefined;
    return `${t.cause}, so the login is kept in ${this.file.where} (mode 0600, readable only by your user); to keep it in a keychain instead, ${t.fix} and run \`ankra login\` again`;
  }

  get(account: string): Promise<string | undefined> {
    return this.current.get(account);
  }
  delete(account: string): Promise<boolean> {
    return this.current.delete(account);
  }

  async set(account: string, secret: string): Promise<void> {
    if (this.keychain) {
      try {
        await this.keychain.set(account, secret);
        return;
      } catch (err) {
        if (!(err instanceof KeychainUnavailable)) throw err;
        if (err.detail) this.debug(`keychain: ${err.detail}`);
        // It answered a read but refuses a write (e.g. no default keyring): the file then.
        this.trouble = troubleOf(err);
        this.keychain = undefined;
      }
    }
    this.firstFileSecret = !existsSync(this.file.where);
    await this.file.set(account, secret);
  }
}
