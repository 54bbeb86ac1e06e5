/**
 * Where session secrets live: the OS keychain through @napi-rs/keyring (service "ankra", one
 * account per base URL and profile), else `$XDG_CONFIG_HOME/ankra/credentials.json` (0600,
 * dir 0700). When the keychain answers with an error (no D-Bus session, no Secret Service,
 * locked), ankra falls back to the file with one warning.
 * `ANKRA_CREDENTIAL_STORE=keychain|file` forces a choice. Every keychain call has a timeout,
 * so a hung keychain never hangs kubectl.
 */
import { join } from 'node:path';
import { AnkraError, Exit, UsageError, oneLine } from '../errors';
import type { StoreKind } from '../core/config';
import { isRecord, readJsonFile, writeFileAtomic } from '../core/fsutil';
import { withLock } from '../core/lock';

export const KEYCHAIN_SERVICE = 'ankra';
const KEYCHAIN_TIMEOUT_MS = 5_000;

export interface SecretStore {
  readonly kind: StoreKind;
  /** For humans: "the OS keychain (Secret Service)" or the file path. */
  readonly where: string;
  get(account: string): Promise<string | undefined>;
  set(account: string, secret: string): Promise<void>;
  delete(account: string): Promise<boolean>;
}

export function accountName(baseUrl: string, profile: string): string {
  return `${profile}@${baseUrl}`;
}

type Keytar = {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
};

/**
 * @napi-rs/keyring behind the keytar-shaped interface above. On Linux it is pinned to the
 * Secret Service: its default falls back to the kernel keyring, which forgets everything at
 * reboot, where the 0600 file is the better fallback.
 */
async function loadKeyring(): Promise<Keytar> {
  const { AsyncEntry } = await import('@napi-rs/keyring');
  const entry = (account: string) => new AsyncEntry(KEYCHAIN_SERVICE, account, { linux: { store: 'secret-service' } });
  return {
    getPassword: async (_s, account) => (await entry(account).getPassword()) ?? null,
    setPassword: (_s, account, password) => entry(account).setPassword(password),
    deletePassword: async (_s, account) => Boolean(await entry(account).deleteCredential()),
  };
}

export class KeychainUnavailable extends AnkraError {
  readonly reason: string;
  constructor(reason: string, hint = 'unlock or start your keychain, or run `ankra login` again to keep the session in a file') {
    super(`the OS keychain is not available (${oneLine(reason)})`, Exit.FAILURE, { hint });
    this.reason = oneLine(reason);
  }
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KeychainUnavailable(`${what} did not answer within ${KEYCHAIN_TIMEOUT_MS / 1000} s`)), KEYCHAIN_TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function loadKeytar(): Promise<Keytar> {
  try {
    return await loadKeyring();
  } catch (err) {
    throw new KeychainUnavailable(`the keychain library cannot load: ${(err as Error).message.split('\n')[0]}`);
  }
}

class KeychainStore implements SecretStore {
  readonly kind = 'keychain' as const;
  readonly where = 'the OS keychain';
  constructor(private readonly keytar: Keytar) {}

  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withTimeout(
      fn().catch((err: unknown) => {
        throw err instanceof AnkraError ? err : new KeychainUnavailable(String((err as Error)?.message ?? err));
      }),
      what,
    );
  }

  async get(account: string): Promise<string | undefined> {
    return (await this.call('the keychain', () => this.keytar.getPassword(KEYCHAIN_SERVICE, account))) ?? undefined;
  }
  set(account: string, secret: string): Promise<void> {
    return this.call('the keychain', () => this.keytar.setPassword(KEYCHAIN_SERVICE, account, secret));
  }
  delete(account: string): Promise<boolean> {
    return this.call('the keychain', () => this.keytar.deletePassword(KEYCHAIN_SERVICE, account));
  }
}

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

  private update(fn: (f: CredentialsFile) => void): Promise<void> {
    return withLock(`${this.path}.lock`, { what: this.path, timeoutMs: 10_000 }, async () => {
      const f = this.read();
      fn(f);
      writeFileAtomic(this.path, `${JSON.stringify(f, null, 2)}\n`, 0o600);
    });
  }

  async get(account: string): Promise<string | undefined> {
    const v = this.read().accounts[account];
    return typeof v === 'string' ? v : undefined;
  }
  set(account: string, secret: string): Promise<void> {
    return this.update((f) => {
      f.accounts[account] = secret;
    });
  }
  async delete(account: string): Promise<boolean> {
    let had = false;
    await this.update((f) => {
      had = account in f.accounts;
      delete f.accounts[account];
    });
    return had;
  }
}

export function credentialsFile(configDir: string): string {
  return join(configDir, 'credentials.json');
}

function forced(env: NodeJS.ProcessEnv): StoreKind | undefined {
  const v = env.ANKRA_CREDENTIAL_STORE;
  if (v === undefined || v === '') return undefined;
  if (v === 'keychain' || v === 'file') return v;
  throw new UsageError(`invalid ANKRA_CREDENTIAL_STORE=${JSON.stringify(v)}: expected keychain or file`);
}

/** The store a session recorded as `kind` lives in. */
export async function openStore(kind: StoreKind, configDir: string): Promise<SecretStore> {
  return kind === 'keychain' ? new KeychainStore(await loadKeytar()) : new FileStore(credentialsFile(configDir));
}

/**
 * The store for a new secret: the keychain when it works (checked with a harmless read),
 * else the file, with a warning through `warn`, unless ANKRA_CREDENTIAL_STORE forces one.
 */
export async function chooseStore(configDir: string, env: NodeJS.ProcessEnv, warn: (msg: string) => void): Promise<SecretStore> {
  const want = forced(env);
  if (want === 'file') return new FileStore(credentialsFile(configDir));
  try {
    const store = new KeychainStore(await loadKeytar());
    await store.get('ankra-probe');
    return store;
  } catch (err) {
    if (want === 'keychain') {
      const reason = err instanceof KeychainUnavailable ? err.reason : String(err);
      throw new KeychainUnavailable(reason, 'start or unlock your keychain, or unset ANKRA_CREDENTIAL_STORE=keychain to use the 0600 file store');
    }
    const reason = err instanceof AnkraError ? err.message : String(err);
    const path = credentialsFile(configDir);
    warn(`${reason}; keeping the secret in ${path} (mode 0600) instead`);
    return new FileStore(path);
  }
}
