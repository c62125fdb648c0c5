import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createKey } from '../../pki/generate.js';
import { association } from '../../pki/tlsa.js';
import { ensureDir, writeFileAtomic } from '../../store/atomic.js';
import { type Issued, renewalDue } from '../../store/certificates/acme.js';
import { storeKey } from '../../store/certificates/keys.js';
import type { DataPaths } from '../../store/paths.js';
import type { CertificateProfile, Config } from '../../store/schema.js';
import type { Alert } from '../alerts/alerts.js';
import type { AcmeRenewalStatus } from '../../control/status.js';
import type { DnsClient } from '../dns/client.js';
import { sendUpdate, tlsaRdata, type UpdateChange } from '../dns/update.js';
import { pickRenewalTime } from './ari.js';
import { updateTarget } from './dns01.js';
import type { AcmeService } from './service.js';

/**
 * Renewal of ACME profiles by the engine: at two thirds of the lifetime, or when asked (certconfig
 * acme renew). A failure is tried again after `retryMinutes`, doubling up to a day, and raises a
 * System alert after `alertAfter` failures in a row; the certificate in service stays meanwhile.
 *
 * A renewal with a new key for a DANE profile is a rollover, one step at a time, persisted so a
 * restart goes on where it stopped:
 *   published — `3 1 1` for the next key is added beside the current one (RFC 2136);
 *   visible   — a validating lookup sees both; a TTL is waited from then, and the lookup repeated;
 *   swapped   — the new certificate is in service (a configuration version); after another TTL the
 *               old key's record is removed.
 * Until `swapped` the old certificate is served, so the published set always matches what is served.
 */

export interface RenewalDeps {
  paths: DataPaths;
  log: { info(m: string): void; warning(m: string): void };
  acme: AcmeService;
  config: () => Config;
  /** A validating DNS client without the cache (each check asks again). */
  dns: (config: Config) => DnsClient;
  /** Put the renewed certificate of profile `name` in service as a new configuration version, as a commit does; returns the version. */
  commit: (name: string, issued: Issued, comment: string) => Promise<number>;
  /** In a cluster: whether this machine renews profile `name` by itself (one member renews a shared profile); undefined alone (always). */
  renewsHere?: () => ((name: string) => Promise<boolean>) | undefined;
  alert: (alert: Alert) => Promise<void>;
  /** Why the engine may not commit now (a commit waits for confirmation), or undefined. */
  commitBlocked?: () => string | undefined;
  now?: () => number;
}

interface Rollover {
  step: 'published' | 'visible' | 'swapped';
  next: { keyRef: string; certificate: string; intermediates: string[] };
  /** Hex association data: the key in service before, the next key, the issuer's key. */
  old: string;
  new: string;
  issuer?: string;
  /** When the step began (ISO), and how long a TTL is for this rollover (seconds). */
  since: string;
  ttl: number;
}

/** What the CA's renewal information (RFC 9773) said of the certificate in service. */
interface AriState {
  /** The certificate it is about (SHA-256 fingerprint). */
  certificate: string;
  /** The moment picked in the suggested window; absent when the CA offers no renewal information. */
  at?: string;
  window?: { start: string; end: string };
  explanationURL?: string;
  nextCheckAt: string;
}

interface ProfileState {
  /** The key whose 3 1 1 record was last published for this profile (hex association data). */
  published?: string;
  failures: number;
  nextAttemptAt?: string;
  lastError?: string;
  rollover?: Rollover;
  ari?: AriState;
}

export type RenewalStatus = AcmeRenewalStatus;

const DAY_MS = 86_400_000;
/** A CA that offers no renewal information, or did not answer, is asked again after this long. */
const ARI_RECHECK_MS = DAY_MS;
const ARI_FAILED_RECHECK_MS = 3_600_000;
/** A published record that no validating lookup sees after this long is given up (the zone is not updated or not signed right). */
const VISIBILITY_LIMIT_MS = 3_600_000;

export class RenewalService {
  private state: Record<string, ProfileState> = {};
  private readonly file: string;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private busy: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly deps: RenewalDeps) {
    this.file = path.join(deps.paths.home, 'acme', 'renewals.json');
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /** Load what was under way (rollovers go on where they stopped). */
  async open(): Promise<void> {
    try {
      this.state = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, ProfileState>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.deps.log.warning(`ACME: the renewal state ${this.file} cannot be read (${(err as Error).message}); starting afresh`);
      this.state = {};
    }
    for (const name of Object.keys(this.state)) if (this.state[name]!.rollover) this.schedule(name, 0);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  async status(config = this.deps.config()): Promise<RenewalStatus[]> {
    const clustered = this.deps.renewsHere?.() !== undefined;
    const profiles = config.certificates.filter((p) => p.acme);
    const here = await Promise.all(profiles.map((p) => (clustered ? this.renewsHere(p.name) : true)));
    return profiles.map((p, i) => {
      const s = this.state[p.name] ?? { failures: 0 };
      const r = s.rollover;
      return {
        name: p.name,
        ...(clustered ? { renewedHere: here[i]! } : {}),
        ...this.due(p),
        failures: s.failures,
        ...(s.nextAttemptAt ? { nextAttemptAt: s.nextAttemptAt } : {}),
        ...(s.lastError ? { lastError: s.lastError } : {}),
        ...(r ? { rollover: { step: r.step, since: r.since, ttl: r.ttl, current: r.old, next: r.new } } : {}),
      };
    });
  }

  /**
   * The records of DANE profiles are published for the key in service (after a commit, and every
   * minute): once per key, so the zone's own records are not fought over.
   */
  keepRecords(): Promise<void> {
    return this.serially(async () => {
      const config = this.deps.config();
      for (const p of config.certificates) {
        const s = this.state[p.name];
        if (!p.acme?.dane || s?.rollover) continue;
        const current = hexOf(p.certificate);
        if (s?.published === current || !(await this.renewsHere(p.name))) continue;
        try {
          const dane = p.acme.dane;
          const issuer = dane.issuer && p.intermediates[0] ? hexOf(p.intermediates[0]) : undefined;
          await this.tlsaUpdate(p, (owner) => [tlsaAdd(owner, current, dane.ttl), ...(issuer ? [tlsaAdd(owner, issuer, dane.ttl, 2)] : [])], config);
          (this.state[p.name] ??= { failures: 0 }).published = current;
          await this.save();
          this.deps.log.info(`ACME: TLSA 3 1 1 ${current.slice(0, 16)}… of ${p.name} published at ${this.owners(p).join(', ')}`);
        } catch (err) {
          this.deps.log.warning(`ACME: the TLSA records of ${p.name} could not be published: ${(err as Error).message}`);
        }
      }
    });
  }

  /** Every minute: renew the profiles that are due and not waiting for a retry, one after the other. */
  async renewDue(): Promise<void> {
    await this.keepRecords();
    return this.serially(async () => {
      const now = this.now();
      for (const p of this.deps.config().certificates) {
        const s = this.state[p.name];
        if (!p.acme || s?.rollover || this.deps.commitBlocked?.() || !(await this.renewsHere(p.name))) continue;
        await this.askRenewalInfo(p);
        if (Date.parse(this.due(p).due) > now) continue;
        if (s?.nextAttemptAt && Date.parse(s.nextAttemptAt) > now) continue;
        await this.renew(p.name).catch(() => undefined); // said in the log, the state and perhaps an alert
      }
    });
  }

  /** When a profile is due: at the moment picked in the CA's renewal window (RFC 9773), else two thirds into its lifetime. */
  private due(p: CertificateProfile): Pick<RenewalStatus, 'due' | 'dueBy' | 'explanationURL'> {
    const ari = this.state[p.name]?.ari;
    if (ari?.at && ari.certificate === fingerprint(p.certificate)) return { due: ari.at, dueBy: 'ari', ...(ari.explanationURL ? { explanationURL: ari.explanationURL } : {}) };
    return { due: renewalDue(p.certificate).toISOString(), dueBy: 'lifetime' };
  }

  /** Ask the CA when to renew the certificate in service, when the last answer's Retry-After has passed. */
  private async askRenewalInfo(p: CertificateProfile): Promise<void> {
    const account = this.deps.config().acme.account;
    const s = (this.state[p.name] ??= { failures: 0 });
    const cert = fingerprint(p.certificate);
    if (!account || (s.ari?.certificate === cert && Date.parse(s.ari.nextCheckAt) > this.now())) return;
    const previous = s.ari?.certificate === cert ? s.ari : undefined;
    try {
      const window = await this.deps.acme.renewalInfo(account.directory, p.certificate);
      const next = new Date(this.now() + (window ? window.retryAfterSeconds * 1000 : ARI_RECHECK_MS)).toISOString();
      if (!window) {
        s.ari = { certificate: cert, nextCheckAt: next };
      } else {
        // The moment picked stays while the window does (RFC 9773 §4.2); a new window, a new pick.
        const same = previous?.window && previous.window.start === window.start && previous.window.end === window.end;
        const at = same && previous.at ? previous.at : new Date(pickRenewalTime(window, this.now())).toISOString();
        s.ari = { certificate: cert, at, window: { start: window.start, end: window.end }, ...(window.explanationURL ? { explanationURL: window.explanationURL } : {}), nextCheckAt: next };
        if (!same) this.deps.log.info(`ACME: the CA suggests renewing ${p.name} between ${window.start} and ${window.end}; renewal at ${at}${window.explanationURL ? ` (${window.explanationURL})` : ''}`);
      }
    } catch (err) {
      // The window known before stays; without one the lifetime decides.
      s.ari = { ...(previous ?? { certificate: cert }), nextCheckAt: new Date(this.now() + ARI_FAILED_RECHECK_MS).toISOString() };
      this.deps.log.warning(`ACME: the renewal information for ${p.name} could not be read: ${(err as Error).message}`);
    }
    await this.save();
  }

  /** certconfig acme renew NAME: renew now, whatever the date; what happened, in one line. */
  renewNow(name: string): Promise<string> {
    return this.serially(() => this.renew(name));
  }

  /** Alone, always; in a cluster, when this member is the one to (and not when the cluster cannot say). */
  private async renewsHere(name: string): Promise<boolean> {
    const ask = this.deps.renewsHere?.();
    if (!ask) return true;
    try {
      return await ask(name);
    } catch (err) {
      this.deps.log.warning(`ACME: cannot tell whether this member renews ${name}: ${(err as Error).message}`);
      return false;
    }
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.busy.then(task, task);
    this.busy = run.catch(() => undefined);
    return run;
  }

  private async renew(name: string): Promise<string> {
    const config = this.deps.config();
    const p = config.certificates.find((c) => c.name.toLowerCase() === name.toLowerCase());
    if (!p) throw new RenewalError(`No certificate profile named "${name}" is committed.`);
    if (!p.acme) throw new RenewalError(`Certificate profile "${p.name}" was not issued by ACME.`);
    if (this.state[p.name]?.rollover) throw new RenewalError(`Certificate profile "${p.name}" is in a TLSA rollover (step ${this.state[p.name]!.rollover!.step}); it renews again once that is over.`);
    const blocked = this.deps.commitBlocked?.();
    if (blocked) throw new RenewalError(`Certificate profile ${p.name} is not renewed now: ${blocked}.`);
    const account = config.acme.account;
    try {
      if (!account) throw new RenewalError('there is no ACME account ("certconfig acme account new")');
      const keyRef = p.acme.reuseKey ? p.keyRef : await storeKey(this.deps.paths, await createKey(p.acme.key));
      const issued = await this.deps.acme.order({ account, names: p.acme.names, challenge: p.acme.challenge, keyRef, updateServers: config.dns.updateServers });
      const next = { keyRef, certificate: issued.certificate, intermediates: issued.intermediates };
      if (p.acme.dane && keyRef !== p.keyRef) {
        await this.startRollover(p, next);
        await this.succeeded(p.name);
        return `Certificate profile ${p.name}: a certificate with a new key was issued; its TLSA record is published and it goes in service once that record has been visible for ${p.acme.dane.ttl} seconds (certconfig acme status shows the steps).`;
      }
      const version = await this.deps.commit(p.name, next, `ACME renewal of ${p.name} (${keyRef === p.keyRef ? 'same key' : 'new key'})`);
      await this.succeeded(p.name);
      return `Certificate profile ${p.name} renewed${keyRef === p.keyRef ? ' with the same key' : ' with a new key'}, valid until ${issued.notAfter}; in service as configuration version ${version}.`;
    } catch (err) {
      await this.failed(p.name, (err as Error).message, config);
      throw err instanceof RenewalError ? err : new RenewalError(`Certificate profile ${p.name} was not renewed: ${(err as Error).message}`);
    }
  }

  private async succeeded(name: string): Promise<void> {
    const s = (this.state[name] ??= { failures: 0 });
    s.failures = 0;
    delete s.nextAttemptAt;
    delete s.lastError;
    await this.save();
  }

  private async failed(name: string, why: string, config: Config): Promise<void> {
    const s = (this.state[name] ??= { failures: 0 });
    s.failures += 1;
    const wait = Math.min(config.acme.retryMinutes * 60_000 * 2 ** (s.failures - 1), DAY_MS);
    s.nextAttemptAt = new Date(this.now() + wait).toISOString();
    s.lastError = why;
    await this.save();
    this.deps.log.warning(`ACME: renewal of certificate profile ${name} failed (${s.failures} in a row): ${why}; next attempt at ${s.nextAttemptAt}`);
    if (s.failures >= config.acme.alertAfter) {
      await this.deps
        .alert({
          cls: 'system',
          severity: 'warning',
          summary: `The certificate of profile ${name} could not be renewed`,
          details: `Renewal of certificate profile ${name} failed ${s.failures} times in a row; the last error: ${why}.\r\nThe certificate in service stays in service. The next attempt is at ${s.nextAttemptAt}.`,
          key: `acme-renewal:${name}`,
        })
        .catch(() => undefined);
    }
  }

  // --- TLSA rollover ---------------------------------------------------------------------------

  private owners(p: CertificateProfile): string[] {
    return p.acme!.names.filter((n) => !n.startsWith('*.')).map((n) => `_${p.acme!.dane!.port}._tcp.${n}`);
  }

  private async tlsaUpdate(p: CertificateProfile, changes: (owner: string) => UpdateChange[], config = this.deps.config()): Promise<void> {
    for (const owner of this.owners(p)) {
      const { zone, server, key } = await updateTarget(this.deps.paths, config.dns.updateServers, owner);
      await sendUpdate(server, zone, changes(owner), key);
    }
  }

  private async startRollover(p: CertificateProfile, next: Rollover['next']): Promise<void> {
    const dane = p.acme!.dane!;
    const rollover: Rollover = {
      step: 'published',
      next,
      old: hexOf(p.certificate),
      new: hexOf(next.certificate),
      ...(dane.issuer && next.intermediates[0] ? { issuer: hexOf(next.intermediates[0]) } : {}),
      since: new Date(this.now()).toISOString(),
      ttl: dane.ttl,
    };
    // The current key's record too: it must be there (it may never have been published by us).
    await this.tlsaUpdate(p, (owner) => [tlsaAdd(owner, rollover.old, dane.ttl), tlsaAdd(owner, rollover.new, dane.ttl), ...(rollover.issuer ? [tlsaAdd(owner, rollover.issuer, dane.ttl, 2)] : [])]);
    this.state[p.name] = { ...(this.state[p.name] ?? { failures: 0 }), rollover };
    await this.save();
    this.deps.log.info(`ACME: TLSA rollover of ${p.name}: 3 1 1 ${rollover.new.slice(0, 16)}… published beside ${rollover.old.slice(0, 16)}… at ${this.owners(p).join(', ')}`);
    this.schedule(p.name, 0);
  }

  private schedule(name: string, delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.timers.get(name));
    this.timers.set(
      name,
      setTimeout(() => {
        this.timers.delete(name);
        void this.serially(() => this.advance(name));
      }, delayMs).unref(),
    );
  }

  /** Take the rollover of `name` one step further when its time has come. */
  private async advance(name: string): Promise<void> {
    const r = this.state[name]?.rollover;
    const config = this.deps.config();
    const p = config.certificates.find((c) => c.name === name);
    if (!r || this.closed) return;
    if (!p?.acme?.dane) {
      this.deps.log.warning(`ACME: TLSA rollover of ${name} abandoned: the profile or its DANE setting was removed`);
      delete this.state[name]!.rollover;
      await this.save();
      return;
    }
    try {
      if (r.step === 'published' || r.step === 'visible') {
        const seen = await this.visible(p, r, config);
        if (!seen.ok) {
          if (r.step === 'visible') throw new Error(`the TLSA records went away while the TTL was waited: ${seen.why}`);
          if (this.now() - Date.parse(r.since) > VISIBILITY_LIMIT_MS) throw new Error(`no validating lookup saw the new TLSA record within an hour: ${seen.why}`);
          this.schedule(name, Math.min(Math.max(r.ttl * 100, 1000), 30_000));
          return;
        }
        if (r.step === 'published') {
          r.step = 'visible';
          r.since = new Date(this.now()).toISOString();
          r.ttl = Math.max(r.ttl, seen.ttl);
          await this.save();
          this.deps.log.info(`ACME: TLSA rollover of ${name}: both records are visible (${seen.why}); the new certificate goes in service after ${r.ttl} seconds`);
          this.schedule(name, r.ttl * 1000);
          return;
        }
        if (this.now() - Date.parse(r.since) < r.ttl * 1000) {
          this.schedule(name, r.ttl * 1000 - (this.now() - Date.parse(r.since)));
          return;
        }
        if (this.deps.commitBlocked?.()) {
          this.schedule(name, 60_000); // the old certificate and both records stay meanwhile
          return;
        }
        const version = await this.deps.commit(name, r.next, `ACME renewal of ${name} (new key, after its TLSA record was visible for ${r.ttl} seconds)`);
        r.step = 'swapped';
        r.since = new Date(this.now()).toISOString();
        await this.save();
        this.deps.log.info(`ACME: TLSA rollover of ${name}: the new certificate is in service (configuration version ${version}); the old key's record goes in ${r.ttl} seconds`);
        this.schedule(name, r.ttl * 1000);
        return;
      }
      // swapped: once a TTL has passed, nobody can still hold the old set alone; the old record goes.
      if (this.now() - Date.parse(r.since) < r.ttl * 1000) {
        this.schedule(name, r.ttl * 1000 - (this.now() - Date.parse(r.since)));
        return;
      }
      await this.tlsaUpdate(p, (owner) => [{ op: 'delete', name: owner, type: 'TLSA', rdata: tlsaRdata(3, 1, 1, Buffer.from(r.old, 'hex')) }], config);
      delete this.state[name]!.rollover;
      this.state[name]!.published = r.new;
      await this.save();
      this.deps.log.info(`ACME: TLSA rollover of ${name} done: the old key's record ${r.old.slice(0, 16)}… is removed`);
    } catch (err) {
      await this.abandon(p, r, (err as Error).message, config);
    }
  }

  /** Does a validating lookup see the current and the next key's records at every owner name? */
  private async visible(p: CertificateProfile, r: Rollover, config: Config): Promise<{ ok: boolean; why: string; ttl: number }> {
    const dns = this.deps.dns(config);
    let ttl = 0;
    let insecure = false;
    for (const owner of this.owners(p)) {
      const l = await dns.lookup(owner, 'TLSA');
      if (l.security === 'bogus') return { ok: false, why: `${owner}: ${l.reason ?? 'the lookup failed'}`, ttl };
      const have = new Set(l.records.map((a) => tlsaHex(a)));
      const missing = [r.old, r.new].filter((w) => !have.has(w));
      if (missing.length) return { ok: false, why: `${owner} has no 3 1 1 ${missing[0]!.slice(0, 16)}… yet`, ttl };
      insecure ||= l.security === 'insecure';
      ttl = Math.max(ttl, ...l.records.map((a) => (a as { ttl?: number }).ttl ?? 0));
    }
    if (insecure) this.deps.log.warning(`ACME: TLSA rollover of ${p.name}: the records are not DNSSEC-signed (insecure), so DANE clients ignore them`);
    return { ok: true, why: insecure ? 'insecure answers' : 'secure answers', ttl };
  }

  /** A step failed: the next key's record goes again, the old certificate stays in service, and an alert says why. */
  private async abandon(p: CertificateProfile, r: Rollover, why: string, config: Config): Promise<void> {
    if (r.step !== 'swapped') {
      await this.tlsaUpdate(p, (owner) => [{ op: 'delete', name: owner, type: 'TLSA', rdata: tlsaRdata(3, 1, 1, Buffer.from(r.new, 'hex')) }], config).catch((err: Error) =>
        this.deps.log.warning(`ACME: the next key's TLSA record of ${p.name} could not be withdrawn: ${err.message}`),
      );
    }
    delete this.state[p.name]!.rollover;
    await this.failed(p.name, `TLSA rollover (step ${r.step}): ${why}`, config);
    if (config.acme.alertAfter > (this.state[p.name]?.failures ?? 0)) {
      // A rollover that fails is worth an alert at once, whatever the count.
      await this.deps
        .alert({ cls: 'system', severity: 'warning', summary: `The TLSA rollover of certificate profile ${p.name} failed`, details: `${why}.\r\nThe old certificate stays in service.`, key: `acme-rollover:${p.name}` })
        .catch(() => undefined);
    }
  }

  private async save(): Promise<void> {
    await ensureDir(path.dirname(this.file));
    await writeFileAtomic(this.file, JSON.stringify(this.state, null, 2), 0o600);
  }
}

export class RenewalError extends Error {}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

/** The 3 1 1 (or 2 1 1) association data of a certificate's key, in hex. */
const hexOf = (pem: string) => association(new X509Certificate(pem), 1, 1).toString('hex');

const tlsaAdd = (owner: string, data: string, ttl: number, usage = 3): UpdateChange => ({ op: 'add', name: owner, type: 'TLSA', ttl, rdata: tlsaRdata(usage, 1, 1, Buffer.from(data, 'hex')) });

function tlsaHex(a: unknown): string {
  const d = (a as { data?: { usage: number; selector: number; matchingType: number; certificate: Uint8Array } }).data;
  return d && d.usage === 3 && d.selector === 1 && d.matchingType === 1 ? Buffer.from(d.certificate).toString('hex') : '';
}
