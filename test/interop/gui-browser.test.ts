import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { applianceWithListener, cleanup, freePort, shellOk, submitMail, until, waitForLog } from '../helpers.js';
import { type Sink, smtpSink } from '../sink.js';
import { tool } from '../system-tools.js';

/**
 * The management interface in a real browser: Debian's Chromium, headless, driven by
 * puppeteer-core (which never downloads a browser of its own). An administrator logs in, adds a
 * destination control with TLS Required (Verify) and commits it; the shell lists it and the engine
 * acts on it. Screenshots of the dashboard and the certificates page go to test-output/screenshots.
 */
const SHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-output', 'screenshots');
let home: string;
let smtpPort: number;
let https: number;
let sink: Sink;
let browser: Browser;
let page: Page;

before(async () => {
  ({ home, port: smtpPort } = await applianceWithListener());
  https = await freePort();
  sink = await smtpSink();
  await writeFile(path.join(home, 'configuration', 'admin.pw'), 'correct horse battery\n');
  await shellOk(
    home,
    'userconfig new admin --role administrator --password-file admin.pw',
    `interfaceconfig edit Management --https ${https}`,
    `smtproutes new example.com 127.0.0.1:${sink.port}`,
    `smtproutes new example.net 127.0.0.1:${sink.port}`,
    'commit "GUI and routes"',
  );
  browser = await puppeteer.launch({ executablePath: process.env.CHROMIUM ?? tool('chromium'), headless: true, args: ['--no-sandbox'], acceptInsecureCerts: true });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  await mkdir(SHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  await sink?.close();
  await cleanup(home);
});

const url = (p: string) => `https://127.0.0.1:${https}${p}`;
const text = (selector: string) => page.$eval(selector, (e) => (e as HTMLElement).innerText);
const submit = (selector: string) => Promise.all([page.waitForNavigation(), page.click(selector)]);

test('log in, add a destination with TLS Required (Verify), commit: the shell and the engine follow', async () => {
  await page.goto(url('/'));
  assert.match(page.url(), /\/login$/, 'the dashboard needs a login');
  await page.type('#username', 'admin');
  await page.type('#password', 'correct horse battery');
  await submit('button[type=submit]');
  assert.equal(await text('h1'), 'System Status', await page.content());

  // Clear-text deliveries for the chart, before the change.
  for (let i = 0; i < 3; i += 1) await submitMail(smtpPort, `user${i}@example.com`, `plain ${i}`);
  await until(home, 'three deliveries', () => sink.received.length >= 3);

  await page.goto(url('/destinations'));
  await page.type('#domain', 'example.net');
  await page.select('form[action="/destinations/new"] select[name=tls]', 'required-verify');
  await submit('form[action="/destinations/new"] button[type=submit]');
  assert.match(await text('.flash'), /Destination control for example\.net added/);
  assert.match(await text('#pending'), /1 uncommitted change/);
  assert.match(await text('#pending'), /in the order a commit puts them in service:\s*destconfig\s*destination example\.net added: TLS Required \(Verify\)/, 'the change in words, not JSON');
  assert.equal(await page.$eval('#pending ul.changes', (e) => e.scrollHeight <= e.clientHeight && e.scrollWidth <= e.clientWidth), true, 'the list is shown whole');
  await page.type('#pending input[name=comment]', 'verified TLS for example.net');
  await submit('#pending button[value=commit]');
  assert.match(await text('.flash'), /committed as version \d+/);
  assert.equal(await page.$('#pending'), null, 'nothing is pending after the commit');

  assert.match(await shellOk(home, 'destconfig list'), /example\.net +Required \(Verify\)/);
  assert.match(await shellOk(home, 'rollbackconfig list'), /admin +verified TLS for example\.net +\(current\)/);

  // The sink offers no STARTTLS: the engine must not send in clear to example.net now.
  const before = sink.received.length;
  const mid = await submitMail(smtpPort, 'user@example.net', 'needs TLS');
  await waitForLog(home, new RegExp(`Delayed: MID ${mid} RID \\[0\\] - .*TLS required, STARTTLS unavailable`));
  assert.equal(sink.received.length, before, 'nothing reached the sink in clear');

  await page.goto(url('/'));
  const legend = await text('.legend');
  assert.match(legend, /Clear text: 3/);
  assert.match(legend, /Failed: [1-9]/);
  await page.screenshot({ path: path.join(SHOTS, 'dashboard.png'), fullPage: true });
  await page.goto(url('/certificates'));
  assert.match(await text('table'), /Demo/);
  await page.screenshot({ path: path.join(SHOTS, 'certificates.png'), fullPage: true });

  await page.goto(url('/logs?filter=TLS%20was%20required'));
  assert.match(await text('pre.log'), new RegExp(`TLS was required`));
  // The whole log opens at its newest lines (no script: a column-reverse box starts at its end).
  await page.goto(url('/logs'));
  const view = await page.evaluate(() => {
    const box = document.querySelector('.logview')!;
    const pre = box.querySelector('pre')!;
    return { overflows: box.scrollHeight > box.clientHeight, gap: pre.getBoundingClientRect().bottom - box.getBoundingClientRect().bottom };
  });
  assert.ok(view.overflows, 'the log is longer than its box');
  assert.ok(Math.abs(view.gap) <= 1, `the newest line is in view (gap ${view.gap})`);

  // The pages that do what smtproutes, dnsconfig and the queue commands do.
  for (const [where, shot, heading] of [['/queue', 'queue.png', /recipient|no messages/i], ['/smtp-routes', 'smtp-routes.png', /route/i], ['/bounce-profiles', 'bounce-profiles.png', /Default/], ['/dns', 'dns.png', /Resolvers/]] as const) {
    await page.goto(url(where));
    assert.match(await text('main'), heading, where);
    await page.screenshot({ path: path.join(SHOTS, shot), fullPage: true });
  }
  // The menu bar is one row at 1280 px; a menu opens on hover and its pages are a click away.
  const navHeight = await page.$eval('nav', (e) => e.getBoundingClientRect().height);
  assert.ok(navHeight < 50, `the menu bar is one row (${navHeight} px high)`);
  assert.equal(await page.$eval('a[href="/bounce-profiles"]', (e) => e.getBoundingClientRect().height), 0, 'closed until asked');
  await page.hover('nav .menu:has(a[href="/bounce-profiles"]) .group');
  await Promise.all([page.waitForNavigation(), page.click('a[href="/bounce-profiles"]')]);
  assert.match(page.url(), /\/bounce-profiles$/);
  assert.equal(await text('nav .menu.on .group'), 'Network', 'the open page\'s menu is marked');
  await page.goto(url('/dns'));
  // Inputs line up whatever their label's length (a long label wraps in its column).
  const lefts = await page.$$eval('.row > input, .row > select', (els) => els.map((e) => Math.round(e.getBoundingClientRect().left)));
  assert.ok(lefts.length >= 2, 'the DNS form has its fields');
  assert.equal(new Set(lefts).size, 1, `the inputs start at one x: ${lefts.join(', ')}`);
});

test('commit with "Undo after": every page shows the deadline until Confirm; the pending list reads in words', async () => {
  await page.goto(url('/destinations'));
  await page.type('#domain', 'confirm.example');
  await page.select('form[action="/destinations/new"] select[name=tls]', 'preferred');
  await submit('form[action="/destinations/new"] button[type=submit]');
  assert.match(await text('#pending'), /destconfig\s*destination confirm\.example added: TLS Preferred/);
  await page.screenshot({ path: path.join(SHOTS, 'pending.png'), fullPage: true });
  await page.type('#pending input[name=comment]', 'with a safety net');
  await page.type('#pending input[name=confirmMinutes]', '30');
  await submit('#pending button[value=commit]');
  const version = /committed as version (\d+)/.exec(await text('.flash'))?.[1];
  assert.ok(version, await text('.flash'));
  assert.match(await text('#confirmation'), new RegExp(`Version ${version} goes back to version \\d+ at .* \\(in about (30|29) minutes\\) unless it is confirmed`));
  await page.goto(url('/certificates'));
  assert.match(await text('#confirmation'), new RegExp(`Version ${version} goes back`), 'on every page');
  assert.match(await shellOk(home, 'status'), /goes back to version/, 'the shell sees the same deadline');
  await submit('#confirmation button[type=submit]');
  assert.match(await text('.flash'), new RegExp(`Version ${version} is confirmed: it stays in service\\.`));
  assert.equal(await page.$('#confirmation'), null, 'the banner is gone');
  assert.doesNotMatch(await shellOk(home, 'status'), /goes back to version/);
  assert.match(await shellOk(home, 'destconfig list'), /confirm\.example/);
});
