"""The benchmark suite in one command: seed at scale, measure the reads, measure the writes,
and print every figure next to its target (issue 7) as JSON and as a table.

    python -m bench.run --scale smoke              # 5,000 tickets: about a minute
    python -m bench.run --scale full --out /tmp/bench.json
                                                  # 150,000 tickets, 1,000,000 messages

One Temporal dev server and one fresh database (dropped after) serve every phase; the writes
run last, on the seeded database, so that they do not disturb the reads (the API's, then the
workspace's ticket page).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import read_path, workspace_pages, write_path
from bench.common import bench_services
from bench.seed_scale import FULL, SMOKE, add_scale_arguments, scale_from_args, seed

SEARCHES = ("search_rare", "search_product", "search_common", "search_phrase",
            "search_prefix", "search_german")
# (label, where the figure is in the result, comparison, target)
TARGETS: list[tuple[str, tuple[str, ...], str, float]] = [
    ("intake 8 clients tickets/s", ("write", "intake", "c8", "tickets_per_s"), ">=", 110),
    ("intake 8 clients p99 ms", ("write", "intake", "c8", "latency", "p99_ms"), "<", 100),
    ("agent reply p99 ms", ("write", "reply", "latency", "p99_ms"), "<", 20),
    ("my open tickets p99 ms", ("read", "reads", "my_open", "latency", "p99_ms"), "<", 10),
    ("team queue p99 ms", ("read", "reads", "team_queue", "latency", "p99_ms"), "<", 20),
    ("view tickets p99 ms", ("read", "reads", "view_tickets", "latency", "p99_ms"), "<", 20),
    ("dashboard counts p99 ms", ("read", "reads", "dashboard", "latency", "p99_ms"), "<", 50),
    *[(f"{name.replace('_', ' ')} p99 ms", ("read", "reads", name, "latency", "p99_ms"), "<",
       50) for name in SEARCHES],
    ("ticket page p99 ms", ("page", "reads", "ticket_page", "latency", "p99_ms"), "<", 50),
    ("list page, my open p99 ms", ("page", "reads", "list_mine", "latency", "p99_ms"), "<", 50),
    ("list page, unassigned p99 ms", ("page", "reads", "list_unassigned", "latency", "p99_ms"),
     "<", 50),
    ("list page, at risk p99 ms", ("page", "reads", "list_at_risk", "latency", "p99_ms"),
     "<", 50),
    ("list page, breached p99 ms", ("page", "reads", "list_breached", "latency", "p99_ms"),
     "<", 50),
    ("list page, waiting p99 ms", ("page", "reads", "list_waiting", "latency", "p99_ms"),
     "<", 50),
]
# Reported without a target.
FIGURES: list[tuple[str, tuple[str, ...]]] = [
    ("intake 1 client tickets/s", ("write", "intake", "c1", "tickets_per_s")),
    ("intake 1 client p99 ms", ("write", "intake", "c1", "latency", "p99_ms")),
    ("intake 32 clients tickets/s", ("write", "intake", "c32", "tickets_per_s")),
    ("intake 32 clients p99 ms", ("write", "intake", "c32", "latency", "p99_ms")),
    ("kb suggest p99 ms", ("read", "reads", "kb_suggest", "latency", "p99_ms")),
    ("views sidebar p99 ms", ("page", "reads", "views_sidebar", "latency", "p99_ms")),
    ("mixed reads 8 clients req/s", ("read", "mix", "requests_per_s")),
    ("ticket page parts p99 ms", ("page", "reads", "ticket_parts", "latency", "p99_ms")),
    ("ticket page tail p99 ms", ("page", "reads", "ticket_tail", "latency", "p99_ms")),
]
PLANS = {"full": {"requests": 500, "tickets": 1000, "replies": 500},
         "smoke": {"requests": 100, "tickets": 100, "replies": 100}}


def dig(result: dict[str, Any], path: tuple[str, ...]) -> Any:
    found: Any = result
    for key in path:
        if not isinstance(found, dict) or key not in found:
            return None
        found = found[key]
    return found


def verdicts(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for label, path, op, target in TARGETS:
        value = dig(result, path)
        if value is None:
            verdict = "SKIPPED"
        else:
            verdict = "PASS" if (value >= target if op == ">=" else value < target) else "MISS"
        rows.append({"figure": label, "value": value, "target": f"{op} {target:g}",
                     "verdict": verdict})
    rows += [{"figure": label, "value": dig(result, path), "target": "-", "verdict": "-"}
             for label, path in FIGURES]
    return rows


async def run(args: argparse.Namespace) -> dict[str, Any]:
    scale = scale_from_args(args, FULL if args.scale == "full" else SMOKE)
    plan = PLANS[args.scale] | {k: v for k in ("requests", "tickets", "replies")
                                if (v := getattr(args, f"bench_{k}")) is not None}
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "scale": args.scale,
        "counts_requested": asdict(scale), "plan": plan,
        "machine": {"platform": platform.platform(), "python": platform.python_version()}}
    async with bench_services(pool_size=20) as (env, engine, url):
        started = time.perf_counter()
        seeded = await seed(url, scale)
        result["seed"] = {"timings_s": seeded.timings_s, "counts": seeded.counts,
                          "wall_s": round(time.perf_counter() - started, 1)}
        result["read"] = await read_path.measure(env.client, engine, seeded,
                                                 requests=plan["requests"])
        result["page"] = await workspace_pages.measure(env.client, engine, seeded,
                                                   requests=plan["requests"])
        try:
            result["write"] = await write_path.measure(
                env.client, engine, url, tickets=plan["tickets"],
                reply_count=plan["replies"], team_id=seeded.team_ids[0])
        except Exception as failed:  # noqa: BLE001 - keep the reads' figures
            result["write"] = {"intake": {}, "error": f"{type(failed).__name__}: {failed}"}
    result["verdicts"] = verdicts(result)
    return result


def print_table(result: dict[str, Any]) -> None:
    seed_info = result["seed"]
    print(f"\nseed ({result['scale']}): {seed_info['counts']} in {seed_info['wall_s']} s "
          f"{seed_info['timings_s']}")
    read_path.print_table(result["read"])
    write_path.print_table(result["write"])
    print(f"\n{'figure':<32}{'value':>10}{'target':>10}  verdict")
    for row in result["verdicts"]:
        value = "-" if row["value"] is None else row["value"]
        print(f"{row['figure']:<32}{value:>10}{row['target']:>10}  {row['verdict']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("full", "smoke"), default="smoke")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--requests", dest="bench_requests", type=int, default=None,
                        help="sequential requests per read")
    parser.add_argument("--write-tickets", dest="bench_tickets", type=int, default=None,
                        help="tickets per intake concurrency level")
    parser.add_argument("--replies", dest="bench_replies", type=int, default=None)
    add_scale_arguments(parser)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    document = json.dumps(result)
    print(document)
    if args.out:
        args.out.write_text(document + "\n")
    print_table(result)


if __name__ == "__main__":
    main()
