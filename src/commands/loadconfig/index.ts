import { diffConfig } from '../../store/diff.js';
import { loadSavedConfig } from '../../store/savedConfig.js';
import { storeCredential } from '../../store/certificates/keys.js';
import { storeBundle } from '../../store/certificates/caBundles.js';
import { type Command, parseOptions, required, takeWords } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { readConfigFile } from '../files.js';
import { readPassphraseFile } from '../passphrase.js';

export const loadconfig: Command = {
  name: 'loadconfig',
  summary: 'Load a saved configuration file as pending changes',
  usage: ['loadconfig FILE [--passphrase-file FILE]'],
  details: ['The loaded configuration replaces the draft; review it with showchanges and apply it with commit.'],
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, { 'passphrase-file': { type: 'string' } });
    let name = takeWords(this, positionals, 1)[0];
    if (name === undefined && args.length === 0) {
      name = await session.io.ask('Enter the name of the file to import:');
    }
    const file = required(this, name, 'FILE');
    if (session.hasChanges()) {
      const discard = session.io.interactive && (await session.io.confirm('Do you want to discard your uncommitted changes?', false));
      if (!discard) throw new CommandError('There are uncommitted changes. Commit them or run "clearchanges" first.');
    }
    const text = (await readConfigFile(session, file)).toString('utf8');
    const { config, keys, caBundles } = await loadSavedConfig(text, () =>
      values['passphrase-file'] ? readPassphraseFile(session, values['passphrase-file']) : session.io.secret('Enter your Passphrase to make changes:'),
    );
    // Keys and bundles are stored by content, so writing them changes nothing already in use.
    for (const k of keys) {
      if (!(await storeCredential(session.paths, k.ref, k.privateKey))) throw new CommandError(`The key stored as ${k.ref.slice(0, 16)}… in the file does not match its reference; nothing was loaded.`);
    }
    for (const b of caBundles) await storeBundle(session.paths, b.certificates);
    if (diffConfig(session.draft, config).length === 0) {
      session.io.print('No changes detected.');
      return;
    }
    session.draft = config;
    session.io.print('Values have been loaded. "showchanges" lists them; "commit" applies them.');
  },
};
