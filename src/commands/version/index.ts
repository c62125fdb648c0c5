import type { Command } from '../../shell/command.js';
import { VERSION } from '../../version.js';

export const version: Command = {
  name: 'version',
  summary: 'Show the mxgate version',
  usage: ['version'],
  maxWords: 0,
  needsConfig: false,
  async run(session) {
    session.io.print(`mxgate version ${VERSION} (Node.js ${process.version}, OpenSSL ${process.versions.openssl})`);
    const engine = await session.engineStatus(5_000).catch(() => undefined);
    session.io.print(engine ? `Engine: mxgate ${engine.version}, pid ${engine.pid}` : 'Engine: not running');
  },
};
