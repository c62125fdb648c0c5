import type { AuthContext } from 'ssh2';
import { fingerprintOf, verifierOf } from '../pki/sshKeys.js';
import type { Config } from '../store/schema.js';
import { checkPassword, findUser, type User } from '../store/accounts/users.js';
import type { AuditLog } from '../access/audit.js';
import type { LoginAttempt, LoginGuard } from '../access/loginGuard.js';

/** A client that fails this many attempts in one connection is disconnected (OpenSSH's MaxAuthTries). */
export const MAX_AUTH_TRIES = 6;

export interface LoggedIn {
  user: User;
  /** "key SHA256:… (ssh-ed25519)" or "password". */
  method: string;
  /** The SSH key it logged in with (its fingerprint), none for a password. */
  key?: string;
}

/**
 * The authentication of one SSH connection, against the committed accounts (userconfig) and
 * their keys (sshconfig userkey). A password attempt is counted (LoginGuard, shared with the GUI)
 * before it is checked; a connection that offered only keys the account does not have counts as
 * one failed login when it ends without logging in, because clients offer every key they hold and
 * each unknown key on its own is not a guess. A public-key login is never refused because of
 * password failures: it is not a guess. The answers never tell whether the account exists.
 */
export class SshAuthentication {
  private attempts = 0;
  private wrongKeys = new Set<string>();
  private account = '';
  loggedIn: LoggedIn | undefined;

  constructor(
    private readonly address: string,
    private readonly deps: { config: () => Config; guard: LoginGuard; audit: AuditLog },
  ) {}

  private methods(): ('publickey' | 'password')[] {
    return this.deps.config().ssh.passwordAuth ? ['publickey', 'password'] : ['publickey'];
  }

  async handle(ctx: AuthContext): Promise<{ done: boolean; tooMany: boolean }> {
    const config = this.deps.config();
    const name = ctx.username.toLowerCase();
    this.account = name;
    const reject = () => {
      ctx.reject(this.methods());
      return { done: false, tooMany: this.attempts >= MAX_AUTH_TRIES };
    };
    if (ctx.method !== 'publickey' && ctx.method !== 'password') return reject();
    if (ctx.method === 'password') {
      if (!config.ssh.passwordAuth) return reject();
      const verdict = this.deps.guard.begin(this.address, name);
      if (!verdict.ok) {
        this.attempts = MAX_AUTH_TRIES;
        this.deps.audit.write('Warning', `SSH login refused for ${name || '(empty)'} from ${this.address}: ${verdict.reason === 'locked' ? 'account locked' : 'too many failures from this address'} (${verdict.retryAfterSeconds} s left)`);
        return reject();
      }
      this.attempts += 1;
      const user = await checkPassword(config, name, ctx.password);
      if (!user) {
        this.failed('wrong account name or password', verdict.attempt);
        return reject();
      }
      this.deps.guard.succeeded(verdict.attempt);
      return this.accept(ctx, user, 'password');
    }
    const user = findUser(config, name);
    const offered = fingerprintOf(ctx.key.data);
    const stored = user?.sshKeys?.find((line) => verifierOf(line).getPublicSSH().equals(ctx.key.data));
    if (!user || !stored) {
      this.attempts += 1;
      this.wrongKeys.add(offered);
      return reject();
    }
    // The client first asks whether the key would do (no signature), then signs with it.
    if (!ctx.signature) {
      ctx.accept();
      return { done: false, tooMany: false };
    }
    const key = verifierOf(stored);
    const sha2 = key.type !== 'ssh-rsa' || ctx.hashAlgo === 'sha256' || ctx.hashAlgo === 'sha512';
    if (!sha2 || key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) {
      this.attempts += 1;
      this.failed(`bad signature with key ${offered}${sha2 ? '' : ' (RSA with SHA-1 is refused)'}`);
      return reject();
    }
    return this.accept(ctx, user, `key ${offered} (${ctx.key.algo})`, offered);
  }

  private accept(ctx: AuthContext, user: User, method: string, key?: string): { done: boolean; tooMany: boolean } {
    this.loggedIn = key ? { user, method, key } : { user, method };
    this.deps.audit.write('Info', `SSH login: ${user.name} (${user.role}) from ${this.address} with ${method}`);
    ctx.accept();
    return { done: true, tooMany: false };
  }

  private failed(why: string, attempt?: LoginAttempt): void {
    const { locked } = attempt ? this.deps.guard.failed(attempt) : this.deps.guard.failedWithoutAttempt(this.address, this.account);
    this.deps.audit.write('Warning', `SSH login failed for ${this.account || '(empty)'} from ${this.address}: ${why}${locked ? `; the account is locked for 15 minutes from ${this.address}` : ''}`);
  }

  /** The connection ended: one that only offered unknown keys counts as a failed login. */
  ended(): void {
    if (this.loggedIn || this.wrongKeys.size === 0) return;
    this.failed(`no accepted key (offered ${[...this.wrongKeys].join(', ')})`);
  }
}
