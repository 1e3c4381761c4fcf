"""`make bench`: Latchkey and vanilla django-oauth-toolkit under the same load, side by side.

For each server: a fresh PostgreSQL database, migrations, seed data (bench/seed.py), gunicorn
with one worker pinned to CPU 0, and `wrk -t1 -c8` pinned to CPU 1 against each endpoint.
Prints a table of req/s, p50, p99 and errors (non-2xx responses + socket errors) with the ratio
Latchkey / DOT, then the ceilings of the same core measured the same way at the start of every
round (bench/ceiling: gunicorn calling a bare WSGI function, and a Django view with no middleware
and no database), which say how fast this machine is. Settings (environment variables, or the flags of `--help`):

  BENCH_DURATION   seconds per endpoint and round (default 10)
  BENCH_ROUNDS     rounds per endpoint; the table shows the median of the rounds (default 1)
  BENCH_SMOKE=1    one 1-second round with few codes: checks the bench still works (CI)
  BENCH_WORKER     gunicorn worker class, gthread or sync (default gthread, see docs/benchmarks.md)
  BENCH_PG_URL     PostgreSQL server to create the databases on (default postgres://postgres@127.0.0.1:5432)
  BENCH_PORT       first of the four ports used (default 18200: Latchkey, DOT, the two ceilings)
  BENCH_JSON       also write every figure to this JSON file
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
CONN_MAX_AGE = "600"  # persistent connections, the same for both servers
ENDPOINTS = ["client_credentials", "introspection", "userinfo", "discovery", "jwks", "code_exchange", "refresh"]
SINGLE_USE = {"code_exchange": "codes.txt", "refresh": "refresh_tokens.txt"}
# What this core serves at all (bench/ceiling), measured at the start of every round: (label, WSGI app).
DJANGO_CEILING = "Django (one view, no middleware, no database)"
CEILINGS = [
    ("gunicorn alone (a WSGI function, constant body)", "bench.ceiling.wsgi:bare"),
    (DJANGO_CEILING, "bench.ceiling.wsgi:application"),
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


def machine_facts(pg_url: str, worker: str) -> dict[str, str]:
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
    gunicorn = subprocess.run([BIN / "gunicorn", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": f"{model}, {os.cpu_count()} CPUs",
        "ram": memory,
        "postgresql": pg_version(pg_url),
        "python": platform.python_version(),
        "gunicorn": f"{gunicorn}, 1 worker ({worker}), CPU 0",
        "wrk": f"wrk -t1 -c{CONNECTIONS} --latency --timeout 10s, CPU 1",
    }


# --- PostgreSQL ------------------------------------------------------------------------------------


def pg_admin(pg_url: str, sql: str) -> list:
    import psycopg

    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def pg_version(pg_url: str) -> str:
    return pg_admin(pg_url, "SHOW server_version")[0][0]


# --- one server ------------------------------------------------------------------------------------


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


def start_gunicorn(name: str, wsgi: str, ready_path: str, env: dict, port: int, options, pin: list[str],
                   logfile: Path):  # fmt: skip
    """gunicorn with one worker serving `wsgi`, once `ready_path` answers 200."""
    command = [*pin, str(BIN / "gunicorn"), "--workers", "1", "--worker-class", options.worker]
    if options.worker == "gthread":
        command += ["--threads", str(CONNECTIONS)]
    command += ["--bind", f"127.0.0.1:{port}", "--error-logfile", str(logfile), "--log-level", "warning"]
    command += ["--chdir", str(ROOT), wsgi]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}{ready_path}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"[bench] gunicorn for {name} exited:\n{logfile.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own loopback server)
                if response.status == 200:
                    return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    process.terminate()
    sys.exit(f"[bench] {name} did not answer {url} within 60 s:\n{logfile.read_text()}")


def stop(process: subprocess.Popen) -> None:
    """SIGQUIT: gunicorn's quick shutdown; the measurements are over, nothing in flight matters."""
    process.send_signal(signal.SIGQUIT)
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
    return {
        "client_credentials": {
            "path": target.token,
            "method": "POST",
            "auth": basic(m2m),
            "body": urlencode({"grant_type": "client_credentials", "scope": m2m["scope"]}),
        },
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


def warm_up(base: str, specs: dict[str, dict]) -> None:
    """A few requests to the repeatable endpoints: connections, memos and imports are ready."""
    for name in ("discovery", "jwks", "userinfo", "introspection", "client_credentials"):
        spec = specs[name]
        for _ in range(2):
            data = spec.get("body", "").encode() if spec["method"] == "POST" else None
            request = urllib.request.Request(f"{base}{spec['path']}", data=data, method=spec["method"])  # noqa: S310
            if spec.get("auth"):
                request.add_header("Authorization", spec["auth"])
            try:
                urllib.request.urlopen(request, timeout=30).close()  # noqa: S310
            except urllib.error.HTTPError as error:
                sys.exit(f"[bench] warm-up of {name} got {error.code}: {error.read()[:300]!r}")


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


def split_single_use(workdir: Path, rounds: int) -> None:
    """Round r reads only its own slice of each file, so no value is sent in two rounds."""
    for filename in SINGLE_USE.values():
        values = (workdir / filename).read_text().split()
        size = len(values) // rounds
        for r in range(rounds):
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
        count = options.codes[p.target.name] * options.rounds
        log(f"{p.target.name}: seeding {count} codes and {count} refresh tokens")
        flavour = "latchkey" if p.target is LATCHKEY else "vanilla"
        commands.append(([sys.executable, "-m", "bench.seed", flavour, str(p.workdir), str(count)], p.env))
    in_parallel(commands)
    for p in prepared:
        split_single_use(p.workdir, options.rounds)
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


def measure(p: Prepared, options, server_pin: list[str], client_pin: list[str], ceilings: dict[str, int],
            ceiling_results: dict[str, list]) -> dict[str, list]:  # fmt: skip
    """Start the server, warm it up, then wrk each endpoint for every round, each round after the ceilings."""
    target, workdir = p.target, p.workdir
    specs = requests_for(target, json.loads((workdir / "seed.json").read_text()))
    base = f"http://127.0.0.1:{p.port}"
    logfile = workdir / f"{target.name}.log"
    process = start_gunicorn(target.name, target.wsgi, target.discovery, p.env, p.port, options, server_pin, logfile)
    try:
        warm_up(base, specs)
        results: dict[str, list] = {name: [] for name in ENDPOINTS}
        for r in range(options.rounds):
            wait_idle(base, specs["discovery"])
            for label, port in ceilings.items():
                # The machine's speed drifts during a run: each round gets its own ceilings.
                result = wrk(f"http://127.0.0.1:{port}/", {"method": "GET"}, options.duration, client_pin, None,
                             workdir / "wrk.log")  # fmt: skip
                log(f"ceiling before {target.name} round {r + 1}: {label}: {result['rps']:.0f} req/s")
                ceiling_results[label].append(result)
            for name in ENDPOINTS:
                wait_idle(base, specs["discovery"])
                tokens = workdir / f"r{r}-{SINGLE_USE[name]}" if name in SINGLE_USE else None
                result = wrk(f"{base}{specs[name]['path']}", specs[name], options.duration, client_pin, tokens,
                             workdir / "wrk.log")  # fmt: skip
                if result["exhausted"]:
                    log(f"{target.name} {name}: ran out of single-use values ({result['exhausted']} failed)")
                log(f"{target.name} {name} round {r + 1}: {result['rps']:.0f} req/s, p99 {result['p99_ms']:.1f} ms, "
                    f"{result['errors']} errors")  # fmt: skip
                results[name].append(result)
        return results
    finally:
        stop(process)


def start_ceilings(options, server_pin: list[str], tmp: Path) -> tuple[dict[str, int], list[subprocess.Popen]]:
    """bench/ceiling's two apps, each under its own gunicorn on CPU 0 (idle until measured)."""
    env = {**os.environ, "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "PYTHONPATH": str(ROOT)}
    env["DJANGO_SETTINGS_MODULE"] = "bench.ceiling.settings"
    ports, processes = {}, []
    for offset, (label, wsgi) in enumerate(CEILINGS, start=2):
        port = options.port + offset
        processes.append(start_gunicorn(label, wsgi, "/", env, port, options, server_pin, tmp / "ceiling.log"))
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


def table(ours: dict[str, dict], theirs: dict[str, dict]) -> str:
    head = ("endpoint", "Latchkey req/s", "p50 ms", "p99 ms", "errors")
    head += ("DOT req/s", "p50 ms", "p99 ms", "errors", "ratio")
    rows = [head, tuple("-" * len(h) for h in head)]
    for name in ENDPOINTS:
        a, b = ours[name], theirs[name]
        ratio = f"{a['rps'] / b['rps']:.1f}x" if b["rps"] else "n/a"
        rows.append(
            (
                name,
                f"{a['rps']:.0f}",
                f"{a['p50_ms']:.2f}",
                f"{a['p99_ms']:.2f}",
                str(a["errors"]),
                f"{b['rps']:.1f}",
                f"{b['p50_ms']:.2f}",
                f"{b['p99_ms']:.2f}",
                str(b["errors"]),
                ratio,
            )
        )
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
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "18200")))
    parser.add_argument("--json", default=os.environ.get("BENCH_JSON", ""), help="write the figures here too")
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
    # Single-use values per round: enough for 1,000 code exchanges or refreshes a second from Latchkey
    # and 100 from DOT, well above what either reaches here. Running out is reported and counted
    # as errors, never hidden by reusing a value.
    options.codes = {"Latchkey": 1000 * options.duration, "DOT": 100 * options.duration}
    return options


def main(argv: list[str] | None = None) -> None:
    options = parse_options(argv)
    if not shutil.which("wrk"):
        sys.exit("[bench] wrk is not installed (Debian: apt-get install wrk)")
    if urlsplit(options.pg_url).path not in ("", "/"):
        sys.exit("[bench] BENCH_PG_URL names the server only, without a database")
    options.pg_url = options.pg_url.rstrip("/")
    server_pin, client_pin = cpus()
    facts = machine_facts(options.pg_url, options.worker)
    facts["id tokens"] = f"Latchkey {options.id_token_algorithm} (the web client's choice), vanilla DOT RS256"
    os.environ["BENCH_ID_TOKEN_ALGORITHM"] = options.id_token_algorithm  # read by bench/seed.py
    targets = [t for t in (LATCHKEY, VANILLA) if options.only in (None, t.name.lower())]
    figures: dict[str, dict[str, dict]] = {}
    raw: dict[str, dict[str, list]] = {}
    shares: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="latchkey-bench-") as tmp:
        prepared: list[Prepared] = []
        ceiling_processes: list[subprocess.Popen] = []
        try:
            prepared = prepare_all(targets, options, Path(tmp))
            ceilings: dict[str, int] = {}
            if not options.only:
                ceilings, ceiling_processes = start_ceilings(options, server_pin, Path(tmp))
            raw["ceilings"] = {label: [] for label in ceilings}
            for p in prepared:
                own_ceilings: dict[str, list] = {label: [] for label in ceilings}
                raw[p.target.name] = measure(p, options, server_pin, client_pin, ceilings, own_ceilings)
                figures[p.target.name] = {name: median_of(rounds) for name, rounds in raw[p.target.name].items()}
                for label, rounds in own_ceilings.items():
                    raw["ceilings"][label].extend(rounds)
                if ceilings:
                    shares[p.target.name] = share_of_ceiling(raw[p.target.name], own_ceilings[DJANGO_CEILING])
            if ceilings:
                figures["ceilings"] = {label: median_of(rounds) for label, rounds in raw["ceilings"].items()}
        finally:
            for process in ceiling_processes:
                stop(process)
            if not options.keep:
                for target in targets:
                    pg_admin(options.pg_url, f"DROP DATABASE IF EXISTS {target.db_prefix}_{os.getpid()}")
    empty = {name: {"rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "errors": 0} for name in ENDPOINTS}
    print()
    for key, value in facts.items():
        print(f"{key}: {value}")
    rounds = f"median of {options.rounds} rounds" if options.rounds > 1 else "1 round"
    print(f"load: {options.duration} s per endpoint, {rounds}, {CONNECTIONS} connections")
    print()
    print(table(figures.get(LATCHKEY.name, empty), figures.get(VANILLA.name, empty)))
    if "ceilings" in figures:
        print()
        print("ceilings of this core (the same gunicorn, wrk and pinning; bench/ceiling; median of every round):")
        for label, figure in figures["ceilings"].items():
            print(f"  {label}: {figure['rps']:.0f} req/s, p99 {figure['p99_ms']:.2f} ms, {figure['errors']} errors")
        print("share of the Django ceiling (median over the rounds of req/s / the ceiling measured before the round):")
        for name, share in shares.items():
            print(f"  {name}: " + ", ".join(f"{endpoint} {100 * value:.1f} %" for endpoint, value in share.items()))
    if options.json:
        document = {"machine": facts, "median": figures, "share_of_django_ceiling": shares, "rounds": raw}
        Path(options.json).write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
