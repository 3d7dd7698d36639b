#!/usr/bin/env python3
"""The benchmark: seeds a database of a chosen size, drives the release server with wrk, and
writes a table (Markdown and JSON) per endpoint: req/s, p50, p99, errors, server RSS.

    bench/run.sh [--users 1000000] [--db sqlite|postgres|both] [--seconds 10] [--connections 16,64] [--soak-seconds 600]
                 [--repeat 3] [--only search,home] [--keep] [--database-url URL]

`--keep` leaves the seeded database in place and prints its URL; `--database-url` runs against
such a database again without seeding (with the same `--users`), e.g. to rerun one endpoint with
`--only`.

Server and load generator share this machine's cores, as the targets assume. Results go to
bench/results/<date>-<db>.{md,json}.
"""
import argparse
import datetime
import email
import glob
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# MENTORSHIP_BINARY runs another build (an older commit, to compare two in one sitting).
BINARY = os.environ.get("MENTORSHIP_BINARY") or os.path.join(ROOT, "target", "release", "mentorship")
PASSWORD = "bench-password"


def call(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def verification_link(mail_dir):
    for _ in range(100):
        for path in glob.glob(os.path.join(mail_dir, "*.eml")):
            for part in email.message_from_binary_file(open(path, "rb")).walk():
                if part.get_content_type() == "text/plain":
                    found = re.search(r"http://\S+/user/confirm_email/[A-Za-z0-9_-]+", part.get_payload(decode=True).decode())
                    if found:
                        return found.group(0)
        time.sleep(0.1)
    raise SystemExit("no verification mail")


def rss_mb(pid, field="VmRSS"):
    """The server's resident memory in MB; `field="RssAnon"` for its heap and stacks alone,
    without the pages of its own code and libraries (RssFile: clean, shared, ~13-15 MB here)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return 0.0


class Server:
    def __init__(self, env, work):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(env, BIND_ADDR=f"127.0.0.1:{self.port}", PUBLIC_URL=f"http://127.0.0.1:{self.port}", RUST_LOG="error")
        self.log = open(os.path.join(work, "server.log"), "w")
        self.process = subprocess.Popen([BINARY, "serve"], env=env, stdout=self.log, stderr=self.log)
        for _ in range(300):
            try:
                call("GET", self.base + "/health")
                return
            except Exception:
                time.sleep(0.1)
        raise SystemExit("the server did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait()


def run_sql(db_kind, url, sql):
    if db_kind == "postgres":
        subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True, stdout=subprocess.DEVNULL)
    else:
        path = url.split("sqlite://", 1)[1].split("?", 1)[0]
        subprocess.run([sys.executable, "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()", path, sql], check=True)


def warm(db_kind, url):
    """Reads the whole database into the operating system's cache. This machine's memory
    manager (DAMON) pages out what was not touched for a minute, so without this a run of
    random reads by id measures the disk, not the server; a database server whose memory holds
    the database keeps it cached."""
    if db_kind == "postgres":
        run_sql(db_kind, url, "CREATE EXTENSION IF NOT EXISTS pg_prewarm; "
                "SELECT sum(pg_prewarm(oid::regclass, 'read')) FROM pg_class "
                "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'i');")
    else:
        path = url.split("sqlite://", 1)[1].split("?", 1)[0]
        for name in (path, path + "-wal"):
            if os.path.exists(name):
                with open(name, "rb") as f:
                    while f.read(1 << 20):
                        pass


def wrk_command(base, path, token, seconds, connections, script=None, threads=2, cookie=None):
    # The timeout is above the server's own limit (a login waits 5 s at most for a hashing
    # slot, then gets 503): every request is answered by the server, none dropped by wrk.
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency",
               "-H", f"Authorization: Bearer {token}"]
    if cookie:
        # The console's pages: a session cookie, never the token (which they ignore).
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency",
                   "-H", f"Cookie: {cookie}"]
    if script:
        command += ["-s", script]
    return command + [base + path]


def wrk(base, path, token, seconds, connections, script=None, pid=None, threads=2, alongside=None, cookie=None):
    """Runs wrk (and, if given, another wrk command `alongside` it, whose output is returned
    too); returns req/s, p50 and p99 in ms, errors, and the peak server RSS (and heap)."""
    background = subprocess.Popen(alongside, stdout=subprocess.PIPE, text=True) if alongside else None
    peak = [0.0, 0.0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            peak[1] = max(peak[1], rss_mb(pid, "RssAnon"))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    output = subprocess.run(wrk_command(base, path, token, seconds, connections, script, threads, cookie),
                            capture_output=True, text=True).stdout
    other = background.communicate()[0] if background else None
    done.set()
    sampler.join()
    result = parse_wrk(output)
    result["rss_mb"] = round(peak[0], 1)
    result["heap_mb"] = round(peak[1], 1)
    if other is not None:
        result["alongside"] = parse_wrk(other)
    return result


def parse_wrk(output):
    def ms(label):
        found = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", output)
        if not found:
            return None
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return {"rps": rps, "p50_ms": ms("50"), "p99_ms": ms("99"), "errors": errors}


def console_cookie(base, prefix="/console", form_cookie="console_sign_in", session="console_session"):
    """Signs bench_user (made an admin) in to the console as a browser would: the sign-in form's
    CSRF token and cookie, then the form; returns the session cookie. With the member app's
    names ([`member_cookie`]), the same for the member web app."""
    import http.client
    from urllib.parse import urlencode, urlparse
    address = urlparse(base)
    connection = http.client.HTTPConnection(address.hostname, address.port)
    connection.request("GET", f"{prefix}/sign-in")
    response = connection.getresponse()
    page = response.read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    body = urlencode({"csrf": csrf, "username": "bench_user", "password": PASSWORD})
    connection.request("POST", f"{prefix}/sign-in", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"{form_cookie}={csrf}"})
    response = connection.getresponse()
    response.read()
    for header, value in response.getheaders():
        if header.lower() == "set-cookie" and value.startswith(f"{session}="):
            return value.split(";", 1)[0]
    raise SystemExit(f"{prefix} sign-in failed: {response.status}")


def member_cookie(base):
    """bench_user signed in to the member web app (its own session cookie)."""
    return console_cookie(base, "/app", "member_sign_in", "member_session")


def lua(work, name, body):
    path = os.path.join(work, name + ".lua")
    with open(path, "w") as f:
        f.write(body)
    return path


def write_mix(work, base, free_pairs, connections):
    """The write mix: one wrk thread per connection, so each connection waits for its answer and
    can follow one pair of members (not yet used, in no relation) through the relation's life:
    the mentee sends a request, the mentor lists their pending requests (to learn its id) and
    accepts it, the mentee creates a task, the mentor completes it, the mentee cancels the
    relation, and around again."""
    members = []
    for _ in range(connections):
        pair = next(free_pairs)
        mentor, mentee = 2 * pair + 1, 2 * pair + 2
        tokens = [call("POST", base + "/login", dict(username=f"member_{who}", password=PASSWORD))["access_token"]
                  for who in (mentor, mentee)]
        members.append(f'{{{mentor}, {mentee}, "{tokens[0]}", "{tokens[1]}"}}')
    time.sleep(3)  # these logins' hashing memory is freed 2 s after the last; not the writes' RSS
    end_date = int(time.time()) + 8 * 7 * 86400
    return lua(work, f"writes-{connections}", f"""
local pairs = {{ {", ".join(members)} }}
local made = 0
function setup(thread)
  thread:set("index", made)
  made = made + 1
end
function init(args)
  pair = pairs[index + 1]
  step = 0
  relation = 0
end
local function call(method, path, token, body)
  local headers = {{ ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }}
  return wrk.format(method, path, headers, body)
end
function request()
  local mentor, mentee, mentor_token, mentee_token = pair[1], pair[2], pair[3], pair[4]
  local r = "/mentorship_relation/" .. relation
  if step == 0 then
    return call("POST", "/mentorship_relation/send_request", mentee_token, string.format(
      '{{"mentor_id": %d, "mentee_id": %d, "end_date": {end_date}, "notes": "bench"}}', mentor, mentee))
  elseif step == 1 then return call("GET", "/mentorship_relations/pending", mentor_token)
  elseif step == 2 then return call("PUT", r .. "/accept", mentor_token)
  elseif step == 3 then return call("POST", r .. "/task", mentee_token, '{{"description": "bench task"}}')
  elseif step == 4 then return call("PUT", r .. "/task/1/complete", mentor_token)
  else return call("PUT", r .. "/cancel", mentee_token) end
end
function response(status, headers, body)
  if step == 1 then relation = tonumber(body:match('"id"%s*:%s*(%d+)')) or 0 end
  step = (step + 1) % 6
end
""")


JOB_MEMBERS = 200_000


def jobs_bench(db_kind):
    """Times the reminder, completion and deletion jobs over 100,000 due rows each: 200,000 members
    seeded as for the endpoints, then the first 100,000 relations accepted and past their end
    date, each with a confirmed meeting twelve hours after the jobs' `--now` (a day-before
    reminder to each party), and the members above id 100,000 unverified since long ago. Returns each job's duration as the
    command prints it."""
    work = tempfile.mkdtemp(prefix=f"mentorship-jobs-{db_kind}-")
    name = None
    if db_kind == "postgres":
        name = f"mentorship_jobs_{os.getpid()}"
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
        url = f"postgres://postgres@127.0.0.1:5432/{name}?sslmode=disable"
    else:
        url = f"sqlite://{work}/jobs.db?mode=rwc"
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench-secret-0123456789abcdef0123456789abc",
               SMTP_URL=f"file://{work}/mail", RUST_LOG="warn")
    subprocess.run([BINARY, "migrate"], env=env, check=True, capture_output=True)
    seed = open(os.path.join(ROOT, "bench", "seed.sql")).read().replace(":NOW", str(int(time.time()))) \
        .replace(":N", str(JOB_MEMBERS))
    run_sql(db_kind, url, "INSERT INTO users (name, username, email, password_hash, registration_date, "
            "terms_and_conditions_checked, is_email_verified) VALUES ('Bench User', 'bench_user', "
            "'bench@example.com', 'x', 0, TRUE, TRUE);\n" + seed + """
UPDATE mentorship_relations SET state = 2, end_date = 1710000000.0 WHERE id <= 100000;
DELETE FROM current_relations;
INSERT INTO current_relations (user_id, relation_id)
    SELECT mentor_id, id FROM mentorship_relations WHERE state = 2
    UNION ALL SELECT mentee_id, id FROM mentorship_relations WHERE state = 2;
UPDATE users SET is_email_verified = FALSE, registration_date = 1600000000.0 WHERE id > 100000;
INSERT INTO meetings (relation_id, mentor_id, mentee_id, proposer_id, start_date, end_date, state, created_at,
    updated_at)
SELECT id, mentor_id, mentee_id, mentee_id, 1798804800.0, 1798808400.0, 'confirmed', 1700000000.0, 1700000000.0
FROM mentorship_relations WHERE id <= 100000;
ANALYZE;""")
    if db_kind == "postgres":
        run_sql(db_kind, url, "VACUUM ANALYZE;")
    timings = {}
    # The reminders first: completing the relations cancels their meetings ahead.
    for job in ("remind-meetings", "complete-relations", "delete-unverified-users"):
        # The command then delivers the mail it queued for up to 30 s; not part of the job.
        process = subprocess.Popen([BINARY, "jobs", "run", job, "--now", "2027-01-01T00:00:00Z"], env=env,
                                   stdout=subprocess.PIPE, text=True)
        for line in process.stdout:
            found = re.match(rf"{job}: (\d+) rows changed in ([\d.]+) s", line)
            if found:
                timings[job] = {"rows": int(found.group(1)), "seconds": float(found.group(2))}
                process.terminate()
                break
        process.wait()
        print(f"  job {job}: {timings.get(job)}", flush=True)
    if name:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE {name} WITH (FORCE)"])
    return timings


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else round((values[middle - 1] + values[middle]) / 2, 2)


def bench(db_kind, users, seconds, connection_levels, soak_seconds, only=None, keep=False, reuse_url=None,
          repeat=3):
    work = tempfile.mkdtemp(prefix=f"mentorship-bench-{db_kind}-")
    mail_dir = os.path.join(work, "mail")
    name = None
    if reuse_url:
        url = reuse_url
    elif db_kind == "postgres":
        name = f"mentorship_bench_{os.getpid()}"
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
        # PostgreSQL on this machine, over loopback without TLS, as one would configure a
        # database on the same host: TLS on every query cost a quarter of the search's
        # throughput here (RESULTS.md). Over a network, keep TLS (sslmode=require or stronger).
        url = f"postgres://postgres@127.0.0.1:5432/{name}?sslmode=disable"
    else:
        url = f"sqlite://{work}/bench.db?mode=rwc"
    # Run as deploy/mentorship.service does, allocator settings included.
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench-secret-0123456789abcdef0123456789abc",
               SMTP_URL=f"file://{mail_dir}", ACCESS_TOKEN_TTL="12h", MIMALLOC_PURGE_DELAY="0",
               MIMALLOC_ARENA_EAGER_COMMIT="0")
    subprocess.run([BINARY, "migrate"], env=env, check=True, capture_output=True)

    seeding = 0
    if not reuse_url:
        server = Server(env, work)
        call("POST", server.base + "/register", dict(name="Bench User", username="bench_user", email="bench@example.com",
             password=PASSWORD, terms_and_conditions_checked=True, available_to_mentor=True))
        call("GET", verification_link(mail_dir))
        server.stop()

        started = time.time()
        seed = open(os.path.join(ROOT, "bench", "seed.sql")).read().replace(":NOW", str(int(time.time()))).replace(":N", str(users))
        run_sql(db_kind, url, seed + "\nANALYZE;")
        if db_kind == "postgres":
            # A bulk load leaves the visibility map unset until autovacuum passes; production
            # tables are vacuumed, so is this one (index-only scans depend on it).
            run_sql(db_kind, url, "VACUUM ANALYZE;")
            # Flush what the load and the vacuum dirtied now, rather than in a checkpoint that
            # would stall the write mix's commits minutes later.
            run_sql(db_kind, url, "CHECKPOINT;")
        # A production database has had its nightly compaction of the search index (the bulk
        # seed leaves SQLite's in ten pieces); the same command the scheduler runs.
        subprocess.run([BINARY, "jobs", "run", "optimize-search-index"], env=env, check=True, capture_output=True)
        # The console's substitute figures and filters: one meeting in ten had an invitation,
        # which ended one way or another.
        run_sql(db_kind, url, """
INSERT INTO substitute_invitations (meeting_id, invitee_id, status, nonce_hash, invited_at, expires_at, ended_at)
SELECT id, mentor_id, CASE id % 4 WHEN 0 THEN 'withdrawn' WHEN 1 THEN 'expired' WHEN 2 THEN 'rejected'
    ELSE 'replaced' END, 'bench', created_at, created_at + 86400, created_at + 3600
FROM meetings WHERE id % 10 = 0;
ANALYZE;""")
        seeding = time.time() - started
        print(f"{db_kind}: seeded {users} users, {users} relations, {5 * users} tasks in {seeding:.0f} s", flush=True)

    # The console is for admins: bench_user is one (the operator's command, idempotent).
    subprocess.run([BINARY, "admin", "grant", "bench_user"], env=env, check=True, capture_output=True)
    server = Server(env, work)
    pid = server.process.pid
    token = call("POST", server.base + "/login", dict(username="bench_user", password=PASSWORD))["access_token"]
    time.sleep(3)  # the password hasher frees its working memory 2 s after the last login
    idle_rss = rss_mb(pid)
    random_user = lua(work, "user", f"request = function() return wrk.format('GET', '/users/' .. math.random(2, {users})) end")
    search = lua(work, "search", """
local terms = {"ada", "gra", "lan", "inu", "bar", "sge", "ona", "fra", "ken", "den", "rad", "sha", "esl", "tim", "mar",
               "mit", "arc", "oka", "tan", "ngu", "oss", "kow", "had", "ilv", "iva", "lar", "mor"}
request = function()
  return wrk.format("GET", "/users?search=" .. terms[math.random(#terms)] .. "&page=" .. math.random(1, 5) .. "&per_page=20")
end""")
    console_search = lua(work, "console-search", """
local terms = {"ada", "gra", "lan", "inu", "bar", "sge", "ona", "fra", "ken", "den", "rad", "sha", "esl", "tim", "mar"}
request = function()
  return wrk.format("GET", "/console/members?q=" .. terms[math.random(#terms)])
end""")
    member_search = lua(work, "member-search", """
local terms = {"ada", "gra", "lan", "inu", "bar", "sge", "ona", "fra", "ken", "den", "rad", "sha", "esl", "tim", "mar"}
request = function()
  return wrk.format("GET", "/app/members?search=" .. terms[math.random(#terms)])
end""")
    # A common skill (one member in eight) on a random page, or now and then a rare one (one in 10,007).
    skills = """
local words = {"rust", "python", "sql", "databases", "design", "android", "ios", "flutter", "security", "testing",
               "devops", "cloud", "data", "web", "career", "writing", "haskell"}
request = function()
  return wrk.format("GET", "%s" .. words[math.random(#words)] .. "&page=" .. math.random(1, 5))
end"""
    skill_search = lua(work, "skill-search", skills % "/users?per_page=20&skills=")
    member_skills = lua(work, "member-skills", skills % "/app/members?skills=")
    member_page = lua(work, "member-page",
                      f"request = function() return wrk.format('GET', '/app/members/' .. math.random(2, {users})) end")
    console_member = lua(work, "console-member",
                         f"request = function() return wrk.format('GET', '/console/members/' .. math.random(2, {users})) end")
    login = lua(work, "login", f"""wrk.method = "POST"
wrk.body = '{{"username": "bench_user", "password": "{PASSWORD}"}}'
wrk.headers["Content-Type"] = "application/json"
""")
    # bench_user mentors member 2 (the seed's first pair), with a confirmed meeting next week.
    meeting_id = call("GET", server.base + "/meetings", token=token)[0]["id"]
    cookie = console_cookie(server.base)
    app_cookie = member_cookie(server.base)
    relation_id = call("GET", server.base + "/mentorship_relations/current", token=token)["id"]
    # The first view counts the overview's figures; the runs then read its snapshot.
    urllib.request.urlopen(urllib.request.Request(server.base + "/console", headers={"Cookie": cookie})).read()
    free_pairs = iter(p for p in range(1, users // 2) if p % 10 not in (0, 1))
    endpoints = [
        ("GET /health/live", "/health/live", None),
        ("GET /health", "/health", None),
        ("GET /users/<id>", "/", random_user),
        ("GET /users?search=<3 letters>", "/", search),
        ("GET /users?skills=<word>", "/", skill_search),
        ("GET /users/verified", "/users/verified", None),
        ("GET /user", "/user", None),
        ("GET /mentorship_relations", "/mentorship_relations", None),
        ("GET /home", "/home", None),
        ("GET /meetings", "/meetings", None),
        ("GET /meeting/<id>/substitute_candidates", f"/meeting/{meeting_id}/substitute_candidates", None),
        ("console: overview", "/console", None),
        ("console: members", "/console/members", None),
        ("console: members?admin=yes&verified=yes", "/console/members?admin=yes&verified=yes", None),
        ("console: members?q=<3 letters>", "/", console_search),
        ("console: members/<id>", "/", console_member),
        ("console: relations?state=accepted", "/console/relations?state=accepted", None),
        ("console: meetings?state=confirmed", "/console/meetings?state=confirmed", None),
        ("console: meetings?substitute=withdrawn", "/console/meetings?substitute=withdrawn", None),
        ("console: meetings/<id>", f"/console/meetings/{meeting_id}", None),
        ("console: mail", "/console/mail", None),
        ("console: jobs", "/console/jobs", None),
        ("member: home", "/app", None),
        ("member: profile", "/app/profile", None),
        ("member: members", "/app/members", None),
        ("member: members?available_to_mentor", "/app/members?available_to_mentor=true", None),
        ("member: members?search=<3 letters>", "/", member_search),
        ("member: members?skills=<word>", "/", member_skills),
        ("member: members/<id>", "/", member_page),
        ("member: relations", "/app/relations", None),
        ("member: relations/<id>", f"/app/relations/{relation_id}", None),
        ("member: meetings/<id> (candidates)", f"/app/meetings/{meeting_id}", None),
        ("member: invitations", "/app/invitations", None),
        ("POST /login", "/login", login),
        ("writes: request, accept, task, complete, cancel", "/", "writes"),
    ]
    if only:
        endpoints = [e for e in endpoints if any(word in e[0] for word in only)]
    def measured(label, connections, run):
        """`repeat` times: the ceiling for 3 s, then the endpoint; the medians of the runs, each
        ratio taken to the ceiling measured just before it (this machine's speed drifts by
        half within minutes: a ceiling measured once would not fit later endpoints)."""
        runs = []
        for _ in range(repeat):
            warm(db_kind, url)
            ceiling = wrk(server.base, "/health/live", token, 3, connections, None, pid)["rps"]
            result = run()
            result["share"] = 100 * result["rps"] / ceiling
            runs.append(result)
        row = {key: median([r[key] for r in runs]) for key in ("rps", "share", "p50_ms", "p99_ms")}
        row.update(errors=sum(r["errors"] for r in runs), rss_mb=max(r["rss_mb"] for r in runs),
                   heap_mb=max(r["heap_mb"] for r in runs),
                   endpoint=label, connections=connections, runs=runs)
        if "alongside" in runs[0]:
            row["alongside"] = {key: median([r["alongside"][key] for r in runs]) for key in ("rps", "p50_ms", "p99_ms")}
            row["alongside"]["errors"] = sum(r["alongside"]["errors"] for r in runs)
        return row

    rows = []
    for connections in connection_levels:
        for label, path, script in endpoints:
            def run(path=path, script=script):
                if script == "writes":
                    mix = write_mix(work, server.base, free_pairs, connections)
                    return wrk(server.base, path, token, seconds, connections, mix, pid, connections)
                page_cookie = cookie if label.startswith("console") else \
                    app_cookie if label.startswith("member") else None
                return wrk(server.base, path, token, seconds, connections, script, pid, cookie=page_cookie)
            result = measured(label, connections, run)
            rows.append(result)
            print(f"  {label:34} c={connections:<3} {result['rps']:>9.0f} req/s {result['share']:5.1f} %  "
                  f"p50 {result['p50_ms']} ms  p99 {result['p99_ms']} ms  errors {result['errors']}  "
                  f"rss {result['rss_mb']} MB (heap {result['heap_mb']})", flush=True)
    if not only or "flood" in only:
        # Reads by id while 64 logins at a time hash passwords: the reads must not starve.
        flood = measured("GET /users/<id> during a flood of 64 logins", 16, lambda: wrk(
            server.base, "/", token, seconds, 16, random_user, pid,
            alongside=wrk_command(server.base, "/login", token, seconds, 64, login)))
        rows.append(flood)
        logins = flood["alongside"]
        print(f"  login flood: /users/<id> p99 {flood['p99_ms']} ms, {flood['rps']:.0f} req/s; logins {logins['rps']:.0f}/s "
              f"p99 {logins['p99_ms']} ms, errors {logins['errors']}; peak rss {flood['rss_mb']} MB", flush=True)
    time.sleep(3)
    after_flood_rss = rss_mb(pid)
    soak = []
    if soak_seconds:
        # Reads for a while, the RSS sampled every 30 s: it must stay flat.
        endless = wrk_command(server.base, "/", token, soak_seconds, 16, random_user)
        process = subprocess.Popen(endless, stdout=subprocess.DEVNULL)
        started = time.time()
        while process.poll() is None:
            soak.append((round(time.time() - started), round(rss_mb(pid), 1)))
            time.sleep(30)
        print(f"  soak: rss over time {soak}", flush=True)
    after_rss = rss_mb(pid)
    server.stop()
    if keep and not reuse_url:
        print(f"  kept the database: --database-url '{url}'", flush=True)
    elif name:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE {name} WITH (FORCE)"])
    jobs = jobs_bench(db_kind) if not only or "jobs" in only else {}
    return {"db": db_kind, "users": users, "seconds_per_run": seconds, "repeat": repeat,
            "seeding_seconds": round(seeding), "jobs": jobs,
            "idle_rss_mb": round(idle_rss, 1), "after_flood_rss_mb": round(after_flood_rss, 1),
            "soak_rss_mb": soak, "final_rss_mb": round(after_rss, 1), "rows": rows}


def markdown(result):
    after = "the login flood" if any("alongside" in r for r in result["rows"]) else "the last run"
    lines = [f"### {result['db']}, {result['users']:,} users (seeded in {result['seeding_seconds']} s; "
             f"RSS idle {result['idle_rss_mb']} MB, 3 s after {after} {result['after_flood_rss_mb']} MB, "
             f"at the end {result['final_rss_mb']} MB)", "",
             f"Medians of {result['repeat']} runs of {result['seconds_per_run']} s; each run's share is to "
             "/health/live measured just before it.", "",
             "| endpoint | conns | req/s | % of /health/live | p50 ms | p99 ms | errors | peak RSS MB | of it heap MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        lines.append(f"| {r['endpoint']} | {r['connections']} | {r['rps']:.0f} | {r['share']:.1f} % | {r['p50_ms']} | "
                     f"{r['p99_ms']} | {r['errors']} | {r['rss_mb']} | {r['heap_mb']} |")
        if "alongside" in r:
            a = r["alongside"]
            lines.append(f"| ... the 64 logins meanwhile | 64 | {a['rps']:.0f} | | {a['p50_ms']} | {a['p99_ms']} | "
                         f"{a['errors']} | | |")
    if result["soak_rss_mb"]:
        lines += ["", "RSS under 16 connections of reads (seconds, MB): "
                  + ", ".join(f"{t} s: {mb}" for t, mb in result["soak_rss_mb"])]
    if result.get("jobs"):
        lines += ["", f"Jobs on {JOB_MEMBERS:,} members (`mentorship jobs run <job> --now`, release build): "
                  + "; ".join(f"{job}: {t['rows']:,} rows in {t['seconds']} s" for job, t in result["jobs"].items())]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", default="16,64")
    parser.add_argument("--soak-seconds", type=int, default=0, help="read load this long at the end, RSS sampled")
    parser.add_argument("--repeat", type=int, default=3, help="runs per endpoint; the medians are reported")
    parser.add_argument("--only", help="comma-separated words: run only the endpoints whose label contains one "
                        "(e.g. search,home; 'flood' for the login flood)")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database and print its URL")
    parser.add_argument("--database-url", help="run against a database kept by --keep (same --users), no seeding")
    args = parser.parse_args()
    if args.database_url and args.db == "both":
        args.db = "postgres" if args.database_url.startswith("postgres") else "sqlite"
    users = args.users - args.users % 2
    levels = [int(c) for c in args.connections.split(",")]
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    for db_kind in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        only = args.only.split(",") if args.only else None
        result = bench(db_kind, users, args.seconds, levels, args.soak_seconds, only, args.keep, args.database_url,
                       args.repeat)
        result["date"] = stamp
        result["machine"] = f"{os.cpu_count()} cores shared by server and load generator"
        # A partial run is named after what it ran, so it never overwrites another of the day.
        stem = os.path.join(ROOT, "bench", "results", f"{stamp}-{db_kind}-{users}"
                            + ("-only-" + re.sub(r"[^a-z0-9]+", "-", "-".join(only).lower()).strip("-")
                               if only else ""))
        with open(stem + ".json", "w") as f:
            json.dump(result, f, indent=2)
        with open(stem + ".md", "w") as f:
            f.write(markdown(result))
        print(markdown(result))


if __name__ == "__main__":
    main()
