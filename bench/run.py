"""`make bench`: Latchkey and vanilla django-oauth-toolkit under the same load, side by side, under
gunicorn and under granian (the production server, config/serve.py).

For each project: a fresh PostgreSQL database, migrations, seed data (bench/seed.py); then, for each
HTTP server, that server with one worker pinned to CPU 0 (gunicorn: gthread, 8 threads; granian:
WSGI, 8 blocking threads, 1 runtime thread: config/serve.py's settings for one worker), and
`wrk -t1 -c8` pinned to CPU 1 against each endpoint (Latchkey's client credentials twice: opaque, and
`client_credentials_jwt`, with `resource=` an API resource whose access tokens are JWTs, which the
warm-up checks before timing; vanilla DOT has no such line). Prints a table per server of req/s, p50, p99
and errors (non-2xx responses + socket errors) with the ratio Latchkey / DOT, and each worker's
memory (VmRSS and its peak, VmHWM, read from /proc after the project's runs), then the ceilings of
the same core measured the same way at the start of every round (bench/ceiling under each server: a
bare WSGI function, and a Django view with no middleware and no database), which say how fast this
machine is, and every figure as a share of the gunicorn Django ceiling (what the issues' targets
are stated in) and of the granian one. Settings (environment variables, or the flags of `--help`):

  BENCH_DURATION   seconds per endpoint and round (default 10)
  BENCH_ROUNDS     rounds per endpoint; the table shows the median of the rounds (default 1)
  BENCH_SMOKE=1    one 1-second round with few codes: checks the bench still works (CI)
  BENCH_SERVERS    comma-separated, gunicorn and/or granian (default both, in that order)
  BENCH_WORKER     gunicorn worker class, gthread or sync (default gthread, see docs/benchmarks.md)
  BENCH_PG_URL     PostgreSQL server to create the databases on (default postgres://postgres@127.0.0.1:5432)
  BENCH_PORT       first of the six ports used (default 18200: Latchkey, DOT, the four ceilings)
  BENCH_JSON       also write every figure to this JSON file
  BENCH_STORED_TOKENS  stored access tokens (each with its refresh token and code) seeded in bulk into
                   each project's tables before measuring (default 10000; e.g. 1000000: the issue's
                   "within 10 % from 10 k to 1 M stored tokens")
  BENCH_CACHE_URL  the cache Latchkey's server uses: "none" (default: its per-process LocMemCache, the one
                   worker keeping its scopes, LATCHKEY_PROCESS_MEMO=on) or a Redis URL such as
                   redis://127.0.0.1:6379/14, as production with several app servers has (docs/benchmarks.md:
                   every cache read through Django's Redis backend costs ~190 µs of CPU)
  BENCH_ID_TOKEN_ALGORITHM  ES256 or RS256: how Latchkey's web client has its ID tokens signed (default
                   ES256: issue 6 asks to prefer ES256 where a client allows it; vanilla DOT signs RS256)
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_plus, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LUA = ROOT / "bench" / "wrk" / "bench.lua"
CONNECTIONS = 8
THREADS = 8  # per worker, both servers: gunicorn gthread threads, granian blocking threads (config/serve.py's default)
SERVERS = ["gunicorn", "granian"]
CONN_MAX_AGE = "600"  # persistent connections, the same for both servers
ENDPOINTS = [
    "client_credentials",
    "client_credentials_jwt",  # Latchkey only: an API resource with JWT access tokens (RFC 9068), no row written
    "introspection",
    "userinfo",
    "discovery",
    "jwks",
    "code_exchange",
    "refresh",
]
SINGLE_USE = {"code_exchange": "codes.txt", "refresh": "refresh_tokens.txt"}
# What this core serves at all (bench/ceiling), measured at the start of every round: (label, server, WSGI app).
DJANGO_CEILING = "gunicorn + Django (one view, no middleware, no database)"
GRANIAN_DJANGO_CEILING = "granian + Django (one view, no middleware, no database)"
CEILINGS = [
    ("gunicorn alone (a WSGI function, constant body)", "gunicorn", "bench.ceiling.wsgi:bare"),
    (DJANGO_CEILING, "gunicorn", "bench.ceiling.wsgi:application"),
    ("granian alone (a WSGI function, constant body)", "granian", "bench.ceiling.wsgi:bare"),
    (GRANIAN_DJANGO_CEILING, "granian", "bench.ceiling.wsgi:application"),
]


@dataclass(frozen=True)
class Target:
    name: str
    settings: str
    wsgi: str
    db_prefix: str
    token: str
    introspect: str
    userinfo: str
    discovery: str
    jwks: str


LATCHKEY = Target(
    "Latchkey",
    "config.settings.base",
    "config.wsgi:application",
    "latchkey_bench",
    "/oauth/token",
    "/oauth/introspect",
    "/oauth/userinfo",
    "/.well-known/openid-configuration",
    "/.well-known/jwks.json",
)
VANILLA = Target(
    "DOT",
    "bench.dot_vanilla.settings",
    "bench.dot_vanilla.wsgi:application",
    "dotvanilla_bench",
    "/o/token/",
    "/o/introspect/",
    "/o/userinfo/",
    "/o/.well-known/openid-configuration",
    "/o/.well-known/jwks.json",
)


STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - STARTED:5.1f}s] {message}", file=sys.stderr, flush=True)


# --- machine ---------------------------------------------------------------------------------------


def cpus() -> tuple[list[str], list[str]]:
    """taskset prefixes for the server (CPU 0) and wrk (CPU 1); none on a one-CPU machine."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2 or not shutil.which("taskset"):
        log("fewer than 2 CPUs (or no taskset): server and wrk are NOT pinned; figures are not comparable")
        return [], []
    return ["taskset", "-c", str(available[0])], ["taskset", "-c", str(available[1])]


def machine_facts(pg_url: str, worker: str, servers: list[str]) -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    facts = {
        "cpu": f"{model}, {os.cpu_count()} CPUs",
        "ram": memory,
        "load average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "postgresql": pg_version(pg_url),
        "python": platform.python_version(),
    }
    if "gunicorn" in servers:
        gunicorn = subprocess.run([BIN / "gunicorn", "--version"], capture_output=True, text=True).stdout.strip()
        threads = f", {THREADS} threads" if worker == "gthread" else ""
        facts["gunicorn"] = f"{gunicorn}, 1 worker ({worker}{threads}), CPU 0"
    if "granian" in servers:
        granian = subprocess.run([BIN / "granian", "--version"], capture_output=True, text=True).stdout.strip()
        facts["granian"] = f"{granian}, 1 worker (WSGI, {THREADS} blocking threads, 1 runtime thread), CPU 0"
    facts["wrk"] = f"wrk -t1 -c{CONNECTIONS} --latency --timeout 10s, CPU 1"
    return facts


# --- PostgreSQL ------------------------------------------------------------------------------------


def pg_admin(pg_url: str, sql: str) -> list:
    import psycopg

    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def pg_vacuum(pg_url: str, db_name: str) -> None:
    """VACUUM (ANALYZE) a freshly seeded database: the visibility map and hint bits are set and the
    planner has statistics now, so that neither autovacuum on a million new rows nor the first reads
    setting hint bits run during the measurements."""
    import psycopg

    with psycopg.connect(f"{pg_url}/{db_name}", autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def pg_version(pg_url: str) -> str:
    return pg_admin(pg_url, "SHOW server_version")[0][0]


# --- one server ------------------------------------------------------------------------------------


DEFAULT_CACHE_URL = "none"


def server_env(target: Target, db_url: str, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": target.settings,
        "DATABASE_URL": db_url,
        "DATABASE_CONN_MAX_AGE": CONN_MAX_AGE,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),  # a new one for every run
        "LATCHKEY_ISSUER": f"http://127.0.0.1:{port}",
        "PYTHONPATH": str(ROOT),
    }
    if target is LATCHKEY:
        cache_url = os.environ.get("BENCH_CACHE_URL", DEFAULT_CACHE_URL)
        if cache_url != "none":
            env["CACHE_URL"] = cache_url
        else:  # one worker process: it may keep scopes with its per-process cache (applications.oauth.memo)
            env["LATCHKEY_PROCESS_MEMO"] = "on"
    if target is VANILLA:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        env["DOT_VANILLA_RSA_PRIVATE_KEY"] = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    return env


def run_checked(command: list, env: dict, what: str) -> None:
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"[bench] {what} failed:\n{done.stdout}\n{done.stderr}")


def server_command(server: str, wsgi: str, port: int, options) -> list[str]:
    """One worker of `server` serving `wsgi` on 127.0.0.1:`port`, its own log lines at WARNING."""
    if server == "granian":
        # config/serve.py's settings for one worker (it runs this server for production).
        command = [str(BIN / "granian"), "--interface", "wsgi", "--workers", "1"]
        command += ["--blocking-threads", str(THREADS), "--runtime-threads", "1", "--no-ws"]
        return [*command, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", wsgi]
    command = [str(BIN / "gunicorn"), "--workers", "1", "--worker-class", options.worker]
    if options.worker == "gthread":
        command += ["--threads", str(THREADS)]
    command += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    return [*command, "--chdir", str(ROOT), wsgi]


def start_server(server: str, name: str, wsgi: str, ready_path: str, env: dict, port: int, options,
                 pin: list[str], logfile: Path):  # fmt: skip
    """`server` with one worker serving `wsgi`, once `ready_path` answers 200.

    Both servers write their own lines and the application's (stderr) to `logfile`: the same cost for both.
    """
    command = [*pin, *server_command(server, wsgi, port, options)]
    with logfile.open("a") as handle:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}{ready_path}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"[bench] {server} for {name} exited:\n{logfile.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own loopback server)
                if response.status == 200:
                    return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    process.terminate()
    sys.exit(f"[bench] {name} did not answer {url} within 60 s:\n{logfile.read_text()[-4000:]}")


def stop(process: subprocess.Popen, server: str) -> None:
    """gunicorn: SIGQUIT, its quick shutdown (nothing in flight matters now); granian: SIGTERM."""
    process.send_signal(signal.SIGQUIT if server == "gunicorn" else signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def basic(client: dict) -> str:
    pair = f"{quote_plus(client['client_id'])}:{quote_plus(client['client_secret'])}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def requests_for(target: Target, seed: dict) -> dict[str, dict]:
    """Method, path, headers and body of each endpoint; "{token}" marks a single-use value."""
    m2m, web = seed["m2m"], seed["web"]
    jwt = {}
    if m2m.get("jwt_resource"):  # Latchkey: vanilla DOT has no JWT access tokens
        body = {"grant_type": "client_credentials", "scope": m2m["jwt_scope"], "resource": m2m["jwt_resource"]}
        jwt = {"client_credentials_jwt": {"path": target.token, "method": "POST", "auth": basic(m2m),
                                          "body": urlencode(body)}}  # fmt: skip
    return {
        "client_credentials": {
            "path": target.token,
            "method": "POST",
            "auth": basic(m2m),
            "body": urlencode({"grant_type": "client_credentials", "scope": m2m["scope"]}),
        },
        **jwt,
        "introspection": {
            "path": target.introspect,
            "method": "POST",
            "auth": basic(web),
            "body": urlencode({"token": seed["access_token"], "token_type_hint": "access_token"}),
        },
        "userinfo": {"path": target.userinfo, "method": "GET", "auth": f"Bearer {seed['access_token']}"},
        "discovery": {"path": target.discovery, "method": "GET"},
        "jwks": {"path": target.jwks, "method": "GET"},
        "code_exchange": {
            "path": target.token,
            "method": "POST",
            "auth": basic(web),
            "body": urlencode(
                {
                    "grant_type": "authorization_code",
                    "redirect_uri": web["redirect_uri"],
                    "code_verifier": seed["code_verifier"],
                }
            )
            + "&code={token}",
        },
        "refresh": {
            "path": target.token,
            "method": "POST",
            "auth": basic(web),
            "body": "grant_type=refresh_token&refresh_token={token}",
        },
    }


def is_jwt_access_token(value: str) -> bool:
    """Three base64url segments whose header says `typ: at+jwt` (RFC 9068 §2.1)."""
    parts = value.split(".")
    if len(parts) != 3:
        return False
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except ValueError:
        return False
    return isinstance(header, dict) and header.get("typ") == "at+jwt"


def warm_up(base: str, specs: dict[str, dict]) -> None:
    """A few requests to the repeatable endpoints: connections, memos and imports are ready.

    Each must answer 200, and client credentials must issue what its line says: an opaque token for
    `client_credentials`, a JWT access token for `client_credentials_jwt`; else the bench stops here.
    """
    for name in ("discovery", "jwks", "userinfo", "introspection", "client_credentials", "client_credentials_jwt"):
        spec = specs.get(name)
        if spec is None:
            continue
        for _ in range(2):
            data = spec.get("body", "").encode() if spec["method"] == "POST" else None
            request = urllib.request.Request(f"{base}{spec['path']}", data=data, method=spec["method"])  # noqa: S310
            if spec.get("auth"):
                request.add_header("Authorization", spec["auth"])
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    body = response.read()
            except urllib.error.HTTPError as error:
                sys.exit(f"[bench] warm-up of {name} got {error.code}: {error.read()[:300]!r}")
            if name.startswith("client_credentials"):
                token = json.loads(body).get("access_token", "")
                if is_jwt_access_token(token) != (name == "client_credentials_jwt"):
                    sys.exit(f"[bench] {name} issued the wrong kind of access token: {token[:60]!r}")


def wait_idle(base: str, spec: dict) -> None:
    """Let the worker finish what the last run left queued (up to 8 slow requests) before the next run."""
    urllib.request.urlopen(f"{base}{spec['path']}", timeout=120).close()  # noqa: S310


def wrk(url: str, spec: dict, duration: int, pin: list[str], tokens: Path | None, raw_log: Path) -> dict:
    env = {
        **os.environ,
        "BENCH_METHOD": spec["method"],
        "BENCH_AUTH": spec.get("auth", ""),
        "BENCH_BODY": spec.get("body", ""),
        "BENCH_TOKENS": str(tokens) if tokens else "",
    }
    command = [*pin, "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    command += ["-s", str(LUA), url]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    with raw_log.open("a") as handle:
        handle.write(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}\n")
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if done.returncode != 0 or line is None:
        sys.exit(f"[bench] wrk failed on {url}:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix("BENCH_RESULT "))
    seconds = raw["duration_us"] / 1e6
    return {
        "rps": raw["requests"] / seconds if seconds else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "errors": raw["non2xx"] + raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
        "requests": raw["requests"],
        "exhausted": raw["exhausted"],
    }


def worker_memory(server_pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) in MB of the server's worker: its one child process (gunicorn's and
    granian's master fork or spawn it); the largest child if there are several, the server if none."""
    try:
        children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    except OSError:
        children = []
    memory = {"rss_mb": 0.0, "peak_mb": 0.0}
    for pid in children or [str(server_pid)]:
        try:
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        kib = {line.split(":")[0]: int(line.split()[1]) for line in status if line.startswith(("VmRSS:", "VmHWM:"))}
        if kib.get("VmRSS", 0) / 1024 > memory["rss_mb"]:
            memory = {"rss_mb": kib.get("VmRSS", 0) / 1024, "peak_mb": kib.get("VmHWM", 0) / 1024}
    return memory


def split_single_use(workdir: Path, slices: int) -> None:
    """Each round under each server reads only its own slice of each file, so no value is sent twice."""
    for filename in SINGLE_USE.values():
        values = (workdir / filename).read_text().split()
        size = len(values) // slices
        for r in range(slices):
            (workdir / f"r{r}-{filename}").write_text("\n".join(values[r * size : (r + 1) * size]) + "\n")


@dataclass
class Prepared:
    target: Target
    db_name: str
    env: dict
    port: int
    workdir: Path


def prepare_all(targets: list[Target], options, tmp: Path) -> list[Prepared]:
    """Fresh databases, migrated and seeded; the two servers' migrations and seeds run side by side."""
    prepared = []
    for offset, target in enumerate(targets):
        db_name = f"{target.db_prefix}_{os.getpid()}"
        port = options.port + offset
        workdir = tmp / target.name
        workdir.mkdir()
        pg_admin(options.pg_url, f"DROP DATABASE IF EXISTS {db_name}")
        pg_admin(options.pg_url, f"CREATE DATABASE {db_name}")
        prepared.append(
            Prepared(target, db_name, server_env(target, f"{options.pg_url}/{db_name}", port), port, workdir)
        )
    log("migrating " + ", ".join(p.db_name for p in prepared))
    in_parallel([([sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"], p.env) for p in prepared])
    commands = []
    for p in prepared:
        count = options.codes[p.target.name] * options.rounds * len(options.servers)
        log(f"{p.target.name}: seeding {count} codes and {count} refresh tokens, "
            f"and {options.stored_tokens} stored access + refresh tokens and codes")  # fmt: skip
        flavour = "latchkey" if p.target is LATCHKEY else "vanilla"
        seed = [sys.executable, "-m", "bench.seed", flavour, str(p.workdir), str(count), str(options.stored_tokens)]
        commands.append((seed, p.env))
    started = time.monotonic()
    in_parallel(commands)
    for p in prepared:
        pg_vacuum(options.pg_url, p.db_name)
    log(f"seeded and vacuumed in {time.monotonic() - started:.0f} s")
    for p in prepared:
        split_single_use(p.workdir, options.rounds * len(options.servers))
    return prepared


def in_parallel(commands: list[tuple[list, dict]]) -> None:
    processes = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for command, env in commands
    ]
    outputs = [process.communicate()[0] for process in processes]
    for (command, _), process, output in zip(commands, processes, outputs, strict=True):
        if process.returncode != 0:
            sys.exit(f"[bench] {' '.join(command[1:4])} failed:\n{output}")


def measure(p: Prepared, server: str, options, server_pin: list[str], client_pin: list[str],
            ceilings: dict[str, int], ceiling_results: dict[str, list]) -> tuple[dict[str, list], dict]:  # fmt: skip
    """Start the server, warm it up, then wrk each endpoint for every round, each round after the ceilings.

    Returns the rounds of each endpoint the project has, and its worker's memory after them."""
    target, workdir = p.target, p.workdir
    specs = requests_for(target, json.loads((workdir / "seed.json").read_text()))
    base = f"http://127.0.0.1:{p.port}"
    logfile = workdir / f"{target.name}-{server}.log"
    process = start_server(server, target.name, target.wsgi, target.discovery, p.env, p.port, options, server_pin,
                           logfile)  # fmt: skip
    first_slice = options.servers.index(server) * options.rounds
    name_of = f"{target.name} ({server})"
    try:
        warm_up(base, specs)
        results: dict[str, list] = {name: [] for name in ENDPOINTS if name in specs}
        for r in range(options.rounds):
            wait_idle(base, specs["discovery"])
            for label, port in ceilings.items():
                # The machine's speed drifts during a run: each round gets its own ceilings.
                result = wrk(f"http://127.0.0.1:{port}/", {"method": "GET"}, options.duration, client_pin, None,
                             workdir / "wrk.log")  # fmt: skip
                log(f"ceiling before {name_of} round {r + 1}: {label}: {result['rps']:.0f} req/s")
                ceiling_results[label].append(result)
            for name in results:
                wait_idle(base, specs["discovery"])
                tokens = workdir / f"r{first_slice + r}-{SINGLE_USE[name]}" if name in SINGLE_USE else None
                result = wrk(f"{base}{specs[name]['path']}", specs[name], options.duration, client_pin, tokens,
                             workdir / "wrk.log")  # fmt: skip
                if result["exhausted"]:
                    log(f"{name_of} {name}: ran out of single-use values ({result['exhausted']} failed)")
                log(f"{name_of} {name} round {r + 1}: {result['rps']:.0f} req/s, p99 {result['p99_ms']:.1f} ms, "
                    f"{result['errors']} errors")  # fmt: skip
                results[name].append(result)
        wait_idle(base, specs["discovery"])
        memory = worker_memory(process.pid)
        log(f"{name_of} worker memory: {memory['rss_mb']:.0f} MB (peak {memory['peak_mb']:.0f} MB)")
        return results, memory
    finally:
        stop(process, server)


def start_ceilings(options, server_pin: list[str], tmp: Path) -> tuple[dict[str, int], list[tuple]]:
    """bench/ceiling's two apps under each server, each on CPU 0 (idle until measured)."""
    env = {**os.environ, "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "PYTHONPATH": str(ROOT)}
    env["DJANGO_SETTINGS_MODULE"] = "bench.ceiling.settings"
    ports, processes = {}, []
    for offset, (label, server, wsgi) in enumerate(CEILINGS, start=2):
        if server not in options.servers:
            continue
        port = options.port + offset
        logfile = tmp / f"ceiling-{server}.log"
        processes.append((start_server(server, label, wsgi, "/", env, port, options, server_pin, logfile), server))
        ports[label] = port
    return ports, processes


def share_of_ceiling(results: dict[str, list], ceiling_rounds: list[dict]) -> dict[str, float]:
    """Each endpoint's req/s over the Django ceiling measured just before the same round (median):
    comparable between machines and robust to the machine's drift during a run."""
    return {
        name: statistics.median(
            r["rps"] / c["rps"] if c["rps"] else 0.0 for r, c in zip(rounds, ceiling_rounds, strict=True)
        )
        for name, rounds in results.items()
    }


def median_of(rounds: list[dict]) -> dict:
    return {
        "rps": statistics.median(r["rps"] for r in rounds),
        "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
    }


def cells(figure: dict | None, rps_format: str) -> tuple[str, ...]:
    if figure is None:  # an endpoint the project does not have (vanilla DOT issues no JWT access tokens)
        return ("n/a",) * 4
    rps = format(figure["rps"], rps_format)
    return (rps, f"{figure['p50_ms']:.2f}", f"{figure['p99_ms']:.2f}", str(figure["errors"]))


def table(ours: dict[str, dict], theirs: dict[str, dict], memory: dict[str, dict | None]) -> str:
    """One row per endpoint, then the worker's memory (VmRSS, and its peak) after the project's runs."""
    head = ("endpoint", "Latchkey req/s", "p50 ms", "p99 ms", "errors")
    head += ("DOT req/s", "p50 ms", "p99 ms", "errors", "ratio")
    rows = [head, tuple("-" * len(h) for h in head)]
    for name in ENDPOINTS:
        a, b = ours.get(name), theirs.get(name)
        ratio = f"{a['rps'] / b['rps']:.1f}x" if a and b and b["rps"] else "n/a"
        rows.append((name, *cells(a, ".0f"), *cells(b, ".1f"), ratio))
    for label, key in (("worker RSS MB", "rss_mb"), ("worker peak RSS MB", "peak_mb")):
        ours_mb, theirs_mb = (f"{m[key]:.0f}" if m else "n/a" for m in (memory["Latchkey"], memory["DOT"]))
        rows.append((label, ours_mb, "", "", "", theirs_mb, "", "", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join(
        "| "
        + " | ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        + " |"
        for row in rows
    )


def parse_options(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    smoke_default = os.environ.get("BENCH_SMOKE", "") not in ("", "0", "false")
    parser.add_argument("--smoke", action="store_true", default=smoke_default, help="one short round (CI)")
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "10")))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "1")))
    parser.add_argument("--worker", choices=["sync", "gthread"], default=os.environ.get("BENCH_WORKER", "gthread"))
    parser.add_argument(
        "--servers",
        default=os.environ.get("BENCH_SERVERS", ",".join(SERVERS)),
        help="comma-separated: gunicorn, granian (default both)",
    )
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "18200")))
    parser.add_argument("--json", default=os.environ.get("BENCH_JSON", ""), help="write the figures here too")
    parser.add_argument(
        "--stored-tokens",
        type=int,
        default=int(os.environ.get("BENCH_STORED_TOKENS", "10000")),
        help="access tokens (with their refresh tokens and codes) seeded in bulk before measuring",
    )
    parser.add_argument(
        "--id-token-algorithm",
        choices=["ES256", "RS256"],
        default=os.environ.get("BENCH_ID_TOKEN_ALGORITHM", "ES256"),
        help="the algorithm of Latchkey's web client's ID tokens (vanilla DOT signs RS256)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--only", choices=["latchkey", "dot"], help="run one server only (and no ceilings)")
    options = parser.parse_args(argv)
    if options.smoke:
        options.duration, options.rounds = 1, 1
    if options.duration < 1 or options.rounds < 1:
        parser.error("--duration and --rounds must be at least 1")
    if options.stored_tokens < 0:
        parser.error("--stored-tokens must be 0 or more")
    options.servers = [server.strip() for server in options.servers.split(",") if server.strip()]
    if not options.servers or set(options.servers) - set(SERVERS) or len(set(options.servers)) < len(options.servers):
        parser.error(f"--servers takes one or more of {', '.join(SERVERS)}, each once")
    # Single-use values per round: enough for 1,000 code exchanges or refreshes a second from Latchkey
    # and 100 from DOT, well above what either reaches here. Running out is reported and counted
    # as errors, never hidden by reusing a value.
    options.codes = {"Latchkey": 1000 * options.duration, "DOT": 100 * options.duration}
    return options


def run_name(target: Target, server: str) -> str:
    return f"{target.name} ({server})"


def print_shares(title: str, shares: dict[str, dict[str, float]]) -> None:
    print(title)
    for name, share in shares.items():
        print(f"  {name}: " + ", ".join(f"{endpoint} {100 * value:.1f} %" for endpoint, value in share.items()))


def main(argv: list[str] | None = None) -> None:
    options = parse_options(argv)
    if not shutil.which("wrk"):
        sys.exit("[bench] wrk is not installed (Debian: apt-get install wrk)")
    if urlsplit(options.pg_url).path not in ("", "/"):
        sys.exit("[bench] BENCH_PG_URL names the server only, without a database")
    options.pg_url = options.pg_url.rstrip("/")
    server_pin, client_pin = cpus()
    facts = machine_facts(options.pg_url, options.worker, options.servers)
    facts["id tokens"] = f"Latchkey {options.id_token_algorithm} (the web client's choice), vanilla DOT RS256"
    facts["stored tokens"] = (
        f"{options.stored_tokens} access + {options.stored_tokens} refresh tokens and their codes per project, "
        "seeded in bulk (BENCH_STORED_TOKENS), beside the single-use codes and refresh tokens"
    )
    os.environ["BENCH_ID_TOKEN_ALGORITHM"] = options.id_token_algorithm  # read by bench/seed.py
    targets = [t for t in (LATCHKEY, VANILLA) if options.only in (None, t.name.lower())]
    figures: dict[str, dict[str, dict]] = {}
    raw: dict[str, dict[str, list]] = {}
    shares: dict[str, dict[str, float]] = {}
    granian_shares: dict[str, dict[str, float]] = {}
    memory: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="latchkey-bench-") as tmp:
        prepared: list[Prepared] = []
        ceiling_processes: list[tuple] = []
        try:
            prepared = prepare_all(targets, options, Path(tmp))
            ceilings: dict[str, int] = {}
            if not options.only:
                ceilings, ceiling_processes = start_ceilings(options, server_pin, Path(tmp))
            raw["ceilings"] = {label: [] for label in ceilings}
            first_ceilings: dict[str, list] = {}
            # Server by server, so that each project's two runs are next to each other in time.
            for server in options.servers:
                for p in prepared:
                    name = run_name(p.target, server)
                    own_ceilings: dict[str, list] = {label: [] for label in ceilings}
                    # The smoke round (CI) measures the ceilings once, before its first run, to stay short.
                    measured = first_ceilings if options.smoke and first_ceilings else None
                    run_ceilings = {} if measured else ceilings
                    raw[name], memory[name] = measure(p, server, options, server_pin, client_pin, run_ceilings,
                                                      own_ceilings)  # fmt: skip
                    if measured:
                        own_ceilings = measured
                    elif not first_ceilings:
                        first_ceilings = own_ceilings
                    figures[name] = {endpoint: median_of(rounds) for endpoint, rounds in raw[name].items()}
                    for label, rounds in ({} if measured else own_ceilings).items():
                        raw["ceilings"][label].extend(rounds)
                    if DJANGO_CEILING in own_ceilings:
                        shares[name] = share_of_ceiling(raw[name], own_ceilings[DJANGO_CEILING])
                    if GRANIAN_DJANGO_CEILING in own_ceilings:
                        granian_shares[name] = share_of_ceiling(raw[name], own_ceilings[GRANIAN_DJANGO_CEILING])
            if ceilings:
                figures["ceilings"] = {label: median_of(rounds) for label, rounds in raw["ceilings"].items()}
        finally:
            for process, server in ceiling_processes:
                stop(process, server)
            if not options.keep:
                for target in targets:
                    pg_admin(options.pg_url, f"DROP DATABASE IF EXISTS {target.db_prefix}_{os.getpid()}")
    empty = {name: {"rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "errors": 0} for name in ENDPOINTS}
    empty.pop("client_credentials_jwt")
    print()
    for key, value in facts.items():
        print(f"{key}: {value}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rounds = f"median of {options.rounds} rounds" if options.rounds > 1 else "1 round"
    print(f"load: {options.duration} s per endpoint, {rounds}, {CONNECTIONS} connections")
    for server in options.servers:
        print()
        print(f"under {server}:")
        ours, theirs = run_name(LATCHKEY, server), run_name(VANILLA, server)
        print(table(figures.get(ours, empty), figures.get(theirs, empty),
                    {"Latchkey": memory.get(ours), "DOT": memory.get(theirs)}))  # fmt: skip
    if "ceilings" in figures:
        print()
        print("ceilings of this core (the same wrk and pinning; bench/ceiling; median of every round):")
        for label, figure in figures["ceilings"].items():
            print(f"  {label}: {figure['rps']:.0f} req/s, p99 {figure['p99_ms']:.2f} ms, {figure['errors']} errors")
        per_round = "median over the rounds of req/s / the ceiling measured before the round"
        if shares:
            print_shares(f"share of the gunicorn Django ceiling ({per_round}):", shares)
        if granian_shares:
            print_shares(f"share of the granian Django ceiling ({per_round}):", granian_shares)
    if options.json:
        document = {
            "machine": facts,
            "median": figures,
            "share_of_django_ceiling": shares,
            "share_of_granian_django_ceiling": granian_shares,
            "worker_memory_mb": memory,
            "rounds": raw,
        }
        Path(options.json).write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
