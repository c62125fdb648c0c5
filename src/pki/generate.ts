import { createPrivateKey, createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { toPem } from './pem.js';
import { webcrypto, x509 } from './provider.js';
import { isFqdn } from './names.js';

export const KEY_TYPES = ['rsa2048', 'rsa1024', 'ecdsa-p256'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export interface SubjectFields {
  commonName: string;
  organization?: string;
  organizationalUnit?: string;
  locality?: string;
  state?: string;
  country: string;
}

export interface Generated {
  certificatePem: string;
  csrPem: string;
  privateKeyPem: string;
}

function algorithms(key: KeyType) {
  if (key === 'ecdsa-p256') {
    return {
      keyGen: { name: 'ECDSA', namedCurve: 'P-256' } as EcKeyGenParams,
      signing: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    };
  }
  return {
    keyGen: {
      name: 'RSASSA-PKCS1-v1_5',
      hash: 'SHA-256',
      publicExponent: new Uint8Array([1, 0, 1]),
      modulusLength: key === 'rsa1024' ? 1024 : 2048,
    } as RsaHashedKeyGenParams,
    signing: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm,
  };
}

function subjectName(s: SubjectFields): x509.JsonName {
  const parts: [string, string | undefined][] = [
    ['C', s.country],
    ['ST', s.state],
    ['L', s.locality],
    ['O', s.organization],
    ['OU', s.organizationalUnit],
    ['CN', s.commonName],
  ];
  return parts.filter(([, v]) => v).map(([k, v]) => ({ [k]: [v!] }));
}

/**
 * A new key, a self-signed certificate (serverAuth and clientAuth, SAN = CN when it is a host
 * name) and a CSR for the same subject, as certconfig NEW makes them.
 */
export async function createSelfSigned(subject: SubjectFields, days: number, key: KeyType): Promise<Generated> {
  const alg = algorithms(key);
  const keys = (await webcrypto.subtle.generateKey(alg.keyGen, true, ['sign', 'verify'])) as CryptoKeyPair;
  const name = subjectName(subject);
  const san = isFqdn(subject.commonName) ? [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: subject.commonName }])] : [];
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01' + randomBytes(15).toString('hex'),
    name,
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * 86_400_000),
    signingAlgorithm: alg.signing,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        key === 'ecdsa-p256' ? x509.KeyUsageFlags.digitalSignature : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ...san,
    ],
  });
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys,
    signingAlgorithm: alg.signing,
    extensions: san,
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    certificatePem: cert.toString('pem') + '\n',
    csrPem: csr.toString('pem') + '\n',
    privateKeyPem: toPem('PRIVATE KEY', new Uint8Array(pkcs8)),
  };
}

/** A new private key of a type (PKCS#8 PEM): what an ACME order signs its CSR with. */
export async function createKey(key: KeyType): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(algorithms(key).keyGen, true, ['sign', 'verify'])) as CryptoKeyPair;
  return toPem('PRIVATE KEY', new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)));
}

/**
 * A CSR for host names (CN the first, SAN all of them) signed with an existing key: ACME orders,
 * new keys and renewals that keep theirs (--reuse-key) alike. Only the key types KEY_TYPES make.
 */
export async function createCsr(privateKeyPem: string, names: string[]): Promise<string> {
  const priv = createPrivateKey(privateKeyPem);
  const ec = priv.asymmetricKeyType === 'ec';
  if (!ec && priv.asymmetricKeyType !== 'rsa') throw new Error(`a ${priv.asymmetricKeyType} key cannot sign this request`);
  const alg = algorithms(ec ? 'ecdsa-p256' : 'rsa2048');
  const der = (k: KeyObject, type: 'pkcs8' | 'spki') => new Uint8Array(k.export({ type, format: 'der' }));
  const keys = {
    privateKey: await webcrypto.subtle.importKey('pkcs8', der(priv, 'pkcs8'), alg.keyGen, false, ['sign']),
    publicKey: await webcrypto.subtle.importKey('spki', der(createPublicKey(priv), 'spki'), alg.keyGen, true, ['verify']),
  };
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [names[0]!] }],
    keys,
    signingAlgorithm: alg.signing,
    extensions: [new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value })))],
  });
  return csr.toString('pem') + '\n';
}
