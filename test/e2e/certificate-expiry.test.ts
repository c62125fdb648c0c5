import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, mxgate, shellOk, until, waitForLog } from '../helpers.js';
import { opensslChain } from '../pki-fixtures.js';

/** A certificate in use that expires soon raises a System/Warning alert, once. */
let home: string;
before(async () => {
  ({ home } = await applianceWithListener());
});
after(() => cleanup(home));

test('a listener certificate that expires tomorrow raises one alert; one with 100 days left does not', async () => {
  const chain = opensslChain();
  const soon = chain.issueWithKey('soon.test.example', ['soon.test.example'], 1);
  const later = chain.issueWithKey('later.test.example', ['later.test.example'], 100);
  const conf = (f: string) => path.join(home, 'configuration', f);
  await writeFile(conf('soon.pem'), soon.cert);
  await writeFile(conf('soon.key'), soon.key);
  await writeFile(conf('later.pem'), later.cert);
  await writeFile(conf('later.key'), later.key);
  await shellOk(
    home,
    'certconfig paste later --cert later.pem --key later.key',
    'certconfig paste soon --cert soon.pem --key soon.key',
    'listenerconfig edit InboundMail certificate later',
    'commit "a certificate with 100 days left"',
  );
  assert.match(await shellOk(home, 'certconfig print'), /^later +later\.test\.example .* 100 /m, 'Remaining counts whole days');
  assert.match(await shellOk(home, 'certconfig expiry'), /alert 30 day\(s\) before a certificate in use expires/);

  await shellOk(home, 'listenerconfig edit InboundMail certificate soon', 'commit "one that expires tomorrow"');
  const alerts = await until(home, 'the expiry alert', async () => {
    const out = await shellOk(home, 'displayalerts');
    return /WARNING +\(System\) The certificate of profile soon expires in 1 day\(s\)/.test(out) && out;
  });
  assert.doesNotMatch(alerts, /profile later/, 'a certificate no longer in use, 100 days left: no alert');
  await waitForLog(home, /Warning: The certificate of profile soon expires in 1 day\(s\)/);
  // Another commit does not repeat it.
  await shellOk(home, 'sethostname again.example', 'commit "again"');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await shellOk(home, 'displayalerts')).match(/profile soon expires/g)?.length, 1);

  const bad = await mxgate(home, ['-c', 'certconfig expiry --warn-days 0']);
  assert.match(bad.stderr, /--warn-days must be a whole number from 1 to 365, not "0"/);
});
