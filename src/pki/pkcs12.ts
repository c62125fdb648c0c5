import { createPrivateKey, webcrypto as nodeWebcrypto } from 'node:crypto';
import type forge from 'node-forge';
import * as asn1js from 'asn1js';
import { parseCertificate } from './certificate.js';
import { toPem } from './pem.js';
import { pkijs } from './provider.js';
import { UserError } from '../userError.js';

export class Pkcs12Error extends UserError {
  override name = 'Pkcs12Error';
}

export interface Pkcs12Contents {
  certificatePem: string;
  privateKeyPem: string;
  /** Other certificates in the file (intermediates), leaf excluded. */
  chainPems: string[];
}

const OID = {
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  encryptedData: '1.2.840.113549.1.7.6',
};

/**
 * Read a PKCS#12 file: pkijs for PBES2 files (OpenSSL 3's default, AES-256), node-forge for the
 * legacy RC2/3DES ones pkijs cannot decrypt (WebCrypto has no such ciphers). Keys and certificates
 * are handed to node:crypto as DER, so RSA and EC both work.
 */
export async function importPkcs12(data: Buffer, passphrase: string): Promise<Pkcs12Contents> {
  let found: { keys: Buffer[]; certs: Buffer[] };
  try {
    found = await readWithPkijs(data, passphrase);
  } catch (err) {
    if (err instanceof Pkcs12Error) throw err;
    // Loaded only for such a file: node-forge is ~2 MB of heap the engine otherwise never uses.
    found = readWithForge((await import('node-forge')).default, data, passphrase);
  }
  if (found.keys.length === 0) throw new Pkcs12Error('The PKCS#12 file holds no private key.');
  if (found.certs.length === 0) throw new Pkcs12Error('The PKCS#12 file holds no certificate.');
  let key;
  try {
    key = createPrivateKey({ key: found.keys[0]!, format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new Pkcs12Error(`The private key in the PKCS#12 file cannot be read: ${(err as Error).message}`);
  }
  const certs = found.certs.map((der) => toPem('CERTIFICATE', der));
  const leafIndex = certs.findIndex((c) => parseCertificate(c, 'A certificate in the PKCS#12 file').checkPrivateKey(key));
  if (leafIndex < 0) throw new Pkcs12Error('No certificate in the PKCS#12 file matches its private key.');
  return {
    certificatePem: certs[leafIndex]!,
    privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    chainPems: certs.filter((_, i) => i !== leafIndex),
  };
}

const WRONG = 'Invalid pass phrase or corrupt PKCS#12 file';

async function readWithPkijs(data: Buffer, passphrase: string): Promise<{ keys: Buffer[]; certs: Buffer[] }> {
  const password = new TextEncoder().encode(passphrase).buffer as ArrayBuffer;
  let pfx: pkijs.PFX;
  try {
    pfx = pkijs.PFX.fromBER(new Uint8Array(data));
  } catch (err) {
    throw new Pkcs12Error(`${WRONG}: not a PKCS#12 structure (${(err as Error).message}).`);
  }
  try {
    await pfx.parseInternalValues({ password, checkIntegrity: true });
  } catch (err) {
    const msg = (err as Error).message ?? String(err);
    if (/integrity/i.test(msg)) throw new Pkcs12Error(`${WRONG} (the integrity check failed).`);
    throw err;
  }
  const safe = pfx.parsedValue!.authenticatedSafe!;
  const params = safe.safeContents.map((ci) => (ci.contentType === OID.encryptedData ? { password } : {}));
  await safe.parseInternalValues({ safeContents: params });
  const keys: Buffer[] = [];
  const certs: Buffer[] = [];
  for (const content of safe.parsedValue.safeContents) {
    for (const bag of (content.value as pkijs.SafeContents).safeBags) {
      if (bag.bagId === OID.shroudedKeyBag) {
        const shrouded = bag.bagValue as pkijs.PKCS8ShroudedKeyBag;
        await (shrouded as unknown as { parseInternalValues(p: { password: ArrayBuffer }): Promise<void> }).parseInternalValues({ password });
        keys.push(Buffer.from(shrouded.parsedValue!.toSchema().toBER(false)));
      } else if (bag.bagId === OID.keyBag) {
        keys.push(Buffer.from((bag.bagValue as pkijs.PrivateKeyInfo).toSchema().toBER(false)));
      } else if (bag.bagId === OID.certBag) {
        certs.push(Buffer.from((bag.bagValue as pkijs.CertBag).parsedValue.toSchema().toBER(false)));
      }
    }
  }
  return { keys, certs };
}

function readWithForge(lib: typeof forge, data: Buffer, passphrase: string): { keys: Buffer[]; certs: Buffer[] } {
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = lib.asn1.fromDer(lib.util.createBuffer(data.toString('binary')));
    p12 = lib.pkcs12.pkcs12FromAsn1(asn1, true, passphrase);
  } catch (err) {
    const msg = (err as Error).message ?? String(err);
    throw new Pkcs12Error(/mac|password/i.test(msg) ? `${WRONG} (the integrity check failed).` : `${WRONG} (${msg}).`);
  }
  // forge models RSA only; for other keys and certificates it keeps the ASN.1, which is all we need.
  const der = (bag: forge.pkcs12.Bag): Buffer => {
    const asn1 = bag.cert
      ? lib.pki.certificateToAsn1(bag.cert)
      : bag.key
        ? lib.pki.wrapRsaPrivateKey(lib.pki.privateKeyToAsn1(bag.key))
        : bag.asn1;
    return Buffer.from(lib.asn1.toDer(asn1).getBytes(), 'binary');
  };
  const bags = (type: string) => p12.getBags({ bagType: type })[type] ?? [];
  return {
    keys: [...bags(OID.shroudedKeyBag), ...bags(OID.keyBag)].map(der),
    certs: bags(OID.certBag).map(der),
  };
}

const ITERATIONS = 2048;

/**
 * Write a PKCS#12 file the way OpenSSL 3 does by default: key and certificates encrypted with
 * PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), SHA-256 MAC. The key is never written unencrypted.
 */
export async function exportPkcs12(privateKeyPem: string, certificatePems: string[], passphrase: string): Promise<Buffer> {
  const password = new TextEncoder().encode(passphrase).buffer as ArrayBuffer;
  const keyDer = createPrivateKey(privateKeyPem).export({ type: 'pkcs8', format: 'der' });
  const localKeyId = new Uint8Array(nodeWebcrypto.getRandomValues(new Uint8Array(20)));
  const keyIdAttr = () => new pkijs.Attribute({ type: '1.2.840.113549.1.9.21', values: [new asn1js.OctetString({ valueHex: localKeyId })] });
  const certificates = certificatePems.map((pem) => {
    const der = parseCertificate(pem).raw;
    return pkijs.Certificate.fromBER(der);
  });
  const pfx = new pkijs.PFX({
    parsedValue: {
      integrityMode: 0,
      authenticatedSafe: new pkijs.AuthenticatedSafe({
        parsedValue: {
          safeContents: [
            {
              privacyMode: 0,
              value: new pkijs.SafeContents({
                safeBags: [
                  new pkijs.SafeBag({
                    bagId: '1.2.840.113549.1.12.10.1.2',
                    bagValue: new pkijs.PKCS8ShroudedKeyBag({ parsedValue: pkijs.PrivateKeyInfo.fromBER(keyDer) }),
                    bagAttributes: [keyIdAttr()],
                  }),
                ],
              }),
            },
            {
              privacyMode: 1,
              value: new pkijs.SafeContents({
                safeBags: certificates.map(
                  (cert, i) =>
                    new pkijs.SafeBag({
                      bagId: '1.2.840.113549.1.12.10.1.3',
                      bagValue: new pkijs.CertBag({ parsedValue: cert }),
                      ...(i === 0 ? { bagAttributes: [keyIdAttr()] } : {}),
                    }),
                ),
              }),
            },
          ],
        },
      }),
    },
  });
  const encryption = { password, contentEncryptionAlgorithm: { name: 'AES-CBC', length: 256 } as AesCbcParams & AesDerivedKeyParams, hmacHashAlgorithm: 'SHA-256', iterationCount: ITERATIONS };
  const safe = pfx.parsedValue!.authenticatedSafe!;
  await (safe.parsedValue.safeContents[0].value.safeBags[0].bagValue as pkijs.PKCS8ShroudedKeyBag).makeInternalValues(encryption);
  await safe.makeInternalValues({ safeContents: [{}, encryption] });
  await pfx.makeInternalValues({ password, iterations: ITERATIONS, pbkdf2HashAlgorithm: { name: 'SHA-256' }, hmacHashAlgorithm: 'SHA-256' });
  return Buffer.from(pfx.toSchema().toBER(false));
}
