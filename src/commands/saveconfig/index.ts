import { type ConfigFiles, saveConfig } from '../../store/savedConfig.js';
import { credentialRefs, readKey } from '../../store/certificates/keys.js';
import { readBundle } from '../../store/certificates/caBundles.js';
import type { Session } from '../../shell/session.js';
import { type Command, parseOptions } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { writeConfigFile } from '../files.js';
import { readPassphraseFile } from '../passphrase.js';
import path from 'node:path';

/** The credentials (private keys, TSIG keys) and CA bundles the committed configuration refers to. */
async function configFiles(session: Session): Promise<ConfigFiles> {
  const config = session.committed;
  const keys = await Promise.all(credentialRefs(config).map(async ({ ref }) => ({ ref, privateKey: await readKey(session.paths, ref) })));
  const bundle = config.certificateAuthorities.system.bundle;
  const caBundles = bundle ? [{ sha256: bundle.sha256, certificates: await readBundle(session.paths, bundle.sha256) }] : [];
  return { keys, caBundles };
}

export const saveconfig: Command = {
  name: 'saveconfig',
  summary: 'Save the committed configuration to a file in the configuration directory',
  usage: ['saveconfig [FILE] [--mask | --encrypt --passphrase-file FILE]'],
  details: [
    'The file holds the private keys of the certificate profiles as secrets: masked, or encrypted.',
    'Masked passphrases cannot be loaded back with loadconfig; encrypted ones can, with the passphrase.',
    'The file is written with mode 0600. Without FILE a name with the host name and time is chosen.',
  ],
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, {
      mask: { type: 'boolean' },
      encrypt: { type: 'boolean' },
      'passphrase-file': { type: 'string' },
    });
    if (positionals.length > 1) throw new CommandError(`Usage: ${this.usage[0]}`);
    if (values.mask && values.encrypt) throw new CommandError('Choose either --mask or --encrypt.');
    let encrypt = Boolean(values.encrypt || values['passphrase-file']);
    if (!values.mask && !encrypt && args.length === 0 && session.io.interactive) {
      encrypt = await session.io.choose(
        'Choose the passphrase option:',
        [
          { label: 'Mask passphrases (Files with masked passphrases cannot be loaded using loadconfig command)', value: false },
          { label: 'Encrypt passphrases', value: true },
        ],
        1,
      );
    }
    let passphrase: string | undefined;
    if (encrypt) {
      passphrase = values['passphrase-file']
        ? await readPassphraseFile(session, values['passphrase-file'])
        : await session.io.newSecret('Enter a passphrase to encrypt the secrets:', 'Enter the passphrase again:');
    }
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
    const name = positionals[0] ?? `${session.committed.hostname}-config-${stamp}.json`;
    const file = await writeConfigFile(session, name, saveConfig(session.committed, session.baseVersion, passphrase, await configFiles(session)));
    const where = path.dirname(file) === session.paths.configuration ? 'the configuration directory' : path.dirname(file);
    session.io.print(`The file ${path.basename(file)} has been saved in ${where}.`);
    if (session.hasChanges()) session.io.print('Note: uncommitted changes of this session are not in the file.');
  },
};
