import type { Command } from '../../shell/command.js';

export const certconfig: Command = {
  name: 'certconfig',
  summary: 'Certificate profiles (self-signed, CA-signed, PKCS#12) and trusted CA lists',
  usage: [
    'certconfig',
    'certconfig new NAME --cn CN [--org O] [--unit OU] [--locality L] [--state ST] --country CC [--days N] [--key rsa2048|rsa1024|ecdsa-p256] [--fqdn-check] [--overwrite]',
    'certconfig csr NAME [--file FILE]',
    'certconfig upload NAME --file CERT.pem [--intermediate PEM]...',
    'certconfig paste NAME --cert CERT.pem --key KEY.pem [--intermediate PEM]... [--overwrite]',
    'certconfig import [NAME] --file FILE.p12 --passphrase-file FILE [--fqdn-check] [--overwrite]',
    'certconfig export NAME --file FILE.p12 --passphrase-file FILE',
    'certconfig print [NAME]',
    'certconfig expiry [--warn-days N]',
    'certconfig tlsa NAME [--port N]',
    'certconfig delete NAME',
    'certconfig acme account new --directory URL --email ADDR --agree-tos [--eab-kid KID --eab-hmac-key-file FILE]',
    'certconfig acme new NAME --names N1[,N2…] [--key ecdsa-p256|rsa2048] [--challenge http-01|dns-01] [--reuse-key] [--overwrite]',
    'certconfig acme renew NAME',
    'certconfig acme status',
    'certconfig acme dane NAME --port N|none [--issuer] [--ttl SECONDS]',
    'certconfig acme settings [--retry-minutes N] [--alert-after N]',
    'certconfig certauthority system enable|disable|print',
    'certconfig certauthority system|custom print N',
    'certconfig certauthority system|custom export [N] --file FILE',
    'certconfig certauthority system update --file BUNDLE.pem|/ABSOLUTE/PATH.pem',
    'certconfig certauthority custom enable|disable|print',
    'certconfig certauthority custom import --file BUNDLE.pem [--fqdn-check]',
    'certconfig certauthority custom delete N',
  ],
  details: [
    'FILE is a bare name: a file in the configuration directory (<data dir>/configuration/). Only the',
    'system CA bundle (update) may also be an absolute path, e.g. /etc/ssl/certs/ca-certificates.crt.',
    'new, paste and import take --overwrite to replace a profile of the same name; when the profile is in use',
    '(a listener, HTTPS, outbound TLS), a terminal asks first and a script is told.',
    'Private keys are kept in <data dir>/keys (mode 0600) and are never printed.',
    'acme: the engine orders from the CA (its HTTPS certificate must chain to an enabled CA list; a private',
    'CA\'s root goes into the custom list). http-01 is answered on an interface\'s --acme-http port;',
    'dns-01 records go to the zone\'s update server (dnsconfig update-server). The new or renewed',
    'profile is staged: "commit" puts it in service. The account key is kept in keys/ like the others.',
    'The engine renews ACME profiles two thirds into their lifetime (acme renew: now) and puts the',
    'result in service itself, as a new configuration version. acme dane: the engine keeps the TLSA',
    'records of the profile\'s names and, when a renewal changes the key, publishes the next key\'s',
    'record first and serves the new certificate only after a validating lookup has seen it for a TTL.',
  ],
  keywords: ['new', 'csr', 'upload', 'paste', 'import', 'export', 'print', 'tlsa', 'delete', 'expiry', 'certauthority', 'acme', 'account', 'renew', 'status', 'dane', 'settings'],
  names: (c) => c.certificates.map((p) => p.name),
  async run(session, args) {
    if (args[0]?.toLowerCase() === 'acme') {
      const { runAcme } = await import('./acme.js');
      return runAcme(session, this, args.slice(1));
    }
    const { runCertconfig } = await import('./run.js');
    await runCertconfig(session, this, args);
  },
};
