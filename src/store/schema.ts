import net from 'node:net';
import { PUSHED_LOGS, syslogUrlProblem } from './logs/syslogTarget.js';
import tls from 'node:tls';
import os from 'node:os';
import { z } from 'zod';
import { ROOT_ANCHOR_LINES } from './network/rootAnchors.js';
import { defaultHat, HatSchema, hatProblems } from './listeners/hat.js';
import { AlertsSchema } from './alerts/alerts.js';
import { type DeliverySettings, DestinationDefaultsSchema, DestinationSchema, destinationDomain, securityWithoutTls } from './destinations/destinations.js';
import { UserError } from '../userError.js';
import { hasControlCharacters } from './text.js';
import { domainProblem, emailProblem, isHostname } from './grammar.js';
import { UserSchema } from './accounts/schema.js';
import { objectName } from './objectName.js';
import { type BounceProfile, BounceProfilesSchema } from './bounces/profiles.js';
import { withBounceProfiles } from './bounces/migrate.js';
import { BounceVerificationSchema } from './bounces/verification.js';

/**
 * The appliance configuration: one typed document, validated on every load, every edit and every
 * commit. This file is the single source of truth for defaults and for consistency rules.
 */

export { objectName } from './objectName.js';

export const hostname = z.string().refine(isHostname, 'is not a valid host name');

const syslogUrl = z.string().superRefine((s, ctx) => {
  const problem = syslogUrlProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const ipAddress = z.string().refine((s) => net.isIP(s) !== 0, 'is not an IPv4 or IPv6 address');

export const InterfaceSchema = z.object({
  name: objectName,
  ip: ipAddress,
  /** Host name this interface answers as; the appliance host name when absent. */
  hostname: hostname.optional(),
  /**
   * The HTTPS management interface (GUI) on this interface, absent when off: its port, the
   * certificate profile it presents (the demo certificate when null) and an optional plain HTTP
   * port that only redirects to it.
   */
  https: z
    .object({
      port: z.number().int().min(1).max(65535),
      certificate: objectName.nullable().default(null),
      httpRedirect: z.number().int().min(1).max(65535).nullable().default(null),
    })
    .optional(),
  /** The SSH service (the appliance shell for userconfig accounts) on this interface, absent when off. */
  ssh: z.object({ port: z.number().int().min(1).max(65535) }).optional(),
  /** Plain HTTP port that answers ACME HTTP-01 challenges (only the tokens of orders in progress); absent when off. */
  acmeHttp: z.number().int().min(1).max(65535).optional(),
  /** The Prometheus endpoint /metrics on this interface's HTTPS port (metricsconfig says who may read it). */
  metrics: z.boolean().optional(),
});

/** metricsconfig: who may read /metrics: a bearer token (only its SHA-256 is kept) or an allowed address. */
export const MetricsAccessSchema = z.object({
  tokens: z
    .array(
      z.object({
        /** The first 8 hex digits of the token's SHA-256, to name it. */
        id: z.string().regex(/^[0-9a-f]{8}$/),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
        created: z.string(),
      }),
    )
    .max(10)
    .default(() => []),
  /** Addresses and CIDR ranges that may read /metrics without a token. */
  allow: z.array(z.string()).default(() => []),
});

const pemCertificate = z
  .string()
  .refine((s) => /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/.test(s), 'is not one PEM certificate');

/**
 * A certificate profile. The private key is not in the document: keyRef names keys/<keyRef>.pem
 * (SHA-256 of the public key), which is never rewritten or removed, so every committed version,
 * and so every rollback, still finds its key.
 */
export const CertificateProfileSchema = z.object({
  name: objectName,
  certificate: pemCertificate,
  intermediates: z.array(pemCertificate).default(() => []),
  keyRef: z.string().regex(/^[0-9a-f]{64}$/, 'is not a key reference'),
  /** The signing request of a self-signed profile, until a CA-signed certificate is uploaded. */
  csr: z.string().nullable().default(null),
  /** The demonstration certificate made at first start: works, but is not secure. */
  demo: z.boolean().default(false),
  /** A profile an ACME CA issues (certconfig acme new): what each renewal orders again. */
  acme: z
    .object({
      names: z.array(z.string()).min(1).max(100),
      key: z.enum(['ecdsa-p256', 'rsa2048']),
      challenge: z.enum(['http-01', 'dns-01']),
      /** Renewals keep the key (no TLSA change) instead of making a new one. */
      reuseKey: z.boolean(),
      /**
       * DANE: the appliance keeps `3 1 1` TLSA records for the key at _PORT._tcp.NAME (and `2 1 1`
       * for the issuer with `issuer`) through the zone's update server, and rolls them over before a
       * new key goes in service; `ttl` is the records' TTL.
       */
      dane: z.object({ port: z.number().int().min(1).max(65535), issuer: z.boolean(), ttl: z.number().int().min(1).max(86_400) }).optional(),
    })
    .optional(),
});

/** The ACME account certificates are ordered with (certconfig acme account new); its key is in keys/<keyRef>.pem. */
export const AcmeAccountSchema = z.object({
  directory: z.string().url(),
  email: z.string(),
  keyRef: z.string().regex(/^[0-9a-f]{64}$/, 'is not a key reference'),
  url: z.string().url(),
});

export const CertificateAuthoritiesSchema = z.object({
  system: z
    .object({
      enabled: z.boolean().default(true),
      /** A bundle loaded with UPDATE (ca/<sha256>.pem); null means the Mozilla roots Node ships. */
      bundle: z
        .object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), count: z.number().int().min(1), updated: z.string(), source: z.string() })
        .nullable()
        .default(null),
    })
    .default(() => ({ enabled: true, bundle: null })),
  custom: z
    .object({ enabled: z.boolean().default(false), certificates: z.array(pemCertificate).default(() => []) })
    .default(() => ({ enabled: false, certificates: [] })),
});

export const SmtpRouteSchema = z.object({
  domain: destinationDomain,
  hosts: z
    .array(z.object({ host: z.string().refine((h) => net.isIP(h) !== 0 || isHostname(h), 'is not a host name or IP address'), port: z.number().int().min(1).max(65535).default(25) }))
    .min(1, 'needs at least one host'),
});

export const LISTENER_TYPES = ['public', 'private'] as const;

/**
 * Forward secrecy by default: TLS 1.3 suites and ECDHE with AEAD for TLS 1.2, in and out. An
 * administrator may widen a list (sslconfig inbound|outbound --ciphers) for old peers.
 */
export const FORWARD_SECRET_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');

/** An OpenSSL cipher list this Node can use (an unknown name alone is "no cipher match"). */
export const cipherList = z
  .string()
  .max(2000)
  .refine((s) => {
    try {
      tls.createSecureContext({ ciphers: s });
      return true;
    } catch {
      return false;
    }
  }, 'is not a cipher list OpenSSL accepts');

/** logconfig mail_logs --level, most to least severe; Info by default. */
export const MAIL_LOG_LEVELS = ['critical', 'warning', 'info', 'debug', 'trace'] as const;
export type MailLogLevel = (typeof MAIL_LOG_LEVELS)[number];

/** tlsrptconfig: daily TLS reports (RFC 8460) to the domains that ask for them. */
export const TlsRptSchema = z.object({
  enabled: z.boolean().default(false),
  /** organization-name; the host name when empty. */
  organization: z.string().max(200).refine((s) => !hasControlCharacters(s), 'must not contain control characters').default(''),
  /** contact-info; postmaster@<host name> when empty. */
  contact: z.string().max(200).refine((s) => s === '' || emailProblem(s) === undefined, 'is not an e-mail address').default(''),
  /** The UTC hour at which the previous days' reports are sent. */
  hour: z.number().int().min(0).max(23).default(1),
});

/** Recipient access table entries: a domain, ".domain" for its subdomains, or ALL. */
export const rcptDomain = z
  .string()
  .refine((s) => s === 'ALL' || domainProblem(s) === undefined, 'is not a domain, ".domain" or ALL');

export const ListenerSchema = z
  .object({
    name: objectName,
    type: z.enum(LISTENER_TYPES),
    interface: objectName,
    port: z.number().int().min(1, 'must be 1-65535').max(65535, 'must be 1-65535'),
    /** Certificate profile for STARTTLS; null means the demo certificate. */
    certificate: objectName.nullable().default(null),
    /** Host access table; a new listener gets the appliance's defaults for its type. */
    hat: HatSchema.optional(),
    /** Domains a public listener accepts mail for (RCPTACCESS); everything else gets 550. */
    rcptAccess: z.array(rcptDomain).default(() => []),
    limits: z
      .object({
        maxConcurrency: z.number().int().min(1).max(100000).default(50),
        tcpQueue: z.number().int().min(1).max(65535).default(50),
        /** Seconds a client has to complete each command line after our reply (a trickle does not reset it). */
        commandTimeout: z.number().int().min(1).max(3600).default(60),
        /** Seconds to transfer a whole message after 354. */
        dataTimeout: z.number().int().min(1).max(7200).default(600),
        /** Seconds a whole session may last, whatever the client does. */
        sessionTimeout: z.number().int().min(1).max(86400).default(1800),
      })
      .default(() => ({ maxConcurrency: 50, tcpQueue: 50, commandTimeout: 60, dataTimeout: 600, sessionTimeout: 1800 })),
  })
  .transform((l) => ({ ...l, hat: l.hat ?? defaultHat(l.type) }));

/** sshconfig's ranges, for the schema and for the shell's and the GUI's own checks. */
export const MAX_LISTENER_WORKERS = 32;

export const SSH_LIMITS = { idleTimeoutMinutes: { min: 1, max: 1440 }, maxSessions: { min: 1, max: 100 } } as const;

export const ConfigSchema = z
  .object({
    hostname: hostname.default(() => defaultHostname()),
    interfaces: z.array(InterfaceSchema).default(() => [{ name: 'Management', ip: '127.0.0.1' }]),
    listeners: z.array(ListenerSchema).default(() => []),
    certificates: z.array(CertificateProfileSchema).default(() => []),
    acme: z
      .object({
        account: AcmeAccountSchema.nullable().default(null),
        /** A failed renewal is tried again after this long, doubling each time (at most a day). */
        retryMinutes: z.number().int().min(1).max(1440).default(60),
        /** A System alert after this many renewals of a profile failed in a row. */
        alertAfter: z.number().int().min(1).max(100).default(3),
      })
      .default(() => ({ account: null, retryMinutes: 60, alertAfter: 3 })),
    certificateAuthorities: CertificateAuthoritiesSchema.default(() => CertificateAuthoritiesSchema.parse({})),
    /** Delivery: destination controls and the global destconfig SETUP settings. */
    delivery: z
      .object({
        /** Client certificate presented on all outbound TLS (destconfig SETUP). */
        certificate: objectName.nullable().default(null),
        alertOnRequiredTlsFailure: z.boolean().default(false),
        /** Alert when DANE verification fails for every MX of a domain that needs it. */
        alertOnDaneFailure: z.boolean().default(false),
        defaults: DestinationDefaultsSchema.default(() => DestinationDefaultsSchema.parse({})),
        destinations: z.array(DestinationSchema).default(() => []),
      })
      .default(() => ({ certificate: null, alertOnRequiredTlsFailure: false, alertOnDaneFailure: false, defaults: DestinationDefaultsSchema.parse({}), destinations: [] })),
    /** bounceconfig: retry, expiry and bounce-message settings that destination control entries name. */
    bounceProfiles: BounceProfilesSchema,
    /** bvconfig: keys that tag outgoing envelope senders and verify the bounces that come back. */
    bounceVerification: BounceVerificationSchema.default(() => ({ keys: [], invalidAction: 'reject' as const })),
    /** sslconfig: outbound TLS floor and the optional peer certificate checks. */
    tls: z
      .object({
        outboundMinVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
        peerCertFqdn: z.boolean().default(false),
        peerCertX509: z.boolean().default(false),
        inboundCiphers: cipherList.default(FORWARD_SECRET_CIPHERS),
        outboundCiphers: cipherList.default(FORWARD_SECRET_CIPHERS),
      })
      .default(() => ({ outboundMinVersion: 'TLSv1.2' as const, peerCertFqdn: false, peerCertX509: false, inboundCiphers: FORWARD_SECRET_CIPHERS, outboundCiphers: FORWARD_SECRET_CIPHERS })),
    /** SMTP routes: a domain (or ".domain") delivered to fixed hosts instead of its MX. */
    smtpRoutes: z.array(SmtpRouteSchema).default(() => []),
    alerts: AlertsSchema.default(() => AlertsSchema.parse({})),
    /** dnsconfig: resolvers the engine queries; empty means the system's. */
    dns: z
      .object({
        servers: z.array(z.string()).default(() => []),
        /** builtin: the engine validates DNSSEC itself (engine/dns/dnssec/); resolver: it trusts the AD bit of a loopback resolver. */
        validation: z.enum(['builtin', 'resolver']).default('builtin'),
        /** Where validation starts: DS or DNSKEY lines (trustAnchors.ts); the IANA root KSKs unless changed. */
        trustAnchors: z.array(z.string()).default(() => [...ROOT_ANCHOR_LINES]),
        /** Zones whose primary takes the appliance's dynamic updates (RFC 2136), signed with the TSIG key in keys/<keyRef>.key. */
        updateServers: z
          .array(
            z.object({
              zone: z.string(),
              /** IP:PORT (IPv6 in brackets). */
              server: z.string(),
              keyName: z.string(),
              keyRef: z.string().regex(/^tsig-[0-9a-f]{64}$/, 'is not a TSIG key reference'),
            }),
          )
          .default(() => []),
      })
      .default(() => ({ servers: [], validation: 'builtin' as const, trustAnchors: [...ROOT_ANCHOR_LINES], updateServers: [] })),
    metrics: MetricsAccessSchema.default(() => ({ tokens: [], allow: [] })),
    logs: z
      .object({
        mailLevel: z.enum(MAIL_LOG_LEVELS).default('info'),
        /** mail.current is rolled over past this size (bytes) … */
        rotateBytes: z.number().int().min(100 * 1024).max(10 * 1024 * 1024 * 1024).default(10 * 1024 * 1024),
        /** … and after this many hours (0: by size only). */
        rotateHours: z.number().int().min(0).max(8760).default(24),
        /** Rolled-over files kept. */
        keep: z.number().int().min(1).max(1000).default(10),
        /** Syslog receivers each log is pushed to as well (logconfig --syslog); absent: none. */
        syslog: z.partialRecord(z.enum(PUSHED_LOGS), syslogUrl).default(() => ({})),
      })
      .default(() => ({ mailLevel: 'info' as const, rotateBytes: 10 * 1024 * 1024, rotateHours: 24, keep: 10, syslog: {} })),
    /** queueconfig: below this much free space on the queue's file system, new mail gets 452 4.3.1. */
    queue: z
      .object({
        reserveMb: z.number().int().min(0).max(1_000_000).default(100),
        /** Deliveries under way at once, over all destinations (each destination has its own limit too). */
        maxDeliveries: z.number().int().min(1).max(1000).default(50),
      })
      .default(() => ({ reserveMb: 100, maxDeliveries: 50 })),
    /** listenerconfig setup: processes besides the engine that serve SMTP sessions ("auto": one per core beyond the first two). */
    listenerWorkers: z.union([z.literal('auto'), z.number().int().min(0).max(MAX_LISTENER_WORKERS)]).default('auto'),
    tlsrpt: TlsRptSchema.default(() => TlsRptSchema.parse({})),
    /** userconfig: accounts for HTTPS and SSH access (scrypt password hashes only). */
    users: z.array(UserSchema).default(() => []),
    /** sshconfig: how the SSH service lets accounts in and how long their sessions may sit idle. */
    ssh: z
      .object({
        passwordAuth: z.boolean().default(true),
        idleTimeoutMinutes: z.number().int().min(SSH_LIMITS.idleTimeoutMinutes.min).max(SSH_LIMITS.idleTimeoutMinutes.max).default(30),
        maxSessions: z.number().int().min(SSH_LIMITS.maxSessions.min).max(SSH_LIMITS.maxSessions.max).default(10),
      })
      .default(() => ({ passwordAuth: true, idleTimeoutMinutes: 30, maxSessions: 10 })),
  })
  .superRefine((config, ctx) => {
    for (const problem of consistencyProblems(config)) ctx.addIssue({ code: 'custom', ...problem });
  });

export type Config = z.infer<typeof ConfigSchema>;
export type Interface = z.infer<typeof InterfaceSchema>;
export type Listener = z.infer<typeof ListenerSchema>;
export type ListenerType = (typeof LISTENER_TYPES)[number];
export type CertificateProfile = z.infer<typeof CertificateProfileSchema>;

/** Names of fields that hold secrets anywhere in the document: masked or encrypted on output. */
export const SECRET_FIELD_NAMES: ReadonlySet<string> = new Set(['privateKey', 'passphrase', 'password', 'passwordHash', 'tagKey']);

function defaultHostname(): string {
  const h = os.hostname();
  return isHostname(h) ? h : 'mxgate.localdomain';
}

/** The embedded configuration a new appliance starts with. */
export function defaultConfig(): Config {
  return ConfigSchema.parse({});
}

export const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

interface Problem {
  path: (string | number)[];
  message: string;
}

/** Rules that span objects: names are unique, references resolve, no two listeners share an address. */
function consistencyProblems(config: {
  interfaces: Interface[];
  listeners: Listener[];
  certificates: CertificateProfile[];
  delivery: DeliverySettings & { certificate: string | null };
  bounceProfiles: BounceProfile[];
}): Problem[] {
  const problems: Problem[] = [];
  duplicates(config.certificates.map((c) => c.name)).forEach((index) =>
    problems.push({ path: ['certificates', index, 'name'], message: `certificate profile name "${config.certificates[index]!.name}" is used twice` }),
  );
  const hasCertificate = (name: string) => config.certificates.some((c) => sameName(c.name, name));
  config.listeners.forEach((l, index) => {
    for (const problem of hatProblems(l.hat)) problems.push({ path: ['listeners', index, 'hat'], message: problem });
    if (l.certificate !== null && !hasCertificate(l.certificate)) {
      problems.push({ path: ['listeners', index, 'certificate'], message: `certificate profile "${l.certificate}" does not exist` });
    }
  });
  duplicates(config.delivery.destinations.map((d) => d.domain)).forEach((index) =>
    problems.push({ path: ['delivery', 'destinations', index, 'domain'], message: `${config.delivery.destinations[index]!.domain} has two destination control entries` }),
  );
  if (config.delivery.certificate !== null && !hasCertificate(config.delivery.certificate)) {
    problems.push({ path: ['delivery', 'certificate'], message: `certificate profile "${config.delivery.certificate}" does not exist` });
  }
  duplicates(config.bounceProfiles.map((p) => p.name)).forEach((index) =>
    problems.push({ path: ['bounceProfiles', index, 'name'], message: `bounce profile name "${config.bounceProfiles[index]!.name}" is used twice` }),
  );
  const hasProfile = (name: string) => config.bounceProfiles.some((p) => sameName(p.name, name));
  if (!hasProfile(config.delivery.defaults.bounceProfile)) {
    problems.push({ path: ['delivery', 'defaults', 'bounceProfile'], message: `bounce profile "${config.delivery.defaults.bounceProfile}" does not exist` });
  }
  config.delivery.destinations.forEach((d, index) => {
    if (d.bounceProfile !== undefined && !hasProfile(d.bounceProfile)) {
      problems.push({ path: ['delivery', 'destinations', index, 'bounceProfile'], message: `bounce profile "${d.bounceProfile}" does not exist` });
    }
  });
  for (const entry of securityWithoutTls(config.delivery)) {
    problems.push({ path: ['delivery', 'destinations'], message: `${entry}: DANE and MTA-STS need a TLS setting other than No` });
  }
  duplicates(config.interfaces.map((i) => i.name)).forEach((index) =>
    problems.push({ path: ['interfaces', index, 'name'], message: `interface name "${config.interfaces[index]!.name}" is used twice` }),
  );
  duplicates(config.listeners.map((l) => l.name)).forEach((index) =>
    problems.push({ path: ['listeners', index, 'name'], message: `listener name "${config.listeners[index]!.name}" is used twice` }),
  );
  const bound = new Map<string, string>();
  config.interfaces.forEach((iface, index) => {
    if (iface.metrics && !iface.https) problems.push({ path: ['interfaces', index, 'metrics'], message: `/metrics on interface ${iface.name} needs HTTPS on it` });
    if (!iface.https) return;
    const { port, httpRedirect, certificate } = iface.https;
    if (certificate !== null && !hasCertificate(certificate)) {
      problems.push({ path: ['interfaces', index, 'https', 'certificate'], message: `certificate profile "${certificate}" does not exist` });
    }
    if (certificate === null && !config.certificates.some((c) => c.demo)) {
      problems.push({ path: ['interfaces', index, 'https', 'certificate'], message: `HTTPS needs a certificate profile: there is no demo certificate to fall back on` });
    }
    if (httpRedirect === port) problems.push({ path: ['interfaces', index, 'https', 'httpRedirect'], message: `the HTTP redirect port ${port} is the HTTPS port` });
    for (const [p, what] of [[port, 'HTTPS'], [httpRedirect, 'HTTP redirect']] as const) {
      if (p === null) continue;
      const key = `${iface.ip}:${p}`;
      const other = bound.get(key);
      if (other) problems.push({ path: ['interfaces', index, 'https'], message: `port ${p} on interface ${iface.name} (${iface.ip}) is already used by ${other}` });
      else bound.set(key, `the ${what} service of interface ${iface.name}`);
    }
  });
  config.interfaces.forEach((iface, index) => {
    if (iface.acmeHttp === undefined) return;
    const key = `${iface.ip}:${iface.acmeHttp}`;
    const other = bound.get(key);
    if (other) problems.push({ path: ['interfaces', index, 'acmeHttp'], message: `port ${iface.acmeHttp} on interface ${iface.name} (${iface.ip}) is already used by ${other}` });
    else bound.set(key, `the ACME HTTP-01 responder of interface ${iface.name}`);
  });
  config.interfaces.forEach((iface, index) => {
    if (!iface.ssh) return;
    const key = `${iface.ip}:${iface.ssh.port}`;
    const other = bound.get(key);
    if (other) problems.push({ path: ['interfaces', index, 'ssh'], message: `port ${iface.ssh.port} on interface ${iface.name} (${iface.ip}) is already used by ${other}` });
    else bound.set(key, `the SSH service of interface ${iface.name}`);
  });
  config.listeners.forEach((l, index) => {
    const iface = config.interfaces.find((i) => sameName(i.name, l.interface));
    if (!iface) {
      problems.push({ path: ['listeners', index, 'interface'], message: `interface "${l.interface}" does not exist` });
      return;
    }
    const key = `${iface.ip}:${l.port}`;
    const other = bound.get(key);
    if (other) {
      problems.push({
        path: ['listeners', index, 'port'],
        message: `port ${l.port} on interface ${iface.name} (${iface.ip}) is already used by ${other}`,
      });
    } else {
      bound.set(key, `listener "${l.name}"`);
    }
  });
  return problems;
}

function duplicates(names: string[]): number[] {
  const seen = new Set<string>();
  const dup: number[] = [];
  names.forEach((n, index) => {
    const key = n.toLowerCase();
    if (seen.has(key)) dup.push(index);
    seen.add(key);
  });
  return dup;
}

/** What an entry of each list is called, for messages ("destination partner.example: …"). */
export const ENTRY_NAMES: Record<string, string> = {
  listeners: 'listener',
  interfaces: 'interface',
  certificates: 'certificate profile',
  destinations: 'destination',
  recipients: 'alert recipient',
  smtpRoutes: 'SMTP route',
  senderGroups: 'sender group',
  policies: 'policy',
  hosts: 'host',
  updateServers: 'update server',
  bounceProfiles: 'bounce profile',
  keys: 'tagging key',
};

/** A camelCase key as words ("maxConcurrency" → "max concurrency"). */
export const words = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();

/** zod's wording ("Too small: expected number to be >=1") in the shell's. */
function issueText(issue: z.core.$ZodIssue): string {
  if (!/^(Too (big|small)|Invalid)/.test(issue.message)) return issue.message; // the schema's own words
  if (issue.code === 'too_small') return `must be at least ${String(issue.minimum)}`;
  if (issue.code === 'too_big') return `must be at most ${String(issue.maximum)}`;
  if (issue.code === 'invalid_value') return `must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
  if (issue.code === 'invalid_type') return `must be ${issue.expected === 'int' ? 'a whole number' : `a ${issue.expected}`}`;
  return issue.message;
}

/**
 * Turn schema issues into lines an administrator can read: list entries are named by what they
 * are and their name ("destination partner.example: recipient limit minutes must be at least 1"),
 * never by array positions or internal paths.
 */
export function describeIssues(error: z.ZodError, doc: unknown): string[] {
  return error.issues.map((issue) => {
    const where: string[] = [];
    let fields: string[] = [];
    let node: unknown = doc;
    let parentKey = '';
    for (const key of issue.path) {
      const child: unknown = node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined;
      if (typeof key === 'number') {
        const entry = (child ?? {}) as { name?: unknown; domain?: unknown; email?: unknown; host?: unknown };
        const id = [entry.name, entry.domain, entry.email, entry.host].find((v) => typeof v === 'string');
        where.push(`${ENTRY_NAMES[parentKey] ?? words(parentKey)} ${id ?? `#${key + 1}`}`);
        fields = [];
      } else {
        fields.push(words(String(key)));
        parentKey = String(key);
      }
      node = child;
    }
    const field = fields.join(' ');
    // A refinement's message says the whole thing, or only the predicate ("is not a valid host name").
    const predicate = issue.code !== 'custom' || /^(is|must|needs|has) /.test(issue.message);
    const text = field && predicate ? `${field} ${issueText(issue)}` : issueText(issue);
    return where.length ? `${where.join(', ')}: ${text}` : text;
  });
}

export class ConfigError extends UserError {
  constructor(
    message: string,
    readonly details: string[] = [],
  ) {
    super(details.length ? `${message}\n  ${details.join('\n  ')}` : message);
    this.name = 'ConfigError';
  }
}

/** Validate a whole document; throws ConfigError listing every problem. */
export function validateConfig(stored: unknown): Config {
  // A document an earlier release wrote is read in today's terms first (so old versions roll back).
  const doc = withBounceProfiles(stored);
  const result = ConfigSchema.safeParse(doc);
  if (!result.success) throw new ConfigError('The configuration is not valid:', describeIssues(result.error, doc));
  return result.data;
}
