import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffSeconds, nextState, type NextState } from '../../src/engine/delivery/nextState.js';
import { fromReply, local, localReply, type Outcome, STATUS } from '../../src/engine/delivery/outcome.js';

const bounce = { maxRetries: 100, retryInitialSeconds: 60, retryMaxSeconds: 3600, maxQueueSeconds: 3600 };
const young = 10_000;
const old = 3_600_001;

const delivered = fromReply(250, '250 2.0.0 Ok: queued as 1234');
const rejected = fromReply(550, '550 5.1.1 <nobody@example.com>: Recipient address rejected');
const greylisted = fromReply(451, '451 4.7.1 Greylisted, try again');
const bareTemporary = fromReply(421, '421 Service not available');
const noAnswer = local('temporary', STATUS.noAnswer, '127.0.0.1:25: connect ECONNREFUSED 127.0.0.1:25');
const tlsFailed = local('temporary', STATUS.tlsFailed, 'TLS failed: the server certificate is not trusted');
const badDomain = local('permanent', STATUS.badDestination, 'no.example: the domain does not exist');
const limited = localReply('temporary', STATUS.congested, 'recipient limit for example.com reached (10 per 60 min)');

const expiredOutcome = (last: Outcome): NextState => ({
  state: 'expire',
  outcome: { kind: 'permanent', status: last.status, text: `message expired after 3600 s in the queue; last error: ${last.text}` },
});

test('next state of a recipient, for every outcome kind, young and expired', () => {
  const rows: [string, Outcome, { attempts: number; ageMs: number; waitSeconds?: number }, NextState][] = [
    ['delivered', delivered, { attempts: 1, ageMs: young }, { state: 'delivered' }],
    ['delivered after expiry still counts', delivered, { attempts: 9, ageMs: old }, { state: 'delivered' }],
    ['5xx reply bounces at once', rejected, { attempts: 1, ageMs: young }, { state: 'bounce', outcome: rejected }],
    ['5xx reply of an old message is a bounce, not an expiry', rejected, { attempts: 4, ageMs: old }, { state: 'bounce', outcome: rejected }],
    ['permanent local failure bounces', badDomain, { attempts: 1, ageMs: young }, { state: 'bounce', outcome: badDomain }],
    ['4xx reply: first retry after the initial interval', greylisted, { attempts: 1, ageMs: young }, { state: 'retry', waitSeconds: 60 }],
    ['4xx reply: the interval doubles', greylisted, { attempts: 3, ageMs: young }, { state: 'retry', waitSeconds: 240 }],
    ['4xx reply: capped at the maximum interval', bareTemporary, { attempts: 12, ageMs: young }, { state: 'retry', waitSeconds: 3600 }],
    ['no answer is retried', noAnswer, { attempts: 2, ageMs: young }, { state: 'retry', waitSeconds: 120 }],
    ['TLS failure is retried', tlsFailed, { attempts: 1, ageMs: young }, { state: 'retry', waitSeconds: 60 }],
    ['held back: the limit decides the wait', limited, { attempts: 0, ageMs: young, waitSeconds: 17 }, { state: 'retry', waitSeconds: 17 }],
    ['4xx reply past the maximum time in queue expires', greylisted, { attempts: 5, ageMs: old }, expiredOutcome(greylisted)],
    ['no answer past the maximum time expires with 4.4.1', noAnswer, { attempts: 5, ageMs: old }, expiredOutcome(noAnswer)],
    ['held back past the maximum time expires too', limited, { attempts: 0, ageMs: old, waitSeconds: 17 }, expiredOutcome(limited)],
  ];
  for (const [name, outcome, progress, expected] of rows) {
    assert.deepEqual(nextState(outcome, { ...progress, bounce }), expected, name);
  }
});

test('the bounce profile\'s maximum number of retries: the attempt after the last retry bounces, a hold never counts', () => {
  const few = { ...bounce, maxRetries: 2 };
  assert.deepEqual(nextState(greylisted, { attempts: 2, ageMs: young, bounce: few }), { state: 'retry', waitSeconds: 120 }, 'second attempt = first retry: one retry left');
  assert.deepEqual(
    nextState(greylisted, { attempts: 3, ageMs: young, bounce: few }),
    { state: 'expire', outcome: { kind: 'permanent', status: greylisted.status, text: `maximum number of retries (2) reached; last error: ${greylisted.text}` } },
    'third attempt = second retry: none left',
  );
  assert.equal(nextState(greylisted, { attempts: 1, ageMs: young, bounce: { ...bounce, maxRetries: 0 } }).state, 'expire', 'no retries at all: the first temporary failure bounces');
  assert.deepEqual(nextState(limited, { attempts: 3, ageMs: young, waitSeconds: 17, bounce: few }), { state: 'retry', waitSeconds: 17 }, 'held back by a recipient limit: not a retry');
  assert.equal(nextState(rejected, { attempts: 3, ageMs: young, bounce: few }).state, 'bounce', 'a 5xx is a bounce, whatever the count');
});

test('an expired recipient keeps the status code of its last failure', () => {
  const next = nextState(noAnswer, { attempts: 5, ageMs: old, bounce });
  assert.equal(next.state, 'expire');
  assert.equal(next.state === 'expire' && next.outcome.status, '4.4.1');
});

test('a REQUIRETLS message is retried with 4.7.30 and expires with 5.7.30 (RFC 8689)', () => {
  const heldBack = local('temporary', STATUS.requireTls('temporary'), 'REQUIRETLS: MX(mx.example.com) 192.0.2.1 does not offer REQUIRETLS after STARTTLS');
  assert.deepEqual(nextState(heldBack, { attempts: 1, ageMs: young, bounce }), { state: 'retry', waitSeconds: 60 });
  const next = nextState(heldBack, { attempts: 5, ageMs: old, bounce });
  assert.equal(next.state === 'expire' && next.outcome.status, '5.7.30');
  assert.match(next.state === 'expire' ? next.outcome.text : '', /does not offer REQUIRETLS/);
});

test('back-off: the first attempt waits the initial interval, never below it', () => {
  assert.deepEqual([0, 1, 2, 3, 7, 30].map((n) => backoffSeconds(n, bounce)), [60, 60, 120, 240, 3600, 3600]);
});

test('a server reply is read once: its code gives the kind, its first word the enhanced status', () => {
  assert.deepEqual(fromReply(550, '550 5.1.1 User unknown'), { kind: 'permanent', code: 550, status: '5.1.1', text: '550 5.1.1 User unknown' });
  assert.deepEqual(fromReply(452, '452-4.2.2 Mailbox full'), { kind: 'temporary', code: 452, status: '4.2.2', text: '452-4.2.2 Mailbox full' });
  assert.equal(fromReply(550, '550 Go away').status, '5.0.0', 'no enhanced code: the class alone');
  assert.equal(fromReply(421, '421 Try later').status, '4.0.0');
  assert.equal(fromReply(250, '250 Ok').status, '2.0.0');
  assert.equal(fromReply(550, '550 4.7.1 mixed up').status, '5.0.0', 'an enhanced code of another class is not believed');
  assert.equal(fromReply(550, '550 see 5.1.1 later').status, '5.0.0', 'only the first word counts');
  assert.deepEqual(localReply('temporary', STATUS.congested, 'busy'), { kind: 'temporary', status: '4.4.5', text: '4.4.5 busy' });
});
