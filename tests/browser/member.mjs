// The member web app's whole story in Debian's headless Chromium through playwright-core: a
// mentor, a mentee and a substitute, each in their own browser context, sign up, verify through
// the e-mailed link, fill in their profile; the mentee finds the mentor by skill and sends a
// request, the mentor accepts; a task and a comment; a meeting proposed and accepted; the mentor
// invites the substitute, who accepts through the e-mailed link; everyone signs out; the mentee
// resets a forgotten password through the e-mailed link and signs in with it. No console error, no
// failed request, no page wider than a 360 px screen. Writes screenshots of the main pages.
//
// Usage (run.sh sets these): BASE=http://127.0.0.1:PORT MAIL_DIR=... SHOTS=... node member.mjs
import { chromium } from 'playwright-core';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const { BASE, MAIL_DIR, SHOTS } = process.env;
const PASSWORD = 'browser-pass-1';
const DAY = 86400 * 1000;

// The first link matching `pattern` in a mail to `address` (the server writes .eml files).
async function mailLink(address, pattern) {
  for (let i = 0; i < 100; i++) {
    for (const file of readdirSync(MAIL_DIR).sort()) {
      const text = readFileSync(join(MAIL_DIR, file), 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
      if (!text.includes(`To: ${address}`) && !text.includes(`<${address}>`)) continue;
      const match = text.match(pattern);
      if (match) return match[0];
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no mail matching ${pattern} to ${address}`);
}

const problems = [];
function watch(page, who) {
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${who}: console error on ${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`${who}: page error on ${page.url()}: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`${who}: request failed: ${request.url()} ${request.failure()?.errorText}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${who}: ${response.status()} for ${response.url()}`);
  });
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `member-${name}.png`), fullPage: true });
}

// Submits the form whose button has this text, and waits for the page it leads to.
async function press(page, text) {
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: text, exact: true }).first().click()]);
}

async function expectText(page, text) {
  const body = await page.textContent('main');
  if (!body.includes(text)) throw new Error(`"${text}" not on ${page.url()}:\n${body}`);
}

const day = (ms) => new Date(ms).toISOString().slice(0, 10);
const minute = (ms) => new Date(ms).toISOString().slice(0, 16);

// A member in their own browser context: signs up, verifies by the e-mailed link, signs in.
async function newMember(browser, username, name, flags) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  watch(page, username);
  await page.goto(`${BASE}/`);
  if (!page.url().endsWith('/app/sign-in')) throw new Error(`not sent to sign in: ${page.url()}`);
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Sign up' }).click()]);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel('E-mail').fill(`${username}@example.com`);
  await page.getByLabel('Password').fill(PASSWORD);
  for (const flag of flags) await page.getByLabel(flag).check();
  await page.getByLabel('I accept the terms and conditions').check();
  if (username.endsWith('mentee')) await shot(page, 'sign-up');
  await press(page, 'Sign up');
  await expectText(page, 'A confirmation email has been sent');
  const link = await mailLink(`${username}@example.com`, /http:\/\/\S+\/user\/confirm_email\/[A-Za-z0-9_-]+/);
  await page.goto(link);
  await expectText(page, 'You have confirmed your account. Thanks!');
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Sign in' }).click()]);
  if (username.endsWith('mentee')) await shot(page, 'sign-in');
  await page.getByLabel('Username or e-mail').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  await expectText(page, `Welcome, ${name}.`);
  return { context, page };
}

async function main() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const mentor = await newMember(browser, 'rosa_mentor', 'Rosa Mentor', ['I am available to mentor']);
  const mentee = await newMember(browser, 'theo_mentee', 'Theo Mentee', ['I need mentoring']);
  const standin = await newMember(browser, 'uma_standin', 'Uma Standin', ['I am available to mentor']);

  // Keyboard: the skip link comes first.
  await mentee.page.keyboard.press('Tab');
  const first = await mentee.page.evaluate(() => document.activeElement.textContent);
  if (first !== 'Skip to content') throw new Error(`the first Tab reaches "${first}"`);

  // Profiles: skills and interests, time zone.
  for (const [who, field, value] of [[mentor, 'Skills', 'rust databases'], [standin, 'Skills', 'rust'],
    [mentee, 'Interests', 'rust']]) {
    await who.page.goto(`${BASE}/app/profile`);
    await who.page.getByLabel(field, { exact: true }).fill(value);
    await press(who.page, 'Save my profile');
    await expectText(who.page, 'User was updated successfully.');
  }
  await mentee.page.getByLabel('Time zone').fill('Europe/Lisbon');
  await press(mentee.page, 'Save my preferences');
  await expectText(mentee.page, 'Preferences were updated successfully.');
  await shot(mentee.page, 'profile');

  // The mentee finds the mentor and sends a request.
  await mentee.page.goto(`${BASE}/app/members`);
  await mentee.page.getByLabel('Available to mentor').check();
  await mentee.page.getByLabel('Skills (each word)').fill('Databases');
  await Promise.all([mentee.page.waitForNavigation(), mentee.page.getByRole('button', { name: 'Search' }).click()]);
  await expectText(mentee.page, 'rosa_mentor');
  if ((await mentee.page.textContent('main')).includes('uma_standin')) {
    throw new Error('the skills filter let through a mentor without the skill');
  }
  await shot(mentee.page, 'directory');
  await Promise.all([mentee.page.waitForNavigation(), mentee.page.getByRole('link', { name: 'Rosa Mentor' }).click()]);
  await mentee.page.getByLabel('End date').fill(day(Date.now() + 70 * DAY));
  await mentee.page.getByLabel('Notes').fill('I would like to learn Rust.');
  await shot(mentee.page, 'member');
  await press(mentee.page, 'Send the request');
  await expectText(mentee.page, 'Mentorship relation was sent successfully.');

  // The mentor accepts.
  await mentor.page.goto(`${BASE}/app/relations`);
  await expectText(mentor.page, 'Theo Mentee');
  await shot(mentor.page, 'relations');
  await press(mentor.page, 'Accept');
  await expectText(mentor.page, 'Mentorship relation was accepted successfully.');

  // The mentee: a task and a comment on it.
  await mentee.page.goto(`${BASE}/app/relations`);
  await Promise.all([mentee.page.waitForNavigation(), mentee.page.getByRole('link', { name: 'Open' }).first().click()]);
  const relationUrl = mentee.page.url();
  await mentee.page.getByLabel('New task').fill('Read the Rust book, chapters 1 to 4');
  await press(mentee.page, 'Add the task');
  await expectText(mentee.page, 'Task was created successfully.');
  await Promise.all([mentee.page.waitForNavigation(),
    mentee.page.getByRole('link', { name: 'Read the Rust book, chapters 1 to 4' }).click()]);
  await mentee.page.getByLabel('New comment').fill('Chapter 1 done.');
  await press(mentee.page, 'Add the comment');
  await expectText(mentee.page, 'Task comment was created successfully.');
  await shot(mentee.page, 'task');

  // A meeting proposed by the mentee (Lisbon time), accepted by the mentor.
  await mentee.page.goto(relationUrl);
  const start = Date.now() + 3 * DAY;
  await mentee.page.getByLabel(/^Starts/).fill(minute(start));
  await mentee.page.getByLabel(/^Ends/).fill(minute(start + 3600 * 1000));
  await mentee.page.getByLabel('Place').fill('Library, room 4');
  await press(mentee.page, 'Propose the meeting');
  await expectText(mentee.page, 'Meeting was proposed successfully.');
  await shot(mentee.page, 'relation');
  await mentor.page.goto(relationUrl);
  await Promise.all([mentor.page.waitForNavigation(), mentor.page.locator('main table a[href^="/app/meetings/"]').first().click()]);
  const meetingUrl = mentor.page.url();
  await press(mentor.page, 'Accept');
  await expectText(mentor.page, 'Meeting was accepted successfully.');

  // The mentor invites the substitute from the ranked candidates.
  await expectText(mentor.page, 'Uma Standin');
  await press(mentor.page, 'Invite Uma Standin');
  await expectText(mentor.page, 'Substitute was invited successfully.');
  await shot(mentor.page, 'meeting');
  await standin.page.goto(`${BASE}/app/invitations`);
  await expectText(standin.page, 'Rosa Mentor');
  await shot(standin.page, 'invitations');

  // The substitute accepts through the e-mailed link.
  const accept = await mailLink('uma_standin@example.com', /http:\/\/[^\s"<>]+\/meeting\/\d+\/substitute\/accept\?[^\s"<>]+/);
  await standin.page.goto(accept.replace(/&amp;/g, '&'));
  await standin.page.getByLabel('Username or e-mail').fill('uma_standin');
  await standin.page.getByLabel('Password').fill(PASSWORD);
  await press(standin.page, 'Accept the invitation');
  await mentor.page.goto(meetingUrl);
  await expectText(mentor.page, 'accepted');

  // Home: statistics; every page at 360 px: nothing wider than the screen.
  await mentee.page.goto(`${BASE}/app`);
  await shot(mentee.page, 'home');
  await mentee.page.setViewportSize({ width: 360, height: 780 });
  for (const path of ['/app', '/app/profile', '/app/members', '/app/relations', new URL(relationUrl).pathname,
    new URL(meetingUrl).pathname, '/app/invitations']) {
    await mentee.page.goto(BASE + path);
    const width = await mentee.page.evaluate(() => document.documentElement.scrollWidth);
    if (width > 360) {
      const wide = await mentee.page.evaluate(() => [...document.querySelectorAll('main *')]
        .filter((e) => e.getBoundingClientRect().right > 360).slice(0, 5).map((e) => e.outerHTML.slice(0, 120)));
      throw new Error(`${path} is ${width} px wide at 360 px: ${wide.join('\n')}`);
    }
  }
  await mentee.page.goto(relationUrl);
  await shot(mentee.page, 'relation-360');
  await mentee.page.goto(`${BASE}/app/members?skills=rust`);
  await shot(mentee.page, 'directory-360');

  // Everyone signs out; the app is then closed to them.
  for (const who of [mentor, mentee, standin]) {
    await who.page.goto(`${BASE}/app`);
    await press(who.page, 'Sign out');
    await expectText(who.page, 'You are signed out.');
    await who.page.goto(`${BASE}/app/relations`);
    if (!who.page.url().endsWith('/app/sign-in')) throw new Error('the session outlived sign-out');
  }

  // The mentee forgot their password: a link by e-mail, a new password, signed in with it.
  const page = mentee.page;
  await page.goto(`${BASE}/app/sign-in`);
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Forgot your password?' }).click()]);
  await page.getByLabel('E-mail address').fill('theo_mentee@example.com');
  await shot(page, 'forgot-password');
  await press(page, 'Send me a reset link');
  await expectText(page, 'If an account with that e-mail exists');
  const reset = await mailLink('theo_mentee@example.com', /http:\/\/[^\s"<>]+\/user\/reset_password\/[A-Za-z0-9_-]+/);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(reset);
  await page.getByLabel(/New password/).fill('a-brand-new-pass-2');
  await shot(page, 'reset-password');
  await press(page, 'Set my new password');
  await expectText(page, 'Your password has been reset');
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Sign in' }).click()]);
  await page.getByLabel('Username or e-mail').fill('theo_mentee');
  await page.getByLabel('Password').fill('a-brand-new-pass-2');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  await expectText(page, 'Welcome, Theo Mentee.');

  await browser.close();
  if (problems.length) throw new Error(problems.join('\n'));
  console.log('member browser test: the whole story passed');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
