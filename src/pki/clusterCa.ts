import { createPrivateKey, randomBytes } from 'node:crypto';
import net from 'node:net';
import { toPem } from './pem.js';
import { webcrypto, x509 } from './provider.js';

/**
 * The cluster's own certificate authority: it signs each member's certificate, which the member's
 * etcd presents to its peers and its clients (the member's engine), and with which they prove who
 * they are to it. ECDSA P-256; nothing here is ever used for mail.
 */
export interface Issued {
  certificatePem: string;
  privateKeyPem: string;
}

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function pkcs8(key: CryptoKey): Promise<string> {
  return toPem('PRIVATE KEY', new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', key)));
}

const serial = () => '01' + randomBytes(15).toString('hex');
const validity = (days: number) => {
  const notBefore = new Date(Date.now() - 60_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * 86_400_000) };
};

/** A new cluster CA, valid ten years. */
export async function createClusterCa(clusterName: string): Promise<Issued> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ O: ['mxgate cluster'] }, { CN: [`${clusterName} cluster CA`] }],
    ...validity(3650),
    signingAlgorithm: SIGN,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: cert.toString('pem') + '\n', privateKeyPem: await pkcs8(keys.privateKey) };
}

/** A member's certificate for its address (IP or host name), for both ends of TLS, signed by the cluster CA. */
export async function issueMemberCertificate(ca: Issued, machine: string, addresses: string[]): Promise<Issued> {
  const caCert = new x509.X509Certificate(ca.certificatePem);
  const caDer = createPrivateKey(ca.privateKeyPem).export({ type: 'pkcs8', format: 'der' });
  const caKey = await webcrypto.subtle.importKey('pkcs8', caDer, EC, false, ['sign']);
  const keys = await newKeys();
  const names = addresses.map((a) => (net.isIP(a) ? { type: 'ip' as const, value: a } : { type: 'dns' as const, value: a }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: [{ O: ['mxgate cluster'] }, { CN: [machine] }],
    issuer: caCert.subject,
    ...validity(3650),
    signingAlgorithm: SIGN,
    signingKey: caKey,
    publicKey: keys.publicKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certificatePem: cert.toString('pem') + '\n', privateKeyPem: await pkcs8(keys.privateKey) };
}
