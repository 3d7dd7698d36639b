#!/usr/bin/env python3
"""Fuzzes the running server from its own OpenAPI document with schemathesis.

Starts `mentorship serve` (the debug binary) on a fresh SQLite database, registers and verifies a
member through the e-mailed link (mail goes to a folder of .eml files), logs in, then runs
schemathesis against /openapi.json with that member's token: no 5xx, no undocumented status, no
response that breaks its schema. Usage: scripts/fuzz_api.py [max-examples per operation]
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
MAX_EXAMPLES = sys.argv[1] if len(sys.argv) > 1 else "25"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def verification_link(mail_dir, address):
    for _ in range(100):
        for path in glob.glob(os.path.join(mail_dir, "*.eml")):
            message = email.message_from_binary_file(open(path, "rb"))
            if address not in message["To"]:
                continue
            for part in message.walk():
                if part.get_content_type() == "text/plain":
                    text = part.get_payload(decode=True).decode()
                    match = re.search(r"http://\S+/user/confirm_email/[A-Za-z0-9_-]+", text)
                    if match:
                        return match.group(0)
        time.sleep(0.1)
    raise SystemExit(f"no verification mail for {address}")


def main():
    work = tempfile.mkdtemp(prefix="mentorship-fuzz-")
    mail_dir = os.path.join(work, "mail")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, DATABASE_URL=f"sqlite://{work}/fuzz.db?mode=rwc", BIND_ADDR=f"127.0.0.1:{port}",
               SECRET_KEY="fuzz-secret-key-0123456789abcdef0123456789", SMTP_URL=f"file://{mail_dir}",
               ACCESS_TOKEN_TTL="2h", RUST_LOG="warn")
    server = subprocess.Popen([BINARY, "serve"], env=env)
    try:
        for _ in range(100):
            try:
                call("GET", base + "/health")
                break
            except Exception:
                time.sleep(0.1)
        tokens = []
        for name, flags in [("fuzz_mentor", {"available_to_mentor": True}), ("fuzz_mentee", {"need_mentoring": True})]:
            call("POST", base + "/register", dict(name="Fuzz User", username=name, password="fuzz-password",
                 email=f"{name}@example.com", terms_and_conditions_checked=True, **flags))
            call("GET", verification_link(mail_dir, f"{name}@example.com"))
            tokens.append(call("POST", base + "/login", dict(username=name, password="fuzz-password"))["access_token"])
        command = ["schemathesis", "run", base + "/openapi.json",
                   "--header", "Authorization: Bearer " + tokens[0],
                   "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                   "--max-examples", MAX_EXAMPLES, "--exclude-path", "/logout", "--exclude-path", "/refresh",
                   "--exclude-method", "DELETE", "--exclude-path", "/user/change_password",
                   "--exclude-path", "/user/reset_password/{token}", "--no-color", "--seed", "1"]
        print("+", " ".join(c if "Bearer" not in c else "Authorization: Bearer <token>" for c in command), flush=True)
        return subprocess.call(command)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
