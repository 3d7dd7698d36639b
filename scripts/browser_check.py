#!/usr/bin/env python3
"""Tries the substitute-invitation page in a real browser, as an invited mentor would.

Starts `mentorship serve` (debug binary) on a fresh SQLite database with mail written to a folder,
sets up a mentor, a mentee, a confirmed meeting and an invitation to a third mentor over HTTP, then
drives headless Chromium (Debian's `chromium` package, through the npm package `playwright-core`)
to open the e-mailed accept link, log in on the page and press the button. It checks the answer
shown on the page and that the meeting now has its substitute, and saves screenshots.

Usage: scripts/browser_check.py [folder with node_modules/playwright-core] [screenshot folder]
"""
import email
import glob
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "debug", "mentorship")
NODE_DIR = sys.argv[1] if len(sys.argv) > 1 else "."
SHOTS = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="mentorship-shots-")


def call(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def mail_text(mail_dir, address, pattern):
    for _ in range(100):
        for path in sorted(glob.glob(os.path.join(mail_dir, "*.eml"))):
            message = email.message_from_binary_file(open(path, "rb"))
            if address not in message["To"]:
                continue
            for part in message.walk():
                if part.get_content_type() == "text/plain":
                    match = re.search(pattern, part.get_payload(decode=True).decode())
                    if match:
                        return match.group(0)
        time.sleep(0.1)
    raise SystemExit(f"no mail matching {pattern} for {address}")


def main():
    work = tempfile.mkdtemp(prefix="mentorship-browser-")
    mail_dir = os.path.join(work, "mail")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, DATABASE_URL=f"sqlite://{work}/db.sqlite?mode=rwc", BIND_ADDR=f"127.0.0.1:{port}",
               SECRET_KEY="browser-check-secret-0123456789abcdef012345", SMTP_URL=f"file://{mail_dir}", RUST_LOG="warn")
    server = subprocess.Popen([BINARY, "serve"], env=env)
    try:
        for _ in range(100):
            try:
                call("GET", base + "/health")
                break
            except Exception:
                time.sleep(0.1)
        users = {}
        for name, flags in [("ada_mentor", {"available_to_mentor": True}), ("bob_mentee", {"need_mentoring": True}),
                            ("cy_standin", {"available_to_mentor": True})]:
            call("POST", base + "/register", dict(name=name.split("_")[0].title(), username=name, password="browser-pass",
                 email=f"{name}@example.com", terms_and_conditions_checked=True, **flags))
            call("GET", mail_text(mail_dir, f"{name}@example.com", r"http://\S+/user/confirm_email/[A-Za-z0-9_-]+"))
            login = call("POST", base + "/login", dict(username=name, password="browser-pass"))
            users[name] = (login["access_token"], call("GET", base + "/user", token=login["access_token"])["id"])
        mentor, mentee, standin = users["ada_mentor"], users["bob_mentee"], users["cy_standin"]
        now = time.time()
        call("POST", base + "/mentorship_relation/send_request",
             dict(mentor_id=mentor[1], mentee_id=mentee[1], end_date=now + 10 * 7 * 86400, notes="Rust"), token=mentee[0])
        relation = call("GET", base + "/mentorship_relations", token=mentor[0])[0]["id"]
        call("PUT", base + f"/mentorship_relation/{relation}/accept", {}, token=mentor[0])
        meeting = call("POST", base + f"/mentorship_relation/{relation}/meeting",
                       dict(start_date=now + 3 * 86400, end_date=now + 3 * 86400 + 3600, place="Room 4"), token=mentee[0])
        call("PUT", base + f"/meeting/{meeting['id']}/accept", {}, token=mentor[0])
        call("POST", base + f"/meeting/{meeting['id']}/substitute", dict(user_id=standin[1]), token=mentor[0])
        link = mail_text(mail_dir, "cy_standin@example.com", r"http://\S+/substitute/accept\?\S+")

        script = f"""
const {{ chromium }} = require('playwright-core');
(async () => {{
  const browser = await chromium.launch({{ executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] }});
  const page = await browser.newPage();
  await page.goto({json.dumps(link)});
  await page.screenshot({{ path: {json.dumps(os.path.join(SHOTS, '1-invitation.png'))}, fullPage: true }});
  await page.fill('input[name=username]', 'cy_standin');
  await page.fill('input[name=password]', 'browser-pass');
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#answer:not([hidden])');
  await page.click('#answer');
  await page.waitForFunction(() => document.getElementById('result').textContent.length > 0);
  const result = await page.textContent('#result');
  await page.screenshot({{ path: {json.dumps(os.path.join(SHOTS, '2-answered.png'))}, fullPage: true }});
  console.log(result);
  await browser.close();
}})().catch((e) => {{ console.error(e); process.exit(1); }});
"""
        shown = subprocess.run(["node", "-e", script], cwd=NODE_DIR, capture_output=True, text=True, timeout=120)
        print(shown.stdout.strip() or shown.stderr)
        state = call("GET", base + f"/meeting/{meeting['id']}", token=mentor[0])
        ok = "You are now the substitute mentor" in shown.stdout and state["substitute_status"] == "accepted"
        print("substitute_status:", state["substitute_status"], "- screenshots in", SHOTS)
        return 0 if ok else 1
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
