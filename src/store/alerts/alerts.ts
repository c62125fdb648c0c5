import { z } from 'zod';
import { emailProblem } from '../grammar.js';

/** alertconfig: who gets which alerts, from which address, and how repeats are damped. */

/**
 * The appliance's alert classes that mxgate can raise: System (the mail log, certificates, commits,
 * required TLS failures) and Message Delivery (DANE failures, as the AsyncOS guide subscribes to
 * them), and the two it keeps for the appliance's dialogs. Hardware, Updater, Outbreak Filters,
 * Anti-Virus and Anti-Spam are gone: nothing here raises them.
 */
export const ALERT_CLASSES = ['all', 'system', 'delivery', 'dhap', 'release'] as const;
/** Classes of earlier releases, dropped when a configuration that names them is read. */
const RETIRED_CLASSES = new Set(['hardware', 'updater', 'outbreak', 'antivirus', 'antispam']);
export const ALERT_SEVERITIES = ['all', 'critical', 'warning', 'information'] as const;
export type AlertClass = Exclude<(typeof ALERT_CLASSES)[number], 'all'>;
export type AlertSeverity = Exclude<(typeof ALERT_SEVERITIES)[number], 'all'>;

export const CLASS_LABELS: Record<(typeof ALERT_CLASSES)[number], string> = {
  all: 'All',
  system: 'System',
  delivery: 'Message Delivery',
  dhap: 'Directory Harvest Attack Prevention',
  release: 'Release and Support Notifications',
};

const email = z.string().refine((s) => emailProblem(s) === undefined, 'is not an email address');

export const AlertRecipientSchema = z.object({
  email,
  classes: z.array(z.enum(ALERT_CLASSES)).min(1),
  severities: z.array(z.enum(ALERT_SEVERITIES)).min(1),
});

/**
 * Recipients as an earlier release may have written them: retired classes are dropped, and a
 * recipient left with none (it could never get an alert) goes, so old versions still read and roll back.
 */
const withoutRetiredClasses = (value: unknown): unknown => {
  if (!Array.isArray(value)) return value;
  return value
    .map((r) => (r && typeof r === 'object' && Array.isArray((r as { classes?: unknown }).classes) ? { ...r, classes: (r as { classes: unknown[] }).classes.filter((c) => !RETIRED_CLASSES.has(c as string)) } : r))
    .filter((r) => !(r && typeof r === 'object' && Array.isArray((r as { classes?: unknown[] }).classes) && (r as { classes: unknown[] }).classes.length === 0));
};

export const AlertsSchema = z
  .object({
    recipients: z.preprocess(withoutRetiredClasses, z.array(AlertRecipientSchema)).default(() => []),
    /** null: alert@<hostname>. */
    from: email.nullable().default(null),
    /** Seconds before the first repeat of the same alert; 0 sends every repeat. */
    initialSeconds: z.number().int().min(0).default(300),
    maxSeconds: z.number().int().min(0).default(3600),
    keep: z.number().int().min(1).max(1000).default(50),
    /** A System/Warning alert this many days before a certificate in use expires (certconfig expiry). */
    certificateWarnDays: z.number().int().min(1).max(365).default(30),
  })
  .refine((a) => a.maxSeconds >= a.initialSeconds, { message: 'the maximum seconds between repeats cannot be less than the initial seconds', path: ['maxSeconds'] });

export type Alerts = z.infer<typeof AlertsSchema>;
export type AlertRecipient = z.infer<typeof AlertRecipientSchema>;

export function subscribed(r: AlertRecipient, cls: AlertClass, severity: AlertSeverity): boolean {
  return (r.classes.includes('all') || r.classes.includes(cls)) && (r.severities.includes('all') || r.severities.includes(severity));
}
