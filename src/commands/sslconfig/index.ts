import type { Command } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { editConfig } from '../../store/edit.js';

export const sslconfig: Command = {
  name: 'sslconfig',
  summary: 'Outbound TLS version floor and optional peer certificate checks',
  usage: ['sslconfig', 'sslconfig outbound --min-version TLSv1.2|TLSv1.3', 'sslconfig peer-cert-fqdn enable|disable', 'sslconfig peer-cert-x509 enable|disable'],
  details: [
    'peer-cert-fqdn: verified delivery also requires CN and SAN names in FQDN format.',
    'peer-cert-x509: verified delivery also requires an X.509 v3 certificate, no MD5/SHA-1 signature, and a server name.',
  ],
  keywords: ['outbound', 'peer-cert-fqdn', 'peer-cert-x509'],
  async run(session, args) {
    const [verb, a, b] = args.map((x) => x.toLowerCase());
    const io = session.io;
    const show = () => {
      const t = session.draft.tls;
      io.print(`Outbound minimum TLS version: ${t.outboundMinVersion}`, `PEER_CERT_FQDN: ${t.peerCertFqdn ? 'Enabled' : 'Disabled'}`, `PEER_CERT_X509: ${t.peerCertX509 ? 'Enabled' : 'Disabled'}`);
    };
    if (verb === undefined) return show();
    if (verb === 'outbound' && a === '--min-version' && (b === 'tlsv1.2' || b === 'tlsv1.3')) {
      const v = b === 'tlsv1.2' ? 'TLSv1.2' : 'TLSv1.3';
      session.draft = editConfig(session.draft, (d) => void (d.tls.outboundMinVersion = v));
    } else if ((verb === 'peer-cert-fqdn' || verb === 'peer-cert-x509') && (a === 'enable' || a === 'disable')) {
      const key = verb === 'peer-cert-fqdn' ? 'peerCertFqdn' : 'peerCertX509';
      session.draft = editConfig(session.draft, (d) => void (d.tls[key] = a === 'enable'));
    } else {
      throw new CommandError(`Usage: ${this.usage.join('\n       ')}`);
    }
    show();
  },
};
