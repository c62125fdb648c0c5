import { ControlError } from '../../control/dispatch.js';
import { shellTime } from '../../store/dates.js';
import { domainProblem } from '../../store/grammar.js';
import { clientAddress, done, field, type GuiDeps, type Page, render, type Router } from '../gui.js';

/**
 * The delivery queue, as showrecipients, deliverynow and bouncerecipients: the recipients that
 * wait, and the two actions on them. They act at once (they change the queue, not the
 * configuration), through the engine's operations as the session's account, and are audited.
 */
export function queueRoutes(router: Router, deps: GuiDeps): void {
  router.get('/queue', async (page) => {
    const waiting = await page.call('recipients', {});
    const domains = [...new Set(waiting.map((r) => r.to.slice(r.to.lastIndexOf('@') + 1).toLowerCase()))].sort();
    return render(page, 'queue', {
      title: 'Delivery Queue',
      recipients: waiting.map((r) => ({ ...r, receivedAt: shellTime(r.receivedAt), nextAttemptAt: r.nextAttemptAt ? shellTime(r.nextAttemptAt) : '' })),
      domains,
    });
  });

  const act = async (page: Page, what: () => Promise<string>) => {
    try {
      const said = await what();
      deps.audit.write('Info', `GUI ${said} by ${page.session.user} from ${clientAddress(page.req)}`);
      return done(page, '/queue', 'ok', said);
    } catch (err) {
      if (err instanceof ControlError) return done(page, '/queue', 'error', err.message);
      throw err;
    }
  };

  router.post('/queue/deliver', (page) =>
    act(page, async () => {
      const domain = field(page.form, 'domain');
      if (domain && domainProblem(domain)) throw new ControlError('bad-request', domainProblem(domain)!);
      const { messages } = await page.call('deliverynow', domain ? { domain } : {});
      return `deliver now${domain ? ` for ${domain}` : ''}: ${messages} message(s) tried again at once`;
    }),
  );

  router.post('/queue/bounce', (page) =>
    act(page, async () => {
      const mid = Number(field(page.form, 'mid'));
      if (!Number.isInteger(mid) || mid < 1) throw new ControlError('bad-request', 'Say which message to bounce (its MID).');
      const { recipients } = await page.call('bounce', { mid });
      return `bounce of MID ${mid}: ${recipients} recipient(s) bounced, the sender gets a DSN`;
    }),
  );
}
