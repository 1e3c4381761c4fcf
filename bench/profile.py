"""Profile endpoints in-process: `python -m bench.profile ENDPOINT[,ENDPOINT...] [N]` (Latchkey only).

Creates a fresh latchkey_bench_profile_* database, migrates and seeds it like `make bench` (with
BENCH_STORED_TOKENS stored tokens, and client_credentials_jwt among the endpoints), then
sends N requests (0: only list one request's SQL) through Django's test client (DEBUG off, the
bench's settings) under pyinstrument, and prints the queries of one request and the profile.
PROFILE_FLAT=1 lists functions by own time; PROFILE_CPROFILE=1 uses cProfile (call counts);
PROFILE_TIME_ONLY=1 prints only the wall and CPU time per request; PROFILE_SORT and PROFILE_LINES
choose the order and length of the cProfile listing, and PROFILE_CPU=1 makes it count CPU time only.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from bench import run


def main() -> None:
    endpoint = sys.argv[1] if len(sys.argv) > 1 else "client_credentials"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    options = run.parse_options([])
    pg_url = options.pg_url.rstrip("/")
    db_name = f"latchkey_bench_profile_{os.getpid()}"
    env = run.server_env(run.LATCHKEY, f"{pg_url}/{db_name}", 8000)
    env["DJANGO_ALLOWED_HOSTS"] = "testserver"
    run.pg_admin(pg_url, f"CREATE DATABASE {db_name}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run.run_checked([sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"], env, "migrate")
            seed = [sys.executable, "-m", "bench.seed", "latchkey", tmp, str(3 * n + 10), str(options.stored_tokens)]
            run.run_checked(seed, env, "seeding")
            os.environ.update(env)
            import django

            django.setup()
            for name in endpoint.split(","):
                profile(name, n, Path(tmp))
    finally:
        from django.apps import apps

        if apps.ready:  # the usage counts go to the database before it is dropped, not at exit
            from applications.usage import counters

            counters.flush()
        from django.db import connections

        connections.close_all()
        run.pg_admin(pg_url, f"DROP DATABASE IF EXISTS {db_name}")


def profile(endpoint: str, n: int, seeded: Path) -> None:
    import json

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from pyinstrument import Profiler

    seed = json.loads((seeded / "seed.json").read_text())
    spec = run.requests_for(run.LATCHKEY, seed)[endpoint]
    single_use = iter((seeded / run.SINGLE_USE[endpoint]).read_text().split()) if endpoint in run.SINGLE_USE else None
    client = Client()

    def send():
        headers = {"HTTP_AUTHORIZATION": spec["auth"]} if spec.get("auth") else {}
        if spec["method"] == "GET":
            return client.get(spec["path"], **headers)
        body = spec["body"].replace("{token}", next(single_use)) if single_use else spec["body"]
        return client.post(spec["path"], body, content_type="application/x-www-form-urlencoded", **headers)

    for _ in range(5):
        assert send().status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = send()
    print(f"{endpoint}: {response.status_code}, {len(queries)} queries")
    for query in queries.captured_queries:
        print("  ", query["sql"][: int(os.environ.get("PROFILE_SQL_WIDTH", "160"))])
    if n == 0:
        return
    import time

    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(n):
        send()
    wall, cpu = (time.perf_counter() - started) / n * 1000, (time.process_time() - cpu_started) / n * 1000
    # CPU time is this process's own (not PostgreSQL's): what one request costs the server's core,
    # and far less sensitive to other load on the machine than the wall time.
    print(f"{n} requests without the profiler: {wall:.2f} ms wall, {cpu:.2f} ms CPU each")
    if os.environ.get("PROFILE_TIME_ONLY") == "1":
        return
    if os.environ.get("PROFILE_CPROFILE") == "1":  # call counts, for repeated work
        import cProfile
        import pstats

        # PROFILE_CPU=1: the profiler's clock is this process's CPU time, so waits for PostgreSQL count as 0.
        timer = time.process_time if os.environ.get("PROFILE_CPU") == "1" else time.perf_counter
        with cProfile.Profile(timer) as cprofile:
            for _ in range(n):
                send()
        stats = pstats.Stats(cprofile).sort_stats(os.environ.get("PROFILE_SORT", "tottime"))
        stats.print_stats(int(os.environ.get("PROFILE_LINES", "40")))
        return
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(n):
        send()
    profiler.stop()
    flat = os.environ.get("PROFILE_FLAT") == "1"  # functions by their own time, not the call tree
    print(profiler.output_text(unicode=True, color=False, flat=flat, show_all=flat))


if __name__ == "__main__":
    main()
