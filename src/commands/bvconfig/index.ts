import { type Command, noMoreWords, parseOptions, required } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import type { Session } from '../../shell/session.js';
import { addTaggingKey, clearTaggingKeys, purgeTaggingKeys, setInvalidBounceAction } from '../../store/bounces/taggingKeys.js';
import { INVALID_BOUNCE_HEADER, type InvalidBounceAction } from '../../store/bounces/verification.js';

const ACTION_LABELS: Record<InvalidBounceAction, string> = { reject: 'Reject', header: `Add a custom header (${INVALID_BOUNCE_HEADER}) and deliver` };

/** The keys as the appliance lists them: newest last, the one that tags marked. */
function keyLines(session: Session): string[] {
  const { keys } = session.draft.bounceVerification;
  const tagging = session.draft.delivery.destinations.filter((d) => d.bounceVerification).map((d) => d.domain);
  if (session.draft.delivery.defaults.bounceVerification) tagging.unshift('every destination without its own setting');
  return [
    ...(keys.length ? ['Bounce verification address tagging keys:', ...keys.map((k, i) => `${i + 1}. key ${k.name} (tag digit ${k.number}), created ${k.created}${i === keys.length - 1 ? '  [tags new mail]' : '  [verifies only]'}`)] : ['There are no tagging keys: nothing is tagged, and every bounce is accepted.']),
    `Tagged destinations: ${tagging.length ? tagging.join(', ') : 'none (destconfig … --bounce-verification yes)'}`,
    `Bounces that fail verification: ${ACTION_LABELS[session.draft.bounceVerification.invalidAction]}`,
  ];
}

function dialog(session: Session): Promise<void> {
  const io = session.io;
  return io.menuLoop(
    () => io.print('', ...keyLines(session)),
    [
      { keyword: 'NEW', text: 'Create a new key.', run: async () => newKey(session) },
      {
        keyword: 'SETUP',
        text: 'Choose what happens to bounces that fail verification.',
        run: async () => {
          const action = await io.choose<InvalidBounceAction>(
            'How do you want bounce messages that fail verification to be handled?',
            (['reject', 'header'] as const).map((a) => ({ label: ACTION_LABELS[a], value: a })),
            session.draft.bounceVerification.invalidAction === 'reject' ? 1 : 2,
          );
          session.draft = setInvalidBounceAction(session.draft, action);
        },
      },
      {
        keyword: 'PURGE',
        text: 'Remove all keys but the newest.',
        run: async () => {
          if (await io.confirm('Bounces to addresses tagged with an older key will be refused. Remove all keys but the newest?', false)) session.draft = purgeTaggingKeys(session.draft);
        },
      },
      {
        keyword: 'CLEAR',
        text: 'Remove all keys.',
        run: async () => {
          if (await io.confirm('Without keys nothing is tagged and no bounce is checked. Remove all keys?', false)) session.draft = clearTaggingKeys(session.draft);
        },
      },
    ],
  );
}

function newKey(session: Session): void {
  const { config, key } = addTaggingKey(session.draft);
  session.draft = config;
  session.io.print(`New tagging key ${key.name} (tag digit ${key.number}): it tags mail to destinations with bounce verification on after "commit"; older keys keep verifying.`);
}

export const bvconfig: Command = {
  name: 'bvconfig',
  summary: 'Bounce verification: keys that tag envelope senders so only real bounces come back',
  usage: ['bvconfig', 'bvconfig new', 'bvconfig setup --invalid-bounces reject|header', 'bvconfig purge', 'bvconfig clear', 'bvconfig list'],
  details: [
    'Mail to a destination with bounce verification on (destconfig … --bounce-verification yes) leaves',
    'with its envelope sender tagged (BATV: prvs=KDDDSSSSSS=user@example.com), signed with the newest key',
    'and valid for 7 days. A bounce (null sender) that comes back to a tagged address is accepted and',
    'delivered to the address without its tag; one whose tag does not verify is refused (550 5.7.1),',
    `or, with "bvconfig setup --invalid-bounces header", delivered with a ${INVALID_BOUNCE_HEADER} header saying why.`,
    'A bounce to an untagged address is refused where the mail flow policy says so',
    '(listenerconfig edit NAME hostaccess default --accept-untagged-bounces no).',
    'Keys are random (32 bytes) and never shown; at most 10 are kept, the oldest going first.',
  ],
  keywords: ['new', 'setup', 'purge', 'clear', 'list'],
  async run(session, args) {
    if (args.length === 0) return dialog(session);
    const [verb, ...rest] = args;
    if (verb!.toLowerCase() === 'setup') {
      const { values, positionals } = parseOptions(this, rest, { 'invalid-bounces': { type: 'string' } });
      noMoreWords(this, positionals);
      const action = required(this, values['invalid-bounces'], '--invalid-bounces').toLowerCase();
      if (action !== 'reject' && action !== 'header') throw new CommandError(`--invalid-bounces is reject or header, not "${values['invalid-bounces']}".`);
      session.draft = setInvalidBounceAction(session.draft, action);
      session.io.print(`Bounces that fail verification: ${ACTION_LABELS[action]}.`);
      return;
    }
    noMoreWords(this, rest);
    switch (verb!.toLowerCase()) {
      case 'new':
        return newKey(session);
      case 'purge':
        session.draft = purgeTaggingKeys(session.draft);
        session.io.print('All tagging keys but the newest removed.');
        return;
      case 'clear':
        session.draft = clearTaggingKeys(session.draft);
        session.io.print('All tagging keys removed: nothing is tagged and no bounce is checked after "commit".');
        return;
      case 'list':
        session.io.print(...keyLines(session));
        return;
      default:
        throw new CommandError(`Unknown operation "${verb}".\nUsage: ${this.usage.join('\n       ')}`);
    }
  },
};
