import 'reflect-metadata'; // @peculiar/x509 2.x needs the Reflect polyfill before it loads
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import * as pkijs from 'pkijs';

/** Both libraries run on Node's own WebCrypto. */
x509.cryptoProvider.set(webcrypto as unknown as Crypto);
pkijs.setEngine('node', new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto }));

export { pkijs, webcrypto, x509 };
