#!/usr/bin/env python3
"""The benchmark: seeds a database of a chosen size, drives the release server with wrk, and
writes a table (Markdown and JSON) per endpoint: req/s, p50, p99, errors, server RSS.

    bench/run.sh [--users 1000000] [--db sqlite|postgres|both] [--seconds 10] [--connections 16,64]

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
BINARY = os.path.join(ROOT, "target", "release", "mentorship")
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


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
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
        subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True)
    else:
        path = url.split("sqlite://", 1)[1].split("?", 1)[0]
        subprocess.run([sys.executable, "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()", path, sql], check=True)


def wrk(base, path, token, seconds, connections, script=None, pid=None):
    """Runs wrk; returns req/s, p50 and p99 in ms, errors, and the peak server RSS."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {token}"]
    if script:
        command += ["-s", script]
    command.append(base + path)
    peak = [0.0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    output = subprocess.run(command, capture_output=True, text=True).stdout
    done.set()
    sampler.join()

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
    return {"rps": rps, "p50_ms": ms("50"), "p99_ms": ms("99"), "errors": errors, "rss_mb": round(peak[0], 1)}


def lua(work, name, body):
    path = os.path.join(work, name + ".lua")
    with open(path, "w") as f:
        f.write(body)
    return path


def bench(db_kind, users, seconds, connection_levels):
    work = tempfile.mkdtemp(prefix=f"mentorship-bench-{db_kind}-")
    mail_dir = os.path.join(work, "mail")
    if db_kind == "postgres":
        name = f"mentorship_bench_{os.getpid()}"
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
        url = f"postgres://postgres@127.0.0.1:5432/{name}"
    else:
        url = f"sqlite://{work}/bench.db?mode=rwc"
    # Run as deploy/mentorship.service does, allocator settings included.
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench-secret-0123456789abcdef0123456789abc",
               SMTP_URL=f"file://{mail_dir}", ACCESS_TOKEN_TTL="12h", MIMALLOC_PURGE_DELAY="0",
               MIMALLOC_ARENA_EAGER_COMMIT="0")
    subprocess.run([BINARY, "migrate"], env=env, check=True, capture_output=True)

    server = Server(env, work)
    call("POST", server.base + "/register", dict(name="Bench User", username="bench_user", email="bench@example.com",
         password=PASSWORD, terms_and_conditions_checked=True, available_to_mentor=True))
    call("GET", verification_link(mail_dir))
    server.stop()

    started = time.time()
    seed = open(os.path.join(ROOT, "bench", "seed.sql")).read().replace(":NOW", str(int(time.time()))).replace(":N", str(users))
    run_sql(db_kind, url, seed + ("\nANALYZE;" if db_kind == "sqlite" else "\nVACUUM ANALYZE;" if False else "\nANALYZE;"))
    seeding = time.time() - started
    print(f"{db_kind}: seeded {users} users, {users} relations, {5 * users} tasks in {seeding:.0f} s", flush=True)

    server = Server(env, work)
    pid = server.process.pid
    token = call("POST", server.base + "/login", dict(username="bench_user", password=PASSWORD))["access_token"]
    idle_rss = rss_mb(pid)
    random_user = lua(work, "user", f"request = function() return wrk.format('GET', '/users/' .. math.random(2, {users})) end")
    search = lua(work, "search", """
local terms = {"ada", "gra", "lan", "inu", "bar", "sge", "ona", "fra", "ken", "den", "rad", "sha", "esl", "tim", "mar",
               "mit", "arc", "oka", "tan", "ngu", "oss", "kow", "had", "ilv", "iva", "lar", "mor"}
request = function()
  return wrk.format("GET", "/users?search=" .. terms[math.random(#terms)] .. "&page=" .. math.random(1, 5) .. "&per_page=20")
end""")
    login = lua(work, "login", f"""wrk.method = "POST"
wrk.body = '{{"username": "bench_user", "password": "{PASSWORD}"}}'
wrk.headers["Content-Type"] = "application/json"
""")
    writes = lua(work, "writes", """
local n = 0
request = function()
  n = n + 1
  local headers = { ["Content-Type"] = "application/json", ["Authorization"] = wrk.headers["Authorization"] }
  if n % 2 == 1 then
    return wrk.format("POST", "/mentorship_relation/1/task", headers, '{"description": "bench task"}')
  end
  return wrk.format("POST", "/mentorship_relation/1/task/1/comment", headers, '{"comment": "bench comment"}')
end""")
    endpoints = [
        ("GET /health/live", "/health/live", None),
        ("GET /health", "/health", None),
        ("GET /users/<id>", "/", random_user),
        ("GET /users?search=<3 letters>", "/", search),
        ("GET /users/verified", "/users/verified", None),
        ("GET /user", "/user", None),
        ("GET /mentorship_relations", "/mentorship_relations", None),
        ("GET /home", "/home", None),
        ("GET /meetings", "/meetings", None),
        ("POST /login", "/login", login),
        ("writes: create task / comment", "/", writes),
    ]
    rows = []
    for connections in connection_levels:
        for label, path, script in endpoints:
            result = wrk(server.base, path, token, seconds, connections, script, pid)
            result.update(endpoint=label, connections=connections)
            rows.append(result)
            print(f"  {label:34} c={connections:<3} {result['rps']:>9.0f} req/s  p50 {result['p50_ms']} ms  "
                  f"p99 {result['p99_ms']} ms  errors {result['errors']}  rss {result['rss_mb']} MB", flush=True)
    after_rss = rss_mb(pid)
    server.stop()
    if db_kind == "postgres":
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE {name} WITH (FORCE)"])
    return {"db": db_kind, "users": users, "seconds_per_run": seconds, "seeding_seconds": round(seeding),
            "idle_rss_mb": round(idle_rss, 1), "final_rss_mb": round(after_rss, 1), "rows": rows}


def markdown(result):
    base = {c: next(r["rps"] for r in result["rows"] if r["endpoint"] == "GET /health/live" and r["connections"] == c)
            for c in {r["connections"] for r in result["rows"]}}
    lines = [f"### {result['db']}, {result['users']:,} users (seeded in {result['seeding_seconds']} s; "
             f"RSS idle {result['idle_rss_mb']} MB, at the end {result['final_rss_mb']} MB)", "",
             "| endpoint | conns | req/s | % of /health/live | p50 ms | p99 ms | errors | peak RSS MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        share = 100 * r["rps"] / base[r["connections"]]
        lines.append(f"| {r['endpoint']} | {r['connections']} | {r['rps']:.0f} | {share:.1f} % | {r['p50_ms']} | "
                     f"{r['p99_ms']} | {r['errors']} | {r['rss_mb']} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", default="16,64")
    args = parser.parse_args()
    users = args.users - args.users % 2
    levels = [int(c) for c in args.connections.split(",")]
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    for db_kind in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        result = bench(db_kind, users, args.seconds, levels)
        result["date"] = stamp
        result["machine"] = f"{os.cpu_count()} cores shared by server and load generator"
        stem = os.path.join(ROOT, "bench", "results", f"{stamp}-{db_kind}-{users}")
        with open(stem + ".json", "w") as f:
            json.dump(result, f, indent=2)
        with open(stem + ".md", "w") as f:
            f.write(markdown(result))
        print(markdown(result))


if __name__ == "__main__":
    main()
