import { addBounceProfile, deleteBounceProfile, editBounceProfile, profileUsers } from '../../store/bounces/edits.js';
import { BOUNCE_LIMITS, type BounceProfile, isDefaultProfile } from '../../store/bounces/profiles.js';
import { emailProblem } from '../../store/grammar.js';
import { byName } from '../../store/named.js';
import { ConfigError } from '../../store/schema.js';
import { countField as count, edit, field, type GuiDeps, render, type Router } from '../gui.js';

/** The form's settings: delay warnings are off when their interval is left empty. */
function settingsFrom(form: Record<string, unknown>): Omit<BounceProfile, 'name'> {
  const interval = field(form, 'warningInterval');
  const alternate = field(form, 'alternateAddress');
  const problem = alternate ? emailProblem(alternate) : undefined;
  if (problem) throw new ConfigError(`Alternate address: ${problem}`);
  return {
    maxRetries: count(form, 'maxRetries', 'Maximum number of retries', BOUNCE_LIMITS.maxRetries),
    maxQueueSeconds: count(form, 'maxQueueSeconds', 'Maximum time in queue', BOUNCE_LIMITS.maxQueueSeconds),
    retryInitialSeconds: count(form, 'retryInitialSeconds', 'Initial retry interval', BOUNCE_LIMITS.retryInitialSeconds),
    retryMaxSeconds: count(form, 'retryMaxSeconds', 'Maximum retry interval', BOUNCE_LIMITS.retryMaxSeconds),
    hardBounces: field(form, 'hardBounces') !== 'no',
    delayWarnings: interval ? { intervalSeconds: count(form, 'warningInterval', 'Delay warning interval', BOUNCE_LIMITS.intervalSeconds), maxWarnings: count(form, 'maxWarnings', 'Maximum number of delay warnings', BOUNCE_LIMITS.maxWarnings) } : null,
    alternateAddress: alternate || null,
  };
}

/** Mail Policies > Bounce Profiles, as the shell's bounceconfig: the same store functions and checks. */
export function bounceRoutes(router: Router, _deps: GuiDeps): void {
  router.get('/bounce-profiles', (page) =>
    render(page, 'bounceProfiles', {
      title: 'Bounce Profiles',
      profiles: page.draft.bounceProfiles.map((p) => ({
        ...p,
        warnings: p.delayWarnings ? `every ${p.delayWarnings.intervalSeconds} s, at most ${p.delayWarnings.maxWarnings}` : 'No',
        usedBy: profileUsers(page.draft, p.name).join(', ') || 'none',
        deletable: !isDefaultProfile(p.name),
      })),
      limits: BOUNCE_LIMITS,
    }),
  );
  router.post('/bounce-profiles', (page) => {
    const name = field(page.form, 'name');
    const exists = byName(page.draft.bounceProfiles, name) !== undefined;
    return edit(
      page,
      '/bounce-profiles',
      (d) => (exists ? editBounceProfile(d, name, settingsFrom(page.form)) : addBounceProfile(d, { name, ...settingsFrom(page.form) })),
      `Bounce profile ${name} ${exists ? 'changed' : 'added'}.`,
    );
  });
  router.post('/bounce-profiles/delete', (page) => edit(page, '/bounce-profiles', (d) => deleteBounceProfile(d, field(page.form, 'name')), `Bounce profile ${field(page.form, 'name')} deleted.`));
}
