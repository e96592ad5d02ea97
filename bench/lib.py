#!/usr/bin/env python3
"""Helpers of bench/run: statement capture, tool-output parsing, the report.

  lib.py capture LOG OFFSET BEGIN END PREFIX   PostgreSQL log → PREFIX.sql + PREFIX.args
  lib.py wrk FILE                               wrk output → req/s (exit 1 on any error)
  lib.py pgbench FILE                           pgbench output → tps (exit 1 on failures)
  lib.py oha FILE                               oha JSON → "p50_ms p99_ms rps" (exit 1 on non-2xx)
  lib.py report RESULTS META                    results.tsv → markdown on stdout
"""

import json
import re
import statistics
import sys

STATEMENT = re.compile(r" LOG:  (?:execute [^:]+|statement): (.*)$")
PARAMETERS = re.compile(r" DETAIL:  parameters: (.*)$")
PARAMETER = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")
PLACEHOLDER = re.compile(r"\$(\d+)\b")


def capture(log, offset, begin, end, prefix):
    """Turns the statements logged between two markers into a pgbench script.

    Parameters become pgbench variables (sent as parameters with -M prepared,
    as the server sends them); NULL stays a literal. The id of an INSERT
    becomes gen_random_uuid() so that the script can run many times.
    """
    with open(log, encoding="utf-8", errors="replace") as f:
        f.seek(int(offset))
        lines = f.read().splitlines()
    inside, statements = False, []
    for line in lines:
        if begin in line:
            inside = True
            continue
        if end in line:
            break
        if not inside:
            continue
        m = STATEMENT.search(line)
        if m:
            statements.append([m.group(1), {}])
            continue
        m = PARAMETERS.search(line)
        if m and statements:
            statements[-1][1] = {int(n): v for n, v in PARAMETER.findall(m.group(1))}
    if not statements:
        sys.exit(f"no statements logged between {begin} and {end}")
    script, args = [], []
    for i, (sql, params) in enumerate(statements, 1):
        insert = sql.lstrip().upper().startswith("INSERT")

        def swap(m, i=i, params=params, insert=insert):
            n = int(m.group(1))
            value = params.get(n)
            if value is None:
                sys.exit(f"statement {i}: no value for ${n}")
            if insert and n == 1:
                return "gen_random_uuid()"
            if value == "NULL":
                return "NULL"
            args.append(f"s{i}p{n}={value[1:-1].replace(chr(39) * 2, chr(39))}")
            return f":s{i}p{n}"

        script.append(PLACEHOLDER.sub(swap, sql) + ";")
    with open(prefix + ".sql", "w", encoding="utf-8") as f:
        f.write("\n".join(script) + "\n")
    with open(prefix + ".args", "w", encoding="utf-8") as f:
        f.write("".join(a + "\n" for a in args))
    print(len(statements))


def wrk(path):
    text = open(path, encoding="utf-8").read()
    for bad in ("Non-2xx or 3xx responses", "Socket errors"):
        if bad in text:
            sys.exit(f"invalid run ({bad}):\n{text}")
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not m:
        sys.exit(f"no Requests/sec in wrk output:\n{text}")
    print(m.group(1))


def pgbench(path):
    text = open(path, encoding="utf-8").read()
    failed = re.search(r"number of failed transactions: (\d+)", text)
    if failed and int(failed.group(1)) > 0:
        sys.exit(f"pgbench had failed transactions:\n{text}")
    m = re.search(r"tps = ([\d.]+)", text)
    if not m:
        sys.exit(f"no tps in pgbench output:\n{text}")
    print(m.group(1))


def oha(path):
    data = json.load(open(path, encoding="utf-8"))
    codes = data.get("statusCodeDistribution", {})
    bad = {k: v for k, v in codes.items() if not k.startswith("2")}
    errors = data.get("errorDistribution", {})
    errors = {k: v for k, v in errors.items() if "aborted due to deadline" not in k}
    if bad or errors or not codes:
        sys.exit(f"invalid oha run: status {codes}, errors {errors}")
    pct = data["latencyPercentiles"]
    print(f"{pct['p50'] * 1000:.3f} {pct['p99'] * 1000:.3f} {data['summary']['requestsPerSec']:.1f}")


# --- the report -------------------------------------------------------------


def load(path):
    values = {}
    for line in open(path, encoding="utf-8"):
        if line.strip():
            name, value = line.rstrip("\n").split("\t")
            values.setdefault(name, []).append(float(value))
    return values


def fmt(x, unit=""):
    if x >= 100:
        s = f"{x:,.0f}"
    elif x >= 10:
        s = f"{x:.1f}"
    else:
        s = f"{x:.2f}"
    return s + unit


def cell(values, unit=""):
    med = statistics.median(values)
    if len(values) == 1:
        return fmt(med, unit)
    return f"{fmt(med, unit)} ({fmt(min(values))}–{fmt(max(values))})"


def report(results, meta):
    v = load(results)
    m = dict(line.rstrip("\n").split("=", 1) for line in open(meta, encoding="utf-8") if "=" in line)
    med = lambda k: statistics.median(v[k])  # noqa: E731
    out = []
    w = out.append
    w(f"### {m['date']}, commit {m['commit']}")
    w("")
    w(f"Machine: {m['machine']}. Command: `{m['command']}` ({m['reps']} repetitions of "
      f"{m['seconds']} s per figure, alternating API and pgbench; median, min–max in brackets). "
      f"Run time {m.get('elapsed', '?')}.")
    w("")
    w("#### Targets")
    w("")
    w("| figure | target | measured | met |")
    w("| --- | --- | --- | --- |")

    def row(name, target, measured, ok):
        w(f"| {name} | {target} | {measured} | {'yes' if ok else '**no**'} |")

    r_get = med("get_api_rps") / med("get_pgbench_tps")
    row("`R_get` (API ÷ pgbench, same statements)", "≥ 0.75", f"{r_get:.2f}", r_get >= 0.75)
    r_write = med("post_api_rps") / med("post_pgbench_tps")
    row("`R_write`", "≥ 0.75", f"{r_write:.2f}", r_write >= 0.75)
    g_api = med("list1_1k_api_rps") / med("list1_1m_api_rps")
    g_pg = med("list1_1k_pgbench_tps") / med("list1_1m_pgbench_tps")
    row("list page 1, growth 1k → 1M todos (time per request)", "G ≤ 1.3 and ≤ pgbench G × 1.1",
        f"G = {g_api:.2f} (pgbench G = {g_pg:.2f})", g_api <= 1.3 and g_api <= g_pg * 1.1)
    deep = med("deep1_api_rps") / med("deep500_cursor_api_rps")
    row("the 500th page by cursor ÷ page 1 (time per request)", "≤ 2", f"{deep:.2f}", deep <= 2)
    stmts = int(max(v["list_statements"]))
    row("statements per populated page of 20", "≤ 5, fixed", f"{stmts} (limit 1: {int(max(v['list_statements_limit1']))})",
        stmts <= 5 and max(v["list_statements_limit1"]) == stmts)
    stack = med("stack_full_rps") / med("stack_none_rps")
    row("full layer stack on ÷ off", "≥ 0.90", f"{stack:.2f}", stack >= 0.90)
    p99 = med("get_p99_ms")
    row("p99 at 70 % of max rate, `GET /todos/{id}`", "≤ 10 ms", f"{p99:.2f} ms", p99 <= 10)
    jr, js = med("jobs_noop_redis"), med("jobs_noop_sqlite")
    row("no-op jobs end to end, Redis", "≥ 5,000 jobs/s", fmt(jr, " jobs/s"), jr >= 5000)
    row("no-op jobs end to end, SQLite", "≥ 1,000 jobs/s", fmt(js, " jobs/s"), js >= 1000)
    lat = max(med("jobs_latency_p50_redis_ms"), med("jobs_latency_p50_sqlite_ms"))
    row("enqueue → start, idle queue, p50", "≤ 50 ms",
        f"Redis {med('jobs_latency_p50_redis_ms'):.1f} ms, SQLite {med('jobs_latency_p50_sqlite_ms'):.1f} ms", lat <= 50)
    idle, peak = med("rss_idle_mib"), med("hwm_256_mib")
    row("resident memory idle", "≤ 40 MiB", f"{idle:.1f} MiB", idle <= 40)
    row("resident memory peak at 256 connections", "≤ 120 MiB", f"{peak:.1f} MiB", peak <= 120)
    cold = med("cold_sqlite_ms")
    row("cold start to ready, SQLite", "≤ 1 s", f"{cold:.0f} ms", cold <= 1000)
    w("")
    w("#### Every figure")
    w("")
    w("| figure | API (wrk, req/s) | pgbench (tx/s, same statements) | API ÷ pgbench |")
    w("| --- | --- | --- | --- |")
    for key, label in [
        ("get", "`GET /api/v1/todos/{id}` (populated), 1k"),
        ("post", "`POST /api/v1/todos`, 1k"),
        ("list1_1k", "`GET /api/v1/todos?limit=20`, page 1, 1k todos"),
        ("list1_1m", "`GET /api/v1/todos?limit=20`, page 1, 1M todos"),
        ("deep1", "page 1 of a user with 12,000 todos, 1M"),
        ("deep500_offset", "page 500 by `page=500`, 1M"),
        ("deep500_cursor", "page 500 by `cursor`, 1M"),
    ]:
        api, pg = v.get(f"{key}_api_rps"), v.get(f"{key}_pgbench_tps")
        if api and pg:
            w(f"| {label} | {cell(api)} | {cell(pg)} | {med(f'{key}_api_rps') / med(f'{key}_pgbench_tps'):.2f} |")
    if any(k.endswith("_baseline_rps") for k in v):
        w("")
        w("| figure | this build (req/s) | baseline build (req/s) | this ÷ baseline |")
        w("| --- | --- | --- | --- |")
        for key, label in [("get", "`GET /api/v1/todos/{id}`"), ("post", "`POST /api/v1/todos`"),
                           ("list1_1k", "list page 1, 1k"), ("list1_1m", "list page 1, 1M"),
                           ("deep1", "deep user page 1"), ("deep500_offset", "page 500 by offset"),
                           ("deep500_cursor", "page 500 by cursor")]:
            new, old = v.get(f"{key}_api_rps"), v.get(f"{key}_baseline_rps")
            if new and old:
                w(f"| {label} | {cell(new)} | {cell(old)} | {med(f'{key}_api_rps') / med(f'{key}_baseline_rps'):.2f} |")
    w("")
    w("| layer stack (`GET /api/v1/todos/{id}`) | req/s | ÷ everything off |")
    w("| --- | --- | --- |")
    none = med("stack_none_rps")
    for key, label in [("full", "everything on"), ("no_auth", "auth off (`bench.user`)"),
                       ("no_rate_limit", "rate limiter off"), ("none", "auth, rate limiter and standard layers off")]:
        if f"stack_{key}_rps" in v:
            w(f"| {label} | {cell(v[f'stack_{key}_rps'])} | {med(f'stack_{key}_rps') / none:.2f} |")
    w("")
    w("| other figure | value |")
    w("| --- | --- |")
    for key, label, unit in [
        ("get_p50_ms", "`GET /todos/{id}` p50 at 70 % of max rate (oha)", " ms"),
        ("get_p99_ms", "`GET /todos/{id}` p99 at 70 % of max rate (oha)", " ms"),
        ("get_oha_max_rps", "oha's own maximum, unthrottled, 64 connections", " req/s"),
        ("get_oha_rps", "rate oha held for the latency figures (70 % of its maximum)", " req/s"),
        ("jobs_noop_redis", "no-op jobs, Redis queue, PostgreSQL store", " jobs/s"),
        ("jobs_noop_sqlite", "no-op jobs, SQLite queue, SQLite store", " jobs/s"),
        ("jobs_digest_redis", "reminder digests, Redis", " jobs/s"),
        ("jobs_digest_sqlite", "reminder digests, SQLite", " jobs/s"),
        ("jobs_latency_p50_redis_ms", "enqueue → start p50, idle Redis queue", " ms"),
        ("jobs_latency_p50_sqlite_ms", "enqueue → start p50, idle SQLite queue", " ms"),
        ("redis_benchmark_lpush", "redis-benchmark LPUSH", " ops/s"),
        ("redis_benchmark_evalsha", "redis-benchmark EVAL (push script shape)", " ops/s"),
        ("rss_idle_mib", "VmRSS idle (PostgreSQL + Redis)", " MiB"),
        ("hwm_256_mib", "VmHWM after 256 connections", " MiB"),
        ("rss_after_mib", "VmRSS after the load", " MiB"),
        ("cold_sqlite_ms", "cold start → /readyz, SQLite (existing data)", " ms"),
        ("cold_sqlite_fresh_ms", "cold start → /readyz, SQLite (fresh: migrations included)", " ms"),
        ("cold_postgres_ms", "cold start → /readyz, PostgreSQL + Redis", " ms"),
        ("list_statements", "statements per list page of 20 (captured)", ""),
        ("get_statements", "statements per `GET /todos/{id}` (captured)", ""),
        ("post_statements", "statements per `POST /todos` (captured)", ""),
    ]:
        if key in v:
            w(f"| {label} | {cell(v[key], unit)} |")
    print("\n".join(out))


if __name__ == "__main__":
    cmd, *rest = sys.argv[1:]
    {"capture": capture, "wrk": wrk, "pgbench": pgbench, "oha": oha, "report": report}[cmd](*rest)
