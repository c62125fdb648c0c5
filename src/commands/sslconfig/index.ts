import { type Command, noMoreWords } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { editConfig } from '../../store/edit.js';
import { FORWARD_SECRET_CIPHERS } from '../../store/schema.js';

export const sslconfig: Command = {
  name: 'sslconfig',
  summary: 'TLS cipher lists, outbound TLS version floor and optional peer certificate checks',
  usage: [
    'sslconfig',
    'sslconfig inbound --ciphers LIST|default',
    'sslconfig outbound --ciphers LIST|default',
    'sslconfig outbound --min-version TLSv1.2|TLSv1.3',
    'sslconfig peer-cert-fqdn enable|disable',
    'sslconfig peer-cert-x509 enable|disable',
  ],
  details: [
    'Cipher lists are OpenSSL lists (TLS 1.3 suite names included). The default offers only forward-secret',
    'AEAD suites: TLS 1.3 and ECDHE with AES-GCM or ChaCha20-Poly1305 (the Mozilla "intermediate" profile),',
    'TLS 1.2 and 1.3 only. Widen it only for peers that need it: between MTAs TLS is usually opportunistic,',
    'and a peer that can only do an older suite (a CBC one, say) would otherwise send or receive in clear',
    'text, which is worse than the weaker suite. Applied on commit; running sessions keep theirs.',
    'peer-cert-fqdn: verified delivery also requires CN and SAN names in FQDN format.',
    'peer-cert-x509: verified delivery also requires an X.509 v3 certificate, no MD5/SHA-1 signature, and a server name.',
  ],
  keywords: ['outbound', 'peer-cert-fqdn', 'peer-cert-x509'],
  async run(session, args) {
    const [verb, a, b] = args.map((x) => x.toLowerCase());
    const io = session.io;
    const show = () => {
      const t = session.draft.tls;
      const list = (c: string) => (c === FORWARD_SECRET_CIPHERS ? `${c} (default: forward secrecy only)` : c);
      io.print(
        `Inbound ciphers: ${list(t.inboundCiphers)}`,
        `Outbound ciphers: ${list(t.outboundCiphers)}`,
        `Outbound minimum TLS version: ${t.outboundMinVersion}`,
        `PEER_CERT_FQDN: ${t.peerCertFqdn ? 'Enabled' : 'Disabled'}`,
        `PEER_CERT_X509: ${t.peerCertX509 ? 'Enabled' : 'Disabled'}`,
      );
    };
    if (verb === undefined) return show();
    noMoreWords(this, args.slice(3));
    if ((verb === 'inbound' || verb === 'outbound') && a === '--ciphers' && args[2] !== undefined && args.length === 3) {
      const value = b === 'default' ? FORWARD_SECRET_CIPHERS : args[2]!;
      const key = verb === 'inbound' ? 'inboundCiphers' : 'outboundCiphers';
      session.draft = editConfig(session.draft, (d) => void (d.tls[key] = value));
    } else if (verb === 'outbound' && a === '--min-version' && (b === 'tlsv1.2' || b === 'tlsv1.3')) {
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
