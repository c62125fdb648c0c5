import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { parseAuthorizedKey, SshKeyError } from '../../src/pki/sshKeys.js';
import { addSshKey, deleteSshKey, sshKeysOf } from '../../src/store/accounts/users.js';
import { defaultConfig, validateConfig } from '../../src/store/schema.js';

/** Public keys made by ssh-keygen, the way administrators make them. */
function sshKeygen(type: string, bits?: number): { line: string; fingerprint: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mxg-key-'));
  try {
    const file = path.join(dir, 'k');
    execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', 'me@example', '-f', file]);
    const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${file}.pub`]).toString().split(' ')[1]!;
    return { line: readFileSync(`${file}.pub`, 'utf8').trim(), fingerprint };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('authorized_keys lines: types, bits and fingerprints agree with ssh-keygen', () => {
  for (const [type, bits, expected] of [['ed25519', undefined, 'ssh-ed25519'], ['ecdsa', 384, 'ecdsa-sha2-nistp384'], ['rsa', 3072, 'ssh-rsa']] as const) {
    const made = sshKeygen(type, bits);
    const key = parseAuthorizedKey(`  ${made.line}  `);
    assert.equal(key.type, expected);
    assert.equal(key.fingerprint, made.fingerprint, type);
    assert.equal(key.comment, 'me@example');
    assert.equal(key.bits, bits ?? 256);
  }
});

test('unusable keys are refused with one line that says why', () => {
  const ed = sshKeygen('ed25519').line;
  const [, blob] = ed.split(' ');
  const cases: [string, RegExp][] = [
    ['', /one public key on one line/],
    [`${ed}\n${ed}`, /one public key on one line/],
    ['-----BEGIN OPENSSH PRIVATE KEY----- abc', /That is a private key/],
    [`from="10.0.0.1" ${ed}`, /options such as from= or command= are not supported/],
    [`ssh-dss ${blob}`, /Key type ssh-dss is not accepted/],
    ['ssh-ed25519', /no base64 part/],
    ['ssh-ed25519 !!!!', /no base64 part/],
    ['ssh-ed25519 AAAAB3NzaC1yc2E=', /cannot be read|holds a/],
    [`ssh-rsa ${blob}`, /ssh-rsa key cannot be read|holds a ssh-ed25519 key/],
    [sshKeygen('rsa', 1024).line, /has 1024 bits; at least 2048 are needed/],
  ];
  for (const [line, why] of cases) {
    assert.throws(() => parseAuthorizedKey(line), (err: Error) => err instanceof SshKeyError && why.test(err.message) && !err.message.includes('\n'), line.slice(0, 40));
  }
});

test("an account's keys: added once, numbered, deleted by number; the configuration stays valid", () => {
  const base = validateConfig({ ...defaultConfig(), users: [{ name: 'alice', role: 'operator', passwordHash: `scrypt$15$8$1$${'A'.repeat(24)}$${'B'.repeat(44)}` }] });
  const one = sshKeygen('ed25519');
  const two = sshKeygen('ecdsa', 256);
  let config = addSshKey(base, 'ALICE', one.line).config;
  config = addSshKey(config, 'alice', two.line).config;
  assert.throws(() => addSshKey(config, 'alice', one.line), /has this key already \(key 1, SHA256:/);
  assert.throws(() => addSshKey(config, 'bob', one.line), /bob/);
  assert.deepEqual(sshKeysOf(validateConfig(config), 'alice').map((k) => k.fingerprint), [one.fingerprint, two.fingerprint]);
  assert.throws(() => deleteSshKey(config, 'alice', 3), /keys 1 to 2; there is no key 3/);
  const tampered = structuredClone(config);
  tampered.users[0]!.sshKeys = ['ssh-ed25519 AAAAnotakey'];
  assert.throws(() => validateConfig(tampered), /users alice, ssh keys #1: is not a usable SSH public key/, 'a loaded configuration is checked too');
  const removed = deleteSshKey(config, 'alice', 1);
  assert.equal(removed.key.fingerprint, one.fingerprint);
  assert.deepEqual(sshKeysOf(removed.config, 'alice').map((k) => k.fingerprint), [two.fingerprint]);
});

test('host keys: a pair ssh2 writes in a form its own parser refuses (its Ed25519 bug, one key in 256) is made again, never kept', async () => {
  // Made by ssh2 1.17's generateKeyPair: the public key lost its leading zero byte (31 bytes).
  const malformed = [
    '-----BEGIN OPENSSH PRIVATE KEY-----',
    'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMgAAAAtz',
    'c2gtZWQyNTUxOQAAAB+BTCtUoQHwyXRJrDQHne9xY6jKg+y1MhG+yIg6FxdqAAAA',
    'kMnESLLJxEiyAAAAC3NzaC1lZDI1NTE5AAAAH4FMK1ShAfDJdEmsNAed73FjqMqD',
    '7LUyEb7IiDoXF2oAAAA/4i1Jx1RIByPV/c0qPIzsl6zhLzbFeEUpCCckKGfp0piB',
    'TCtUoQHwyXRJrDQHne9xY6jKg+y1MhG+yIg6FxdqAAAAD214Z2F0ZSBob3N0IGtl',
    'eQ==',
    '-----END OPENSSH PRIVATE KEY-----',
    '',
  ].join('\n');
  const { KINDS, newHostKey } = await import('../../src/ssh/hostKeys.js');
  const ed25519 = KINDS.find((k) => k.type === 'ssh-ed25519')!;
  const made: string[] = [];
  const real = promisify(ssh2.utils.generateKeyPair) as (type: string, options: object) => Promise<{ private: string; public: string }>;
  const pair = await newHostKey(ed25519, async (type, options) => {
    made.push(type);
    return made.length === 1 ? { private: malformed, public: 'ssh-ed25519 AAAA' } : real(type, options);
  });
  assert.equal(made.length, 2, 'the malformed pair was refused and another made');
  assert.notEqual(pair.private, malformed);
  const parsed = ssh2.utils.parseKey(pair.private);
  assert.ok(!(parsed instanceof Error) && !Array.isArray(parsed) && parsed.type === 'ssh-ed25519');
  await assert.rejects(newHostKey(ed25519, async () => ({ private: malformed, public: '' })), /no usable ssh-ed25519 host key could be made/);
});
