import { ctime } from '../../store/dates.js';
import { type Command, noMoreWords, parseOptions } from '../../shell/command.js';
import { sectionLines } from '../../store/describe/changes.js';
import { describeConfig } from '../../store/describe/settings.js';
import { maskSecrets } from '../../store/secrets.js';

export const showconfig: Command = {
  name: 'showconfig',
  summary: 'Print the committed configuration (secrets masked)',
  usage: ['showconfig [--raw]'],
  details: [
    'One line per object or setting, grouped by the command that changes it, in the order commit puts them in service.',
    '--raw: the configuration document itself (JSON, secrets masked), as saveconfig writes it.',
  ],
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, { raw: { type: 'boolean' } });
    noMoreWords(this, positionals);
    session.io.print(`Current Time: ${ctime()}`, `Configuration version: ${session.baseVersion}`);
    if (session.hasChanges()) session.io.print('(This session has uncommitted changes; "showchanges" lists them.)');
    const where = await session.origins();
    if (where) {
      session.io.print(`Settings at ${where.level}, and where each is set ("clustermode" changes the level):`);
      const width = Math.max(...where.origins.map((o) => o.setting.length));
      for (const o of where.origins) {
        const own = o.overriddenBy.length ? `; ${o.overriddenBy.join(', ')} ${o.overriddenBy.length === 1 ? 'sets its own' : 'set their own'}` : '';
        session.io.print(`  ${o.setting.padEnd(width)}  ${o.from}${own}`);
      }
    }
    const text = values.raw ? JSON.stringify(maskSecrets(session.committed), null, 2).split('\n') : sectionLines(describeConfig(session.committed));
    await session.io.page(text);
  },
};
