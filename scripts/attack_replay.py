#!/usr/bin/env python3
"""Replays the attacks of the security-hardening issue against locally started servers.

Each item starts what it needs: `target/debug/mentorship serve` (built with `cargo build` when
missing; MENTORSHIP_BINARY runs another build) on a fresh SQLite database in a temporary folder,
listening on a free loopback port, with mail written as `.eml` files (SMTP_URL=file://...) and
the log (RUST_LOG=info, LOG_FORMAT=json) captured to a file. Items that need a setting start a
server of their own with it. Members are registered, confirmed through the e-mailed link and
logged in over the API.

Prints one line per item, `item N (name): held` or `item N (name): FAILED - what was observed`,
then a summary line; exits 0 when every item held, 1 otherwise. The lines carry no timestamps,
ports, paths or tokens, so the output can be pasted into docs/SECURITY.md.

Usage: scripts/attack_replay.py [-v] [--keep] [ITEM ...]
  ITEM     item numbers to run (default: all)
  -v       also print what each item observed (timings, status codes) on stderr
  --keep   keep the temporary folder (databases, mail, server logs) and print its path
Loopback only; every socket has a timeout; the whole run takes about a minute.
"""
import collections
import concurrent.futures
import email
import email.policy
import glob
import html.parser
import http.client
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.environ.get("MENTORSHIP_BINARY") or os.path.join(ROOT, "target", "debug", "mentorship")
SECRET = "attack-replay-secret-0123456789abcdef0123456789"
PASSWORD = "attack-pass-1"
WRONG = "wrong-pass-1"
HOST = "127.0.0.1"
TIMEOUT = 10.0  # default timeout of one HTTP exchange, seconds
ITEM_BUDGET = 60.0  # an item still making requests after this long fails

# Every setting the server reads (or will read): removed from the inherited environment so
# that only what an item sets is in effect.
SETTINGS = """DATABASE_URL BIND_ADDR PUBLIC_URL SECRET_KEY SMTP_URL MAIL_FROM FIRST_USER_IS_ADMIN
ACCESS_TOKEN_TTL LOG_FORMAT RUST_LOG COMPLETE_RELATIONS_SCHEDULE DELETE_UNVERIFIED_USERS_SCHEDULE
OPTIMIZE_SEARCH_INDEX_SCHEDULE SHUTDOWN_DRAIN DATABASE_MAX_CONNECTIONS DATABASE_ACQUIRE_TIMEOUT
TRUSTED_PROXIES METRICS_ALLOW HEADER_READ_TIMEOUT IDLE_TIMEOUT MAX_CONNECTIONS""".split()

VERBOSE = False
item_deadline = float("inf")


class Failed(Exception):
    """The item did not hold; the message says what was observed."""


class SetupError(Exception):
    """The item could not be set up (server did not start, a step of the scenario failed)."""


class OutOfTime(Failed):
    """The item used up its time budget (the server stopped answering in time)."""


def budget(timeout):
    """`timeout`, cut to what is left of the item's time budget."""
    remaining = item_deadline - time.monotonic()
    if remaining <= 0:
        raise OutOfTime(f"still not done after {ITEM_BUDGET:.0f} s (answers too slow or missing)")
    return min(timeout, remaining)


def note(text):
    if VERBOSE:
        print("    " + text, file=sys.stderr, flush=True)


def tally(statuses):
    """`401 x5, 429 x27`: how many answers had each status, in status order."""
    counts = collections.Counter(statuses)
    return ", ".join(f"{s} x{n}" for s, n in sorted(counts.items(), key=lambda kv: str(kv[0])))


def seconds(value):
    return f"{value:.1f} s"


# ---------------------------------------------------------------------------------------------
# HTTP

class Answer:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage (case-insensitive)
        self.body = body
        self.elapsed = elapsed

    def header(self, name):
        return self.headers.get(name)

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def message(self):
        data = self.json()
        return data.get("message") if isinstance(data, dict) else None

    def text(self):
        return self.body.decode("utf-8", "replace")

    def describe(self):
        message = self.message()
        return f"{self.status}" + (f" ({message!r})" if message else "")


def call(port, method, path, body=None, token=None, headers=None, data=None, timeout=TIMEOUT):
    """One request on a fresh connection. `body` is sent as JSON; `data` as given."""
    connection = http.client.HTTPConnection(HOST, port, timeout=budget(timeout))
    try:
        all_headers = {}
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        if token:
            all_headers["Authorization"] = "Bearer " + token
        all_headers.update(headers or {})
        started = time.monotonic()
        connection.request(method, path, body=data, headers=all_headers)
        response = connection.getresponse()
        payload = response.read()
        return Answer(response.status, response.headers, payload, time.monotonic() - started)
    finally:
        connection.close()


def link_path(link):
    """The path and query of an e-mailed link (the links are built from PUBLIC_URL)."""
    parts = urllib.parse.urlsplit(link)
    return parts.path + ("?" + parts.query if parts.query else "")


def read_http_response(sock, timeout):
    """Reads one HTTP/1.1 response from a raw socket: (status, {name: [bytes]}, body).
    Raises socket.timeout, ConnectionError, or ValueError on a malformed answer."""
    deadline = time.monotonic() + timeout
    buffer = b""

    def more():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("no complete answer in time")
        sock.settimeout(remaining)
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by the server")
        return chunk

    while b"\r\n\r\n" not in buffer:
        try:
            buffer += more()
        except ConnectionError:
            if buffer:
                raise ValueError(f"incomplete answer: {buffer[:60]!r}")
            raise
    head, body = buffer.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3})", lines[0])
    if not match:
        raise ValueError(f"not an HTTP answer: {lines[0][:60]!r}")
    headers = collections.defaultdict(list)
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode("latin-1")].append(value.strip())
    if "content-length" in headers:
        length = int(headers["content-length"][0])
        while len(body) < length:
            body += more()
    elif b"chunked" in b",".join(headers.get("transfer-encoding", [])).lower():
        while not body.endswith(b"0\r\n\r\n"):
            body += more()
    return int(match.group(1)), dict(headers), body


def raw_exchange(port, data, timeout=TIMEOUT):
    """Sends raw bytes on a fresh connection and reads one answer."""
    timeout = budget(timeout)
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_http_response(sock, timeout)


def wait_closed(sock, limit):
    """Waits up to `limit` seconds for the server to close `sock`: seconds it took, or None."""
    started = time.monotonic()
    while True:
        remaining = limit - (time.monotonic() - started)
        if remaining <= 0:
            return None
        sock.settimeout(remaining)
        try:
            if not sock.recv(65536):
                return time.monotonic() - started
        except socket.timeout:
            return None
        except OSError:
            return time.monotonic() - started


# ---------------------------------------------------------------------------------------------
# Servers, mail and members

def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """One `mentorship serve` process with its own folder, database, mail folder and log."""

    def __init__(self, run, name, settings=None, mail="folder", secret=True, database_url=None,
                 cwd=None, umask=-1):
        self.name = name
        self.dir = os.path.join(run.root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log_path = os.path.join(self.dir, "server.log")
        self.db_path = os.path.join(self.dir, "m.db")
        self.mail_dir = os.path.join(self.dir, "mail") if mail == "folder" else None
        env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
        env.update(BIND_ADDR=f"{HOST}:{self.port}", RUST_LOG="info", LOG_FORMAT="json",
                   ACCESS_TOKEN_TTL="2h",
                   DATABASE_URL=database_url or f"sqlite://{self.db_path}?mode=rwc")
        if secret:
            env["SECRET_KEY"] = SECRET
        if self.mail_dir:
            env["SMTP_URL"] = "file://" + self.mail_dir
        env.update(settings or {})
        self.env = env
        self.cwd = cwd or self.dir
        self.umask = umask
        self.process = None
        self.log_file = None
        self.mailbox = FolderMail(self.mail_dir) if self.mail_dir else LogMail(self)
        run.servers.append(self)

    def start(self, wait=20.0):
        self.log_file = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen([BINARY, "serve"], env=self.env, cwd=self.cwd,
                                            stdin=subprocess.DEVNULL, stdout=self.log_file,
                                            stderr=subprocess.STDOUT, umask=self.umask)
        except OSError as err:
            raise SetupError(f"cannot start the server: {err}") from None
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SetupError(f"the server ({self.name}) exited with status "
                                 f"{self.process.returncode}: {self.last_log_line()}")
            try:
                if call(self.port, "GET", "/health", timeout=2).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise SetupError(f"the server ({self.name}) did not answer /health 200 within {wait:.0f} s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.log_file:
            self.log_file.close()
            self.log_file = None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_events(self):
        """The log's lines, each parsed as JSON when it is JSON ({'_raw': line} otherwise)."""
        events = []
        for line in self.log_text().splitlines():
            try:
                event = json.loads(line)
                if not isinstance(event, dict):
                    event = {"_raw": line}
            except ValueError:
                event = {"_raw": line}
            event["_line"] = line
            events.append(event)
        return events

    def last_log_line(self):
        lines = [l for l in self.log_text().splitlines() if l.strip()]
        if not lines:
            return "(no output)"
        try:
            event = json.loads(lines[-1])
            return str(event.get("message") or event.get("fields", {}).get("message") or lines[-1])[:200]
        except ValueError:
            return lines[-1][:200]


Mail = collections.namedtuple("Mail", "to subject text")


class FolderMail:
    """Mail written as .eml files by SMTP_URL=file://..."""

    def __init__(self, folder):
        self.folder = folder
        self.cache = {}

    def mails(self):
        result = []
        for path in sorted(glob.glob(os.path.join(self.folder, "*.eml"))):
            if path not in self.cache:
                try:
                    with open(path, "rb") as f:
                        message = email.message_from_binary_file(f, policy=email.policy.default)
                    body = message.get_body(preferencelist=("plain", "html"))
                    text = body.get_content() if body is not None else ""
                    self.cache[path] = Mail(str(message["To"] or ""), str(message["Subject"] or ""), text)
                except Exception:  # being written: read it next time
                    continue
            result.append(self.cache[path])
        return result


def event_field(event, name):
    if name in event:
        return event[name]
    fields = event.get("fields")
    return fields.get(name) if isinstance(fields, dict) else None


def in_request(event):
    """Whether the line was logged while a request was handled (its span has a method or path)."""
    spans = [event.get("span")] + list(event.get("spans") or [])
    return any(isinstance(s, dict) and ("path" in s or "method" in s or "uri" in s) for s in spans)


def is_mail_dump(event):
    """A line that is an e-mail printed by the log transport (it has a recipient and a subject)
    and was not logged while handling a request."""
    return (event_field(event, "to") is not None or event_field(event, "subject") is not None) \
        and not in_request(event)


class LogMail:
    """Mail printed to the server's log (SMTP_URL unset)."""

    def __init__(self, server):
        self.server = server

    def mails(self):
        result = []
        for event in self.server.log_events():
            if "_raw" in event or not is_mail_dump(event):
                continue
            result.append(Mail(str(event_field(event, "to") or ""), str(event_field(event, "subject") or ""),
                               str(event_field(event, "message") or "") + "\n" + event["_line"]))
        return result


def mails_to(server, address, subject_pattern=None):
    return [m for m in server.mailbox.mails()
            if address.lower() in m.to.lower() or (not m.to and address in m.text)
            if subject_pattern is None or re.search(subject_pattern, m.subject, re.I)]


def wait_link(server, address, link_pattern, timeout=10.0, skip=0):
    """The first link matching `link_pattern` in the mails to `address` (past the first
    `skip` such links)."""
    deadline = time.monotonic() + timeout
    while True:
        links = []
        for mail in mails_to(server, address):
            links.extend(re.findall(link_pattern, mail.text))
        unique = list(dict.fromkeys(links))
        if len(unique) > skip:
            return unique[skip]
        if time.monotonic() > deadline:
            raise SetupError(f"no mail with the expected link reached {address} within {timeout:.0f} s")
        time.sleep(0.1)


CONFIRM_LINK = r"https?://[^\s\"'<>]+/user/confirm_email/[^\s\"'<>\\]+"
ACCEPT_LINK = r"https?://[^\s\"'<>]+/meeting/\d+/substitute/accept\?[^\s\"'<>\\]+"


class Member:
    def __init__(self, name, username, **flags):
        self.name = name
        self.username = username
        self.email = f"{username}@example.com"
        self.password = PASSWORD
        self.flags = flags
        self.id = None
        self.token = None
        self.confirm_token = None


def expect(answer, statuses, what):
    if answer.status not in statuses:
        raise SetupError(f"{what}: answered {answer.describe()}")
    return answer


def register(server, name, username, verify=True, log_in=True, **flags):
    """A new member; with `verify`, confirmed through the e-mailed link; with `log_in` too,
    logged in (token and id known)."""
    member = Member(name, username, **flags)
    expect(call(server.port, "POST", "/register",
                dict(name=name, username=username, password=member.password, email=member.email,
                     terms_and_conditions_checked=True, **flags)), (201,), f"registering {username}")
    if verify:
        link = wait_link(server, member.email, CONFIRM_LINK)
        member.confirm_token = link.rstrip("/").rsplit("/", 1)[1]
        expect(call(server.port, "GET", link_path(link)), (200,), f"confirming {username}")
    if verify and log_in:
        answer = expect(login(server, username, member.password), (200,), f"logging in {username}")
        member.token = answer.json()["access_token"]
        me = expect(call(server.port, "GET", "/user", token=member.token), (200,), f"reading {username}")
        member.id = me.json()["id"]
    return member


def login(server, username, password, xff=None, timeout=TIMEOUT):
    headers = {"X-Forwarded-For": xff} if xff else None
    return call(server.port, "POST", "/login", dict(username=username, password=password),
                headers=headers, timeout=timeout)


class Meeting:
    """A mentor, a mentee, a confirmed meeting between them at a known place, and substitutes
    able to stand in."""


def build_meeting(server, prefix, substitutes):
    world = Meeting()
    world.place = "Room 4711"
    world.mentor = register(server, "Mona Mentor", f"{prefix}_mentor", available_to_mentor=True)
    world.mentee = register(server, "Manny Mentee", f"{prefix}_mentee", need_mentoring=True)
    world.substitutes = [register(server, name, f"{prefix}_sub{i}", available_to_mentor=True)
                         for i, name in enumerate(substitutes, 1)]
    now = int(time.time())
    expect(call(server.port, "POST", "/mentorship_relation/send_request",
                dict(mentor_id=world.mentor.id, mentee_id=world.mentee.id, end_date=now + 8 * 7 * 86400,
                     notes="attack replay"), token=world.mentee.token), (200, 201), "sending a relation request")
    pending = expect(call(server.port, "GET", "/mentorship_relations/pending", token=world.mentor.token),
                     (200,), "listing pending relations").json()
    relation = next((r["id"] for r in pending if (r.get("mentee") or {}).get("id") == world.mentee.id), None)
    if relation is None:
        raise SetupError("the relation request is not among the mentor's pending requests")
    expect(call(server.port, "PUT", f"/mentorship_relation/{relation}/accept", token=world.mentor.token),
           (200,), "accepting the relation")
    start = now + 2 * 86400
    meeting = expect(call(server.port, "POST", f"/mentorship_relation/{relation}/meeting",
                          dict(start_date=start, end_date=start + 3600, place=world.place, notes="replay"),
                          token=world.mentor.token), (200, 201), "proposing a meeting").json()
    world.meeting_id = meeting.get("id") or (meeting.get("meeting") or {}).get("id")
    expect(call(server.port, "PUT", f"/meeting/{world.meeting_id}/accept", token=world.mentee.token),
           (200,), "accepting the meeting")
    return world


def invite(server, world, substitute):
    expect(call(server.port, "POST", f"/meeting/{world.meeting_id}/substitute", dict(user_id=substitute.id),
                token=world.mentor.token), (200, 201), f"inviting {substitute.username}")
    return link_path(wait_link(server, substitute.email, ACCEPT_LINK))


# ---------------------------------------------------------------------------------------------
# HTML

class Page(html.parser.HTMLParser):
    """What the checks look at in a page: forms, links, scripts, tags and visible text."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.forms, self.anchors, self.scripts, self.tags, self.texts = [], [], [], set(), []
        self.form = None
        self.script = None
        self.hidden = 0  # inside <head>, <style>, <title>, <template>
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = {k.lower(): (v or "") for k, v in attrs}
        self.tags.add(tag)
        if tag == "form":
            self.form = {"attrs": attributes, "password": False}
            self.forms.append(self.form)
        elif tag == "input" and attributes.get("type", "").lower() == "password":
            if self.form is not None:
                self.form["password"] = True
            else:
                self.forms.append({"attrs": {"method": "(no form)"}, "password": True})
        elif tag == "a" and attributes.get("href"):
            self.anchors.append(attributes["href"])
        elif tag == "script":
            self.script = [attributes, ""]
            self.scripts.append(self.script)
        if tag in ("head", "style", "title", "template"):
            self.hidden += 1

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "script":
            self.script = None
        if tag in ("head", "style", "title", "template") and self.hidden:
            self.hidden -= 1

    def handle_data(self, data):
        if self.script is not None:
            self.script[1] += data
        elif not self.hidden:
            self.texts.append(data)

    def visible_text(self):
        return re.sub(r"\s+", " ", " ".join(self.texts)).strip()

    def inline_scripts(self):
        return [body for _, body in self.scripts if body.strip()]


def csp_problems(policy):
    if not policy:
        return ["no Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        tokens = part.split()
        if tokens:
            directives.setdefault(tokens[0].lower(), [t.lower() for t in tokens[1:]])
    problems = []
    scripts = directives.get("script-src", directives.get("default-src"))
    if scripts is None:
        problems.append("CSP has neither script-src nor default-src")
    elif "'unsafe-inline'" in scripts:
        problems.append("CSP allows 'unsafe-inline' scripts")
    if "'none'" not in directives.get("frame-ancestors", []):
        problems.append("CSP lacks frame-ancestors 'none'")
    return problems


# ---------------------------------------------------------------------------------------------
# The run: servers shared by several items are started once, when first needed.

class Run:
    def __init__(self, keep):
        self.root = tempfile.mkdtemp(prefix="mentorship-attack-")
        self.keep = keep
        self.servers = []
        self.shared = {}
        self.item_servers = []

    def once(self, key, make):
        """`make()` the first time, its result (or its exception) afterwards."""
        if key not in self.shared:
            try:
                self.shared[key] = (True, make())
            except Exception as err:  # remembered: every item needing it fails the same way
                self.shared[key] = (False, err)
        ok, value = self.shared[key]
        if not ok:
            raise SetupError(f"setup of the {key} failed: {value}")
        return value

    def server(self, name, **options):
        """A server for the current item only: stopped when the item ends."""
        server = Server(self, name, **options)
        self.item_servers.append(server)
        return server.start()

    def end_item(self):
        for server in self.item_servers:
            server.stop()
        self.item_servers = []

    def main(self):
        """The server most items share: default settings, mail to a folder."""
        return self.once("main server", lambda: Server(self, "main").start())

    def world(self):
        """On the main server: a confirmed meeting in Room 4711; S1 invited, withdrawn, then S2
        invited. Keeps S1's (dead) and S2's (live) accept links."""
        def make():
            server = self.main()
            world = build_meeting(server, "atk_world", ["Sybil Firstsub", "Zelda Secondsub"])
            s1, s2 = world.substitutes
            world.old_link = invite(server, world, s1)
            expect(call(server.port, "DELETE", f"/meeting/{world.meeting_id}/substitute", token=world.mentor.token),
                   (200, 204), "withdrawing the invitation")
            world.live_link = invite(server, world, s2)
            return world
        return self.once("meeting with invitations", make)

    def cleanup(self):
        for server in self.servers:
            try:
                server.stop()
            except Exception:
                pass
        if self.keep:
            print(f"(kept {self.root})", file=sys.stderr)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The items. Each returns None when it held, raises Failed (or anything else) when it did not.

def check(problems):
    if problems:
        raise Failed("; ".join(problems))


def concurrent_logins(server, attempts):
    """Sends every (login, password) at the same moment, each on its own connection."""
    barrier = threading.Barrier(len(attempts))

    def one(attempt):
        try:
            barrier.wait(timeout=10)
        except threading.BrokenBarrierError:
            pass
        try:
            return login(server, *attempt, timeout=30).status
        except OSError as err:
            return type(err).__name__

    with concurrent.futures.ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(one, attempts))


def item_1(run):
    server = run.server("throttle")
    problems = []
    victim = register(server, "Tess Throttle", "atk_throttle_a")
    statuses = concurrent_logins(server, [(victim.username, WRONG)] * 32)
    checked = sum(1 for s in statuses if s != 429)
    note(f"32 concurrent wrong passwords: {tally(statuses)}")
    if checked > 5:
        problems.append(f"32 concurrent wrong passwords: {checked} answers were not 429 ({tally(statuses)})")
    victim = register(server, "Tess Throttle", "atk_throttle_b")
    attempts = [(victim.username, WRONG)] * 31 + [(victim.username, victim.password)]
    statuses = concurrent_logins(server, attempts)
    checked = sum(1 for s in statuses if s != 429)
    note(f"31 wrong + the right password concurrently: {tally(statuses)}")
    if checked > 5:
        problems.append(f"31 wrong + the right password concurrently: {checked} answers were not 429 "
                        f"({tally(statuses)})")
    check(problems)


def item_2(run):
    server = run.server("lockout", settings={"TRUSTED_PROXIES": "127.0.0.1"})
    problems = []
    owner = register(server, "Olga Owner", "atk_lockout_a")
    statuses = [login(server, owner.username, WRONG, xff=f"10.0.0.{n}").status
                for n in range(1, 9) for _ in range(5)]
    note(f"40 wrong logins from 8 forwarded addresses: {tally(statuses)}")
    started = time.monotonic()
    deadline = started + 15
    outcome, bad_waits, answers = None, [], []
    while True:
        answer = login(server, owner.username, owner.password, xff="10.9.9.9")
        answers.append(answer.status)
        if answer.status == 200:
            outcome = time.monotonic() - started
            break
        if answer.status != 429:
            break
        retry_after = answer.header("Retry-After")
        wait = int(retry_after) if retry_after and retry_after.strip().isdigit() else None
        if wait is None or wait > 10:
            bad_waits.append("none" if wait is None else str(wait))
            break  # honouring it would take longer than the 15 s allowed
        if time.monotonic() + max(wait, 1) > deadline:
            break
        time.sleep(max(wait, 1))
    note(f"owner from a new address: {answers}, Retry-After over 10 s: {bad_waits}")
    if outcome is None:
        why = f"answers {', '.join(map(str, answers))}"
        if bad_waits:
            why += f", Retry-After {', '.join(bad_waits)}"
        problems.append(f"after 40 wrong logins from 8 addresses ({tally(statuses)}) the owner, from a new "
                        f"address, was not let in within 15 s ({why})")
    elif bad_waits:
        problems.append(f"account-wide 429 with Retry-After {', '.join(bad_waits)} (over 10)")

    member = register(server, "Una Username", "atk_lockout_b")
    statuses = [login(server, member.username, WRONG, xff="10.0.3.3").status for _ in range(3)]
    statuses += [login(server, member.email, WRONG, xff="10.0.3.3").status for _ in range(3)]
    note(f"3 wrong by username + 3 by e-mail from one address: {statuses}")
    if statuses[5] != 429:
        problems.append(f"3 wrong logins by username then 3 by e-mail from one address answered "
                        f"{', '.join(map(str, statuses))}: the 6th was not throttled, so username and "
                        f"e-mail count separately")
    check(problems)


def runs(statuses):
    """`401 x5, 429 x1`: the statuses in order, repeats counted."""
    groups = []
    for status in statuses:
        if groups and groups[-1][0] == status:
            groups[-1][1] += 1
        else:
            groups.append([status, 1])
    return ", ".join(f"{s} x{n}" for s, n in groups)


def item_3(run):
    server = run.server("enumeration")
    # Not logged in: a login counts against the account's limits, and a stranger cannot know of it.
    by_name = register(server, "Erin Exists", "atk_enum_name", log_in=False)
    by_mail = register(server, "Eric Exists", "atk_enum_mail", log_in=False)
    sequences = {}
    for label, login_name in [("existing username", by_name.username), ("unknown username", "atk_nobody_here"),
                              ("existing e-mail", by_mail.email), ("unknown e-mail", "atk_nobody_here@example.com")]:
        sequences[label] = [login(server, login_name, WRONG).status for _ in range(6)]
        note(f"6 wrong logins, {label}: {sequences[label]}")
    problems = []
    for known, unknown in [("existing username", "unknown username"), ("existing e-mail", "unknown e-mail")]:
        if sequences[known] != sequences[unknown]:
            problems.append(f"6 failures from one address: {known} answered {runs(sequences[known])}; "
                            f"{unknown} {runs(sequences[unknown])}")

    # The account-wide limit too: 30 failures spread over 6 addresses (behind a trusted
    # proxy), then one more from a seventh.
    server = run.server("enumeration-proxy", settings={"TRUSTED_PROXIES": "127.0.0.1"})
    known = register(server, "Erin Exists", "atk_enum_spread", log_in=False)
    spread = {}
    for label, login_name in [("existing username", known.username), ("unknown username", "atk_nobody_spread")]:
        spread[label] = [login(server, login_name, WRONG, xff=f"10.3.{n}.1").status
                         for n in range(1, 7) for _ in range(5)]
        spread[label].append(login(server, login_name, WRONG, xff="10.3.7.1").status)
        note(f"31 wrong logins from 7 forwarded addresses, {label}: {runs(spread[label])}")
    if spread["existing username"] != spread["unknown username"]:
        problems.append(f"30 failures over 6 addresses then 1 from a 7th: existing username answered "
                        f"{runs(spread['existing username'])}; unknown username {runs(spread['unknown username'])}")
    check(problems)


def item_4(run):
    problems = []
    server = run.server("proxy", settings={"TRUSTED_PROXIES": "127.0.0.1"})
    first = register(server, "Pia Proxied", "atk_proxy_a")
    other = register(server, "Paul Proxied", "atk_proxy_b")
    statuses = [login(server, first.username, WRONG, xff="10.0.0.1").status for _ in range(5)]
    note(f"5 wrong logins from 10.0.0.1: {statuses}")
    answer = login(server, other.username, other.password, xff="10.0.0.2")
    if answer.status != 200:
        problems.append(f"another account from 10.0.0.2 after 5 failures from 10.0.0.1: {answer.describe()}")
    answer = login(server, first.username, first.password, xff="10.0.0.2")
    if answer.status != 200:
        problems.append(f"the same account from 10.0.0.2 after 5 failures from 10.0.0.1: {answer.status}")

    request = json.dumps(dict(username=other.username, password=other.password)).encode()
    data = (b"PROXY TCP4 10.1.2.3 127.0.0.1 5555 80\r\n"
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: " + str(len(request)).encode() + b"\r\n\r\n" + request)
    try:
        status, _, body = raw_exchange(server.port, data)
        note(f"PROXY protocol header then a login: {status}")
        if status != 200:
            problems.append(f"a login after a PROXY protocol header answered {status}")
    except (OSError, ValueError) as err:
        problems.append(f"a login after a PROXY protocol header got no answer ({err})")

    untrusted = run.server("noproxy")
    member = register(untrusted, "Sam Spoofed", "atk_spoof")
    statuses = [login(untrusted, member.username, WRONG, xff=f"10.0.0.{n}").status for n in range(11, 17)]
    note(f"6 wrong logins with 6 X-Forwarded-For values, no trusted proxy: {statuses}")
    if statuses[5] != 429:
        problems.append(f"without TRUSTED_PROXIES, 6 failures with 6 X-Forwarded-For values answered "
                        f"{', '.join(map(str, statuses))} (6th not 429)")
    check(problems)


def item_5(run):
    server = run.main()
    member = register(server, "Cora Content", "atk_ctype")
    problems = []
    kinds = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=atk"]
    for i, kind in enumerate(kinds):
        bodies = {"/login": dict(username=member.username, password=member.password),
                  "/register": dict(name="Cora Content", username=f"atk_ctype{i}", password=PASSWORD,
                                    email=f"atk_ctype{i}@example.com", terms_and_conditions_checked=True)}
        for path, body in bodies.items():
            answer = call(server.port, "POST", path, data=json.dumps(body).encode(), headers={"Content-Type": kind})
            note(f"POST {path} as {kind}: {answer.status}")
            if answer.status != 415:
                problems.append(f"POST {path} as {kind.split(';')[0]}: {answer.status}")
    check(problems)


def item_6(run):
    server = run.main()
    problems = []
    verified = register(server, "Rita Reset", "atk_reset")
    unverified = register(server, "Ugo Unverified", "atk_resend", verify=False)
    wait_link(server, unverified.email, CONFIRM_LINK)  # the registration's own mail first
    resets_before = len(mails_to(server, verified.email, r"reset|password"))
    verifications_before = len(mails_to(server, unverified.email, r"confirm|verif"))
    statuses = [call(server.port, "POST", "/user/forgot_password", dict(email=verified.email)).status
                for _ in range(30)]
    statuses += [call(server.port, "POST", "/user/resend_email", dict(email=unverified.email)).status
                 for _ in range(30)]
    time.sleep(3)
    resets = len(mails_to(server, verified.email, r"reset|password")) - resets_before
    verifications = len(mails_to(server, unverified.email, r"confirm|verif")) - verifications_before
    note(f"30 forgot_password: {resets} reset mails; 30 resend_email: {verifications} verification mails; "
         f"answers {tally(statuses)}")
    if resets > 3:
        problems.append(f"30 forgot_password calls sent {resets} reset mails")
    if verifications > 3:
        problems.append(f"30 resend_email calls sent {verifications} verification mails")

    timed = register(server, "Tim Timing", "atk_timing")
    known, unknown, answers = [], [], {"known": set(), "unknown": set()}
    for i in range(30):
        pair = [("known", timed.email), ("unknown", f"atk_ghost{i}@example.com")]
        for label, address in (pair if i % 2 == 0 else pair[::-1]):
            answer = call(server.port, "POST", "/user/forgot_password", dict(email=address))
            (known if label == "known" else unknown).append(answer.elapsed * 1000)
            answers[label].add((answer.status, answer.message()))
    known_median, unknown_median = statistics.median(known), statistics.median(unknown)
    ratio = max(known_median, unknown_median) / max(min(known_median, unknown_median), 1e-6)
    note(f"forgot_password median: known {known_median:.1f} ms, unknown {unknown_median:.1f} ms")
    if ratio >= 1.3:
        problems.append(f"forgot_password median latency: known address {known_median:.1f} ms, unknown "
                        f"{unknown_median:.1f} ms ({(ratio - 1) * 100:.0f}% apart)")
    if answers["known"] != answers["unknown"]:
        problems.append(f"forgot_password answers differ: known {sorted(answers['known'], key=str)}, "
                        f"unknown {sorted(answers['unknown'], key=str)}")
    check(problems)


def item_7(run):
    server = run.main()
    problems = []
    for i, address in enumerate(["x@-x.com", "x@x..com", ".x@x.com", "a..b@x.com"]):
        answer = call(server.port, "POST", "/register",
                      dict(name="Eve Address", username=f"atk_addr{i}", password=PASSWORD, email=address,
                           terms_and_conditions_checked=True))
        note(f"register with {address}: {answer.status}")
        if answer.status != 400:
            problems.append(f"{address} -> {answer.status}")
    check(problems)


def item_8(run):
    server = run.main()
    member = register(server, "Jay Script", "atk_script")
    problems = []
    for body, wanted in [({"photo_url": "javascript:alert(1)"}, 400), ({"resume_url": "javascript:alert(1)"}, 400),
                         ({"photo_url": "https://example.org/a.png"}, 200), ({"photo_url": ""}, 200)]:
        answer = call(server.port, "PUT", "/user", body, token=member.token)
        note(f"PUT /user {body}: {answer.status}")
        if answer.status != wanted:
            field, value = next(iter(body.items()))
            problems.append(f"{field} {value!r} -> {answer.status} (expected {wanted})")
    profile = call(server.port, "GET", "/user", token=member.token).json() or {}
    if profile.get("photo_url") not in (None, ""):
        problems.append(f"photo_url '' did not clear it (now {profile.get('photo_url')!r})")
    check(problems)


def count_series(server):
    answer = call(server.port, "GET", "/metrics")
    if answer.status != 200:
        raise SetupError(f"/metrics answered {answer.status} from 127.0.0.1 with the default settings")
    return sum(1 for line in answer.text().splitlines() if line.startswith("http_requests_total"))


def item_9(run):
    server = run.main()
    problems = []
    before = count_series(server)  # also: 200 from loopback by default
    rng = random.Random(4711)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    requests = [("".join(rng.choice(letters) for _ in range(3)) + str(rng.randint(0, 999)), "/health/live")
                for _ in range(300)]
    requests += [("GET", f"/atk-{rng.getrandbits(48):012x}") for _ in range(300)]

    def one(request):
        try:
            return call(server.port, request[0], request[1], timeout=5).status
        except OSError as err:
            return type(err).__name__

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(one, requests))
    after = count_series(server)
    note(f"http_requests_total series: {before} before, {after} after 600 odd requests ({tally(statuses)})")
    if after - before >= 20:
        problems.append(f"300 odd methods and 300 unknown paths added {after - before} http_requests_total series")

    restricted = run.server("metrics", settings={"METRICS_ALLOW": "10.0.0.0/8"})
    answer = call(restricted.port, "GET", "/metrics")
    note(f"/metrics from 127.0.0.1 with METRICS_ALLOW=10.0.0.0/8: {answer.status}")
    if answer.status == 200:
        problems.append("with METRICS_ALLOW=10.0.0.0/8, /metrics answered 200 to 127.0.0.1")
    check(problems)


def item_10(run):
    server = run.server("timeouts", settings={"HEADER_READ_TIMEOUT": "2s", "IDLE_TIMEOUT": "3s",
                                              "MAX_CONNECTIONS": "8"})
    problems = []

    # A client trickling one header line a second, never finishing its request.
    with socket.create_connection((HOST, server.port), timeout=5) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started, closed_after, line = time.monotonic(), None, 0
        while time.monotonic() - started < 8:
            waited = wait_closed(sock, 1.0)
            if waited is not None:
                closed_after = time.monotonic() - started
                break
            line += 1
            try:
                sock.sendall(b"X-Slow-%d: x\r\n" % line)
            except OSError:
                closed_after = time.monotonic() - started
                break
    note(f"slow headers: closed after {closed_after}")
    if closed_after is None or closed_after > 6:
        problems.append("a client sending one header line a second was " +
                        ("still connected after 8 s" if closed_after is None else f"closed only after {seconds(closed_after)}"))

    # An idle keep-alive connection after one full exchange.
    with socket.create_connection((HOST, server.port), timeout=5) as sock:
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, _, _ = read_http_response(sock, 5)
        idle = wait_closed(sock, 10)
    note(f"idle keep-alive after a {status}: closed after {idle}")
    if idle is None or idle > 8:
        problems.append("an idle keep-alive connection was " +
                        ("still open after 10 s" if idle is None else f"closed only after {seconds(idle)}"))

    # 20 idle connections against MAX_CONNECTIONS=8, then a fresh request.
    idle_sockets = []
    try:
        for _ in range(20):
            try:
                idle_sockets.append(socket.create_connection((HOST, server.port), timeout=2))
            except OSError:
                break
        started, answered, errors = time.monotonic(), None, []
        while time.monotonic() - started < 10 and answered is None:
            remaining = 10 - (time.monotonic() - started)
            try:
                status, _, _ = raw_exchange(server.port, b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                         b"Connection: close\r\n\r\n", timeout=remaining)
                if status == 200:
                    answered = time.monotonic() - started
                else:
                    errors.append(str(status))
                    time.sleep(0.2)
            except (OSError, ValueError) as err:
                errors.append(type(err).__name__)
                time.sleep(0.2)
        note(f"{len(idle_sockets)} idle connections open; /health/live answered after {answered} ({errors})")
        if answered is None:
            problems.append(f"with {len(idle_sockets)} idle connections open, /health/live did not answer within 10 s"
                            + (f" ({', '.join(dict.fromkeys(errors))})" if errors else ""))
    finally:
        for sock in idle_sockets:
            sock.close()
    check(problems)


def item_11(run):
    server = run.server("outage", settings={"DATABASE_ACQUIRE_TIMEOUT": "2s"})
    problems = []
    result = {}

    def attempt():
        try:
            result["answer"] = call(server.port, "POST", "/register",
                                    dict(name="Dora Down", username="atk_outage", password=PASSWORD,
                                         email="atk_outage@example.com", terms_and_conditions_checked=True),
                                    timeout=15)
        except OSError as err:
            result["error"] = err

    worker = threading.Thread(target=attempt, daemon=True)
    lock = sqlite3.connect(server.db_path, timeout=0, isolation_level=None)
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                lock.execute("BEGIN EXCLUSIVE")
                break
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise SetupError("could not take the exclusive lock on the database") from None
                time.sleep(0.1)
        locked_at = time.monotonic()
        worker.start()
        # The lock is held for 8 s whatever the server does meanwhile.
        worker.join(timeout=max(0.0, 8 - (time.monotonic() - locked_at)))
        time.sleep(max(0.0, 8 - (time.monotonic() - locked_at)))
    finally:
        try:
            lock.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        lock.close()
    released_at = time.monotonic()
    worker.join(timeout=16)
    answer = result.get("answer")
    if answer is None:
        problems.append(f"a registration during the outage got no answer ({result.get('error', 'still waiting')})")
    else:
        note(f"registration during the outage: {answer.describe()} after {seconds(answer.elapsed)}, "
             f"Retry-After {answer.header('Retry-After')}")
        shortcomings = []
        if answer.status != 503:
            shortcomings.append(f"answered {answer.status}")
        if answer.header("Retry-After") is None:
            shortcomings.append("no Retry-After")
        if answer.message() is None:
            shortcomings.append("no JSON message")
        if answer.elapsed > 4:
            shortcomings.append(f"took {answer.elapsed:.0f} s")
        if shortcomings:
            problems.append("a registration while the database was locked " + ", ".join(shortcomings))
    healthy = None
    while time.monotonic() - released_at < 5:
        try:
            if call(server.port, "GET", "/health", timeout=2).status == 200:
                healthy = True
                break
        except OSError:
            pass
        time.sleep(0.2)
    if not healthy:
        problems.append("/health was not 200 within 5 s of the release")
    answer = call(server.port, "POST", "/register",
                  dict(name="Dora Down", username="atk_outage_after", password=PASSWORD,
                       email="atk_outage_after@example.com", terms_and_conditions_checked=True))
    if answer.status != 201:
        problems.append(f"a registration after the release answered {answer.status}")
    check(problems)


def fetch_pages(run):
    server, world = run.main(), run.world()
    return {
        "/health": call(server.port, "GET", "/health"),
        "/login (400)": call(server.port, "POST", "/login", {}),
        "/docs/": call(server.port, "GET", "/docs/"),
        "reset page": call(server.port, "GET", "/user/reset_password/anything"),
        "invitation page": call(server.port, "GET", world.live_link),
    }


def item_12(run):
    problems = []
    for label, answer in fetch_pages(run).items():
        found = []
        if (answer.header("X-Content-Type-Options") or "").strip().lower() != "nosniff":
            found.append("no X-Content-Type-Options: nosniff")
        if "text/html" in (answer.header("Content-Type") or ""):
            found += csp_problems(", ".join(answer.headers.get_all("Content-Security-Policy") or []))
            if (answer.header("X-Frame-Options") or "").strip().upper() != "DENY":
                found.append("no X-Frame-Options: DENY")
            inline = Page(answer.text()).inline_scripts()
            if inline:
                found.append(f"{len(inline)} inline <script>")
        note(f"{label}: {answer.status} {answer.header('Content-Type')}: {found or 'fine'}")
        if found:
            problems.append(f"{label}: {', '.join(found)}")
    check(problems)


def item_13(run):
    pages = fetch_pages(run)
    problems = []
    for label in ("reset page", "invitation page"):
        answer = pages[label]
        if answer.status != 200:
            problems.append(f"{label} answered {answer.status}")
            continue
        page = Page(answer.text())
        for form in page.forms:
            method = form["attrs"].get("method", "(none)")
            if form["password"] and method.lower() != "post":
                problems.append(f"{label}: a password form with method {method}")
        if label == "invitation page" and not any("forgot_password" in href or "reset" in href for href in page.anchors):
            problems.append("invitation page: no link to a password reset page")
    check(problems)


def item_14(run):
    server, world = run.main(), run.world()
    answer = call(server.port, "GET", world.old_link)
    page = Page(answer.text())
    text = page.visible_text()
    sentences = re.findall(r"[^.!?]*[^\s.!?][^.!?]*[.!?](?=\s|$)", text)
    note(f"withdrawn link: {answer.status}, text: {text!r}")
    problems = []
    if world.place in text:
        problems.append(f"shows the meeting's place ({world.place})")
    if world.substitutes[1].name in text:
        problems.append("shows the new invitee's name")
    if "dl" in page.tags:
        problems.append("has the meeting's details list")
    if "form" in page.tags:
        problems.append("has a form")
    if len(sentences) > 2:
        problems.append(f"says {len(sentences)} sentences")
    if problems:
        raise Failed(f"the withdrawn invitation's link ({answer.status}) " + ", ".join(problems))


def item_15(run):
    problems = []
    # Mail to a folder: no confirmation token anywhere in the log.
    server, world = run.main(), run.world()
    call(server.port, "POST", "/user/forgot_password", dict(email=world.mentee.email))
    time.sleep(1)
    members = [world.mentor, world.mentee] + world.substitutes
    log = server.log_text()
    leaked = [m.username for m in members if m.confirm_token and m.confirm_token in log]
    if leaked:
        problems.append(f"with mail to a folder, {len(leaked)} of {len(members)} confirmation tokens are in the log")

    # Mail to the log: a warning at start; no confirmation token in the lines that are not mail.
    logged = run.server("logmail", mail="log")
    startup = logged.log_events()
    warned = any(str(event_field(e, "level") or "").upper().startswith("WARN")
                 and re.search(r"mail|smtp", str(event_field(e, "message") or "") + e["_line"], re.I)
                 for e in startup if "_raw" not in e)
    if not warned:
        problems.append("no warning at start that mail goes to the log")
    world = build_meeting(logged, "atk_logged", ["Lena Logsub"])
    invite(logged, world, world.substitutes[0])
    call(logged.port, "POST", "/user/forgot_password", dict(email=world.mentee.email))
    time.sleep(1)
    members = [world.mentor, world.mentee] + world.substitutes
    lines = [e["_line"] for e in logged.log_events() if not is_mail_dump(e)]
    leaked = [m.username for m in members if any(m.confirm_token in line for line in lines)]
    if leaked:
        problems.append(f"with mail to the log, {len(leaked)} of {len(members)} confirmation tokens are in "
                        f"request log lines")
    check(problems)


def item_16(run):
    folder = os.path.join(run.root, "permissions")
    os.makedirs(folder)
    server = run.server("permissions", secret=False, cwd=folder, umask=0o022,
                        database_url=f"sqlite://{folder}/data/m.db?mode=rwc")
    register(server, "Fay Files", "atk_files", verify=False)  # some writes, so the WAL exists
    problems = []
    expected = [("data/", os.path.join(folder, "data"), 0o700), ("data/secret_key", os.path.join(folder, "data", "secret_key"), 0o600),
                ("m.db", os.path.join(folder, "data", "m.db"), 0o600)]
    for suffix in ("-wal", "-shm"):
        path = os.path.join(folder, "data", "m.db" + suffix)
        if os.path.exists(path):
            expected.append(("m.db" + suffix, path, 0o600))
    for label, path, mode in expected:
        try:
            actual = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:
            problems.append(f"{label} missing")
            continue
        note(f"{label}: {actual:04o}")
        if actual != mode:
            problems.append(f"{label} is {actual:04o} (not {mode:04o})")
    check(problems)


def item_17(run):
    server = run.main()
    problems = []
    cases = [("valid", b"abc-123.DEF_4", True), ("spaces", b"abc 123 def", False),
             ("a tab", b"abc\tdef", False), ("non-ASCII", "caf\u00e9-\u2603".encode(), False),
             ("65 characters", b"a" * 65, False)]
    for label, value, echoed in cases:
        request = (b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: " + value +
                   b"\r\nConnection: close\r\n\r\n")
        try:
            status, headers, _ = raw_exchange(server.port, request)
        except (OSError, ValueError) as err:
            problems.append(f"{label}: no answer ({type(err).__name__})")
            continue
        answered = (headers.get("x-request-id") or [None])[0]
        note(f"X-Request-Id {value!r}: {status}, answered {answered!r}")
        if echoed:
            if answered != value:
                problems.append(f"{label} id answered as {answered!r}")
        elif answered is None:
            problems.append(f"{label}: answer ({status}) without X-Request-Id")
        elif answered == value or not re.fullmatch(rb"[A-Za-z0-9._-]+", answered):
            problems.append(f"{label}: echoed back" if answered == value else f"{label}: answered as {answered!r}")
    check(problems)


ITEMS = [
    (1, "atomic login throttle", item_1),
    (2, "strangers cannot lock a member out", item_2),
    (3, "throttle hides which accounts exist", item_3),
    (4, "client address behind a proxy", item_4),
    (5, "JSON-only login and registration", item_5),
    (6, "mail flooding and reset timing", item_6),
    (7, "malformed e-mail addresses", item_7),
    (8, "script URLs in profiles", item_8),
    (9, "bounded and restricted metrics", item_9),
    (10, "connection timeouts", item_10),
    (11, "database outage", item_11),
    (12, "security headers", item_12),
    (13, "password forms post", item_13),
    (14, "withdrawn invitation link", item_14),
    (15, "secrets out of logs", item_15),
    (16, "file permissions", item_16),
    (17, "request id sanitized", item_17),
]


def clean(text, run):
    """The observation without what changes between runs: the folder, ports, tokens."""
    text = text.replace(run.root, "<tmp>")
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:600]


def main():
    global VERBOSE, item_deadline
    args = sys.argv[1:]
    VERBOSE = "-v" in args
    keep = "--keep" in args
    wanted = {int(a) for a in args if a.isdigit()}
    if any(a not in ("-v", "--keep") and not a.isdigit() for a in args):
        print(__doc__, file=sys.stderr)
        return 2
    if not os.path.exists(BINARY):
        print(f"building {BINARY} (cargo build)...", file=sys.stderr, flush=True)
        if subprocess.call(["cargo", "build"], cwd=ROOT) != 0 or not os.path.exists(BINARY):
            print("cargo build failed", file=sys.stderr)
            return 2
    run = Run(keep)
    held, failed = [], []
    try:
        for number, name, function in ITEMS:
            if wanted and number not in wanted:
                continue
            item_deadline = time.monotonic() + ITEM_BUDGET
            try:
                function(run)
                outcome = "held"
                held.append(number)
            except Failed as err:
                outcome = "FAILED - " + clean(str(err), run)
                failed.append(number)
            except SetupError as err:
                outcome = "FAILED - could not be set up: " + clean(str(err), run)
                failed.append(number)
            except Exception as err:
                if VERBOSE:
                    traceback.print_exc()
                outcome = f"FAILED - error: {type(err).__name__}: " + clean(str(err), run)
                failed.append(number)
            run.end_item()
            print(f"item {number} ({name}): {outcome}", flush=True)
    finally:
        run.cleanup()
    total = len(held) + len(failed)
    if failed:
        print(f"summary: {len(held)} of {total} items held; FAILED: {', '.join(map(str, failed))}")
    else:
        print(f"summary: all {total} items held")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
