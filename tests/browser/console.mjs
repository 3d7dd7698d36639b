// Drives the console in Debian's headless Chromium through playwright-core: sign in, visit
// every page (no console error, no failed request, no page wider than a 360 px screen), do
// the action of each page that has one, sign out. Writes a screenshot of each page.
//
// Usage (run.sh sets these): BASE=http://127.0.0.1:PORT MAIL_DIR=... SHOTS=... BINARY=...
// DATABASE_URL=... node console.mjs
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const { BASE, MAIL_DIR, SHOTS, BINARY } = process.env;
const PASSWORD = 'browser-pass-1';
const DAY = 86400;

async function call(method, path, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(BASE + path, { method, headers, body: body && JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// The first link matching `pattern` in a mail to `address` (the server writes .eml files).
async function mailLink(address, pattern) {
  for (let i = 0; i < 100; i++) {
    for (const file of readdirSync(MAIL_DIR).sort()) {
      const text = readFileSync(join(MAIL_DIR, file), 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
      if (!text.includes(address)) continue;
      const match = text.match(pattern);
      if (match) return match[0];
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no mail matching ${pattern} to ${address}`);
}

async function member(username, flags, verify = true) {
  await call('POST', '/register', {
    name: username.split('_')[0], username, password: PASSWORD, email: `${username}@example.com`,
    terms_and_conditions_checked: true, ...flags,
  });
  if (!verify) return null;
  const link = await mailLink(`${username}@example.com`, /http:\/\/\S+\/user\/confirm_email\/[A-Za-z0-9_-]+/);
  await call('GET', link.slice(BASE.length));
  const login = await call('POST', '/login', { username, password: PASSWORD });
  const me = await call('GET', '/user', null, login.access_token);
  return { token: login.access_token, id: me.id };
}

async function seed() {
  const admin = await member('ada_admin', {});
  execFileSync(BINARY, ['admin', 'grant', 'ada_admin'], { env: process.env, stdio: 'inherit' });
  const mentor = await member('mia_mentor', { available_to_mentor: true });
  const mentee = await member('max_mentee', { need_mentoring: true });
  const standin = await member('sam_standin', { available_to_mentor: true });
  await member('una_unverified', { need_mentoring: true }, false);
  const now = Date.now() / 1000;
  await call('POST', '/mentorship_relation/send_request',
    { mentor_id: mentor.id, mentee_id: mentee.id, end_date: now + 70 * DAY, notes: 'Rust' }, mentee.token);
  const relation = (await call('GET', '/mentorship_relations', null, mentor.token))[0].id;
  await call('PUT', `/mentorship_relation/${relation}/accept`, {}, mentor.token);
  const meeting = await call('POST', `/mentorship_relation/${relation}/meeting`,
    { start_date: now + 3 * DAY, end_date: now + 3 * DAY + 3600, place: 'Room 4' }, mentee.token);
  await call('PUT', `/meeting/${meeting.id}/accept`, {}, mentor.token);
  await call('POST', `/meeting/${meeting.id}/substitute`, { user_id: standin.id }, mentor.token);
  return { admin, meeting: meeting.id };
}

const problems = [];
function watch(page) {
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error on ${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error on ${page.url()}: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} for ${response.url()}`);
  });
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `console-${name}.png`), fullPage: true });
}

// Submits the form whose button has this text, and waits for the page it redirects to.
async function press(page, text) {
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: text, exact: true }).first().click()]);
}

async function expectText(page, text) {
  const body = await page.textContent('main');
  if (!body.includes(text)) throw new Error(`"${text}" not on ${page.url()}:\n${body}`);
}

async function main() {
  const { meeting } = await seed();
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  watch(page);

  // Sign in, with the keyboard: the skip link comes first, every field has its label.
  await page.goto(`${BASE}/console/`);
  if (!page.url().endsWith('/console/sign-in')) throw new Error(`not sent to sign in: ${page.url()}`);
  await shot(page, 'sign-in');
  await page.getByLabel('Username or e-mail').fill('ada_admin');
  await page.getByLabel('Password').fill(PASSWORD);
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  await expectText(page, 'Verified');
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => document.activeElement.textContent);
  if (first !== 'Skip to content') throw new Error(`the first Tab reaches "${first}"`);

  // Overview: count again.
  await press(page, 'Count again now');
  await expectText(page, 'The figures were counted again.');
  await shot(page, 'overview');

  // Members: search, then an unverified member's page: resend the verification mail.
  await page.goto(`${BASE}/console/members`);
  await page.getByLabel('Verified').selectOption('no');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Filter' }).click()]);
  await expectText(page, 'una_unverified');
  await shot(page, 'members');
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'una_unverified' }).click()]);
  await press(page, 'Resend the verification e-mail');
  await expectText(page, 'A new verification e-mail is on its way');
  await shot(page, 'member');

  // Relations and meetings: filters; a meeting's invitation history.
  await page.goto(`${BASE}/console/relations`);
  await page.getByLabel('State').selectOption('accepted');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Filter' }).click()]);
  await expectText(page, 'mia_mentor');
  await shot(page, 'relations');
  await page.goto(`${BASE}/console/meetings`);
  await page.getByLabel('Substitute invitation').selectOption('pending');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Filter' }).click()]);
  await expectText(page, 'sam_standin');
  await shot(page, 'meetings');
  await page.goto(`${BASE}/console/meetings/${meeting}`);
  await expectText(page, 'pending');
  await shot(page, 'meeting');

  // Mail: a test mail to me.
  await page.goto(`${BASE}/console/mail`);
  await press(page, 'Send a test mail to me');
  await expectText(page, 'A test mail to you is queued');
  await mailLink('ada_admin@example.com', /Test mail from the console/);
  await page.reload();
  await shot(page, 'mail');

  // Jobs: run one now.
  await page.goto(`${BASE}/console/jobs`);
  await press(page, 'Run purge-expired now');
  await expectText(page, 'The job was started');
  await page.reload();
  await shot(page, 'jobs');

  // Audit: the actions above are in the trail; filter to the job run.
  await page.goto(`${BASE}/console/audit`);
  await expectText(page, 'console.test_mail');
  await page.getByLabel('Action').fill('console.job_run');
  await press(page, 'Filter');
  await expectText(page, 'job:purge-expired');
  await shot(page, 'audit');

  // Every page at 360 px: nothing wider than the screen (tables scroll in their own box).
  await page.setViewportSize({ width: 360, height: 780 });
  for (const path of ['/console', '/console/members', '/console/relations', '/console/meetings',
    `/console/meetings/${meeting}`, '/console/mail', '/console/jobs', '/console/audit']) {
    await page.goto(BASE + path);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    if (width > 360) throw new Error(`${path} is ${width} px wide at 360 px`);
  }
  await page.goto(`${BASE}/console`);
  await shot(page, 'overview-360');
  await page.setViewportSize({ width: 1280, height: 900 });

  // Sign out: back to the sign-in page, and the console is closed.
  await page.goto(`${BASE}/console`);
  await press(page, 'Sign out');
  await expectText(page, 'You are signed out.');
  await page.goto(`${BASE}/console/members`);
  if (!page.url().endsWith('/console/sign-in')) throw new Error('the session outlived sign-out');

  await browser.close();
  if (problems.length) throw new Error(problems.join('\n'));
  console.log('console browser test: every page and action passed');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
