import { certInfo } from '../../pki/certificate.js';
import { KEY_TYPES } from '../../pki/generate.js';
import { certificateUsers, deleteCertificate, findCertificate, setCaListEnabled } from '../../store/certificates/certificates.js';
import { countProblem } from '../../store/grammar.js';
import { UserError } from '../../userError.js';
import { shellTime } from '../../store/dates.js';
import { caList, checkSubjectField, createProfile, type Editing, exportProfile, importCustomCas, importProfile, parseKeyType, uploadCertificate, validateSubject } from '../../store/certificates/operations.js';
import { checkName } from '../../store/answers.js';
import { dueText, renewalDue, rolloverText } from '../../store/certificates/acme.js';
import { type CertificateProfile, ConfigError } from '../../store/schema.js';
import type { AcmeRenewalStatus } from '../../control/status.js';
import { done, edit, field, type GuiDeps, type Page, render, type Router } from '../gui.js';

/**
 * The certificate operations of the shell (certconfig), run on the page's draft: the same parsers,
 * limits and key storage; warnings they give are shown with the result.
 */
function editing(page: Page, warnings: string[]): Editing {
  const s = page.session;
  return {
    paths: page.deps.paths,
    get draft() {
      return s.pending!;
    },
    set draft(next) {
      s.pending = next;
    },
    io: { spin: (_label, work) => work, warn: (text) => void warnings.push(text) },
  };
}

/** Run a certificate operation; a refusal comes back on the page, warnings with the success. */
async function certOp(page: Page, ok: (warnings: string[]) => Promise<string> | string) {
  const warnings: string[] = [];
  const before = page.session.pending;
  try {
    const text = await ok(warnings);
    return done(page, '/certificates', 'ok', `${text}${warnings.length ? ` Warning: ${warnings.join(' ')}` : ''} Commit the changes to apply them.`);
  } catch (err) {
    page.session.pending = before;
    if (err instanceof UserError) return done(page, '/certificates', 'error', err.message);
    throw err;
  }
}

const fileField = (page: Page, name: string): Buffer | undefined => {
  const v = page.form[name];
  return Buffer.isBuffer(v) && v.length ? v : undefined;
};

/** What the page says of an ACME profile: how it renews, when next, what failed, the TLSA rollover under way. */
function renewalLines(p: CertificateProfile, s: AcmeRenewalStatus | undefined): string[] {
  const a = p.acme!;
  const due = s ?? { due: renewalDue(p.certificate).toISOString(), dueBy: 'lifetime' as const };
  const lines = [`ACME ${a.challenge}, ${a.reuseKey ? 'key kept' : 'new key'}${a.dane ? `, TLSA at port ${a.dane.port}` : ''}: next renewal ${dueText({ ...due, due: shellTime(due.due) })}`];
  if (s?.failures) lines.push(`${s.failures} failed attempt(s), the last: ${s.lastError}; next attempt ${shellTime(new Date(s.nextAttemptAt!))}`);
  if (s?.rollover) lines.push(`TLSA rollover: ${rolloverText(s.rollover)}`);
  return lines;
}

/** Network > Certificates, with Edit Certificate Authorities. Changes to certificates need an administrator. */
/** The key types as people say them (the select's values stay the batch form's words). */
const KEY_LABELS: Record<(typeof KEY_TYPES)[number], string> = { rsa2048: 'RSA 2048', rsa1024: 'RSA 1024 (weak)', 'ecdsa-p256': 'ECDSA P-256' };

export function certificateRoutes(router: Router, _deps: GuiDeps): void {
  router.get('/certificates', async (page) => {
    const draft = page.draft;
    const renewals = draft.certificates.some((p) => p.acme) ? await page.call('acme-status', {}) : [];
    const profiles = draft.certificates.map((p) => {
      const info = certInfo(p.certificate);
      return {
        name: p.name,
        commonName: info.commonName,
        issuer: info.selfSigned ? 'self-signed' : info.issuerCommonName,
        keyType: info.keyType,
        expires: shellTime(info.notAfter),
        days: info.daysRemaining,
        status: info.status,
        users: certificateUsers(draft, p.name).join(', '),
        demo: p.demo,
        csr: p.csr !== null,
        intermediates: p.intermediates.length,
        renewal: p.acme ? renewalLines(p, renewals.find((r) => r.name === p.name)) : [],
      };
    });
    const ca = draft.certificateAuthorities;
    const system = await caList(editing(page, []), 'system');
    const custom = ca.custom.certificates.map((pem) => {
      const info = certInfo(pem);
      return { subject: info.subject, expires: shellTime(info.notAfter) };
    });
    return render(page, 'certificates', {
      title: 'Certificates',
      profiles,
      keyTypes: KEY_TYPES.map((k) => ({ value: k, label: KEY_LABELS[k] })),
      ca: { systemEnabled: ca.system.enabled, systemCount: system.length, customEnabled: ca.custom.enabled, custom },
      warnDays: draft.alerts.certificateWarnDays,
    });
  });

  router.post(
    '/certificates/new',
    (page) =>
      certOp(page, async (warnings) => {
        const name = checkName(field(page.form, 'name'));
        const cn = field(page.form, 'commonName');
        const country = field(page.form, 'country').toUpperCase();
        validateSubject(cn, country, field(page.form, 'fqdnCheck') === 'on');
        const days = field(page.form, 'days') || '3650';
        const problem = countProblem(days, 'Days', { min: 1, max: 36500 });
        if (problem) throw new ConfigError(problem);
        const subject = {
          commonName: cn,
          country,
          organization: checkSubjectField('Organization', field(page.form, 'organization')) || undefined,
          organizationalUnit: checkSubjectField('Organizational Unit', field(page.form, 'organizationalUnit')) || undefined,
        };
        await createProfile(editing(page, warnings), { name, subject, days: Number(days), key: parseKeyType(field(page.form, 'key') || 'rsa2048') });
        return `Self-signed certificate profile ${name} created; download its CSR to have it signed.`;
      }),
    'administrator',
  );

  router.get('/certificates/csr', (page) => {
    const name = String((page.req.query as Record<string, unknown>).name ?? '');
    const p = findCertificate(page.draft, name);
    if (!p?.csr) return done(page, '/certificates', 'error', p ? `${p.name} has no signing request (its certificate was not made here).` : `No certificate profile named "${name}".`);
    return page.reply.type('application/pkcs10').header('Content-Disposition', `attachment; filename="${p.name}.csr.pem"`).send(p.csr);
  });

  router.upload(
    '/certificates/upload',
    (page) =>
      certOp(page, async () => {
        const name = field(page.form, 'name');
        const cert = fileField(page, 'certificateFile')?.toString('utf8') ?? field(page.form, 'certificate');
        const intermediates = fileField(page, 'intermediatesFile')?.toString('utf8') ?? field(page.form, 'intermediates');
        await uploadCertificate(editing(page, []), name, cert, intermediates ? [intermediates] : undefined);
        return `The signed certificate of ${name} was uploaded.`;
      }),
    'administrator',
  );

  router.upload(
    '/certificates/import',
    (page) =>
      certOp(page, async (warnings) => {
        const data = fileField(page, 'file');
        if (!data) throw new ConfigError('Choose a PKCS#12 file (.p12 or .pfx) to import.');
        const name = field(page.form, 'name');
        const result = await importProfile(editing(page, warnings), name ? checkName(name) : undefined, data, typeof page.form.passphrase === 'string' ? page.form.passphrase : '', field(page.form, 'fqdnCheck') === 'on');
        warnings.push(...result.warnings);
        return `Certificate profile ${result.name} imported from PKCS#12.`;
      }),
    'administrator',
  );

  router.post(
    '/certificates/export',
    async (page) => {
      const name = field(page.form, 'name');
      const passphrase = typeof page.form.passphrase === 'string' ? page.form.passphrase : '';
      if (passphrase.length < 8) return done(page, '/certificates', 'error', 'Give a passphrase of at least 8 characters to protect the exported private key.');
      try {
        const data = await exportProfile(editing(page, []), name, passphrase);
        page.deps.audit.write('Info', `GUI export of certificate profile ${name} (PKCS#12) by ${page.session.user}`);
        return page.reply.type('application/x-pkcs12').header('Content-Disposition', `attachment; filename="${name}.p12"`).send(data);
      } catch (err) {
        if (err instanceof UserError) return done(page, '/certificates', 'error', err.message);
        throw err;
      }
    },
    'administrator',
  );

  router.post('/certificates/delete', (page) => edit(page, '/certificates', (draft) => deleteCertificate(draft, field(page.form, 'name')), `Certificate profile ${field(page.form, 'name')} deleted.`), 'administrator');

  router.post(
    '/certificates/authorities',
    (page) =>
      edit(page, '/certificates', (draft) => {
        const on = (n: string) => field(page.form, n) === 'enabled';
        return setCaListEnabled(setCaListEnabled(draft, 'system', on('system')), 'custom', on('custom'));
      }, 'Certificate authority lists changed.'),
    'administrator',
  );

  router.upload(
    '/certificates/authorities/import',
    (page) =>
      certOp(page, () => {
        const bundle = fileField(page, 'file')?.toString('utf8') ?? field(page.form, 'bundle');
        const result = importCustomCas(editing(page, []), bundle, field(page.form, 'fqdnCheck') === 'on');
        const rejected = result.rejected.map((r) => `${r.subject}: ${r.reason}`).join('; ');
        if (!result.added.length) throw new ConfigError(`No certificate was added to the custom list${rejected ? ` (${rejected})` : ''}.`);
        return `${result.added.length} certificate(s) added to the custom list${rejected ? `; not added: ${rejected}` : ''}.`;
      }),
    'administrator',
  );

  router.get('/certificates/authorities/custom.pem', (page) =>
    page.reply.type('application/x-pem-file').header('Content-Disposition', 'attachment; filename="custom-ca.pem"').send(page.draft.certificateAuthorities.custom.certificates.join('')),
  );
}
