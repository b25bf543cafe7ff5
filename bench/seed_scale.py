"""Bulk-load a help desk at scale straight into the projections, for the read benchmarks.

Teams, agents, customers, open tickets with their SLA rows and consistent `due_at` /
`breach_state`, their messages (support text over a Zipf vocabulary, a few German and
Spanish) and knowledge-base articles, streamed through COPY from a seeded random.Random.
The secondary indexes of the big tables are dropped before the load and recreated after
from their own definitions (pg_get_indexdef), then VACUUM ANALYZE. No workflow runs: these
tickets exist only in the projections, which is all a read touches.

    python -m bench.seed_scale --tickets 5000 --messages 33000   # smoke, seconds
    python -m bench.seed_scale                                    # 150,000 / 1,000,000
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import TypeVar

import psycopg

from bench.seed_text import ERROR_CODES, PRODUCTS, TextGenerator
from db.tokens import PREFIXES, hash_token
from domain.access import TokenKind

T = TypeVar("T")

LOADED_TABLES = ("tickets", "ticket_messages", "sla_targets")
STATUSES = (("new", 25), ("assigned", 22), ("in_progress", 22), ("waiting_on_customer", 21),
            ("reopened", 10))
PRIORITIES = (("low", 20), ("medium", 55), ("high", 20), ("urgent", 5))
CHANNELS = (("email", 60), ("web", 20), ("chat", 12), ("api", 4), ("slack", 2), ("sms", 2))
FAR_FUTURE = "9999-01-01 00:00:00+00"
DAY = 86_400.0


@dataclass(frozen=True)
class Scale:
    tickets: int = 150_000
    messages: int = 1_000_000
    teams: int = 20
    agents: int = 2_000
    customers: int = 50_000
    articles: int = 500


FULL = Scale()
SMOKE = Scale(tickets=5_000, messages=33_000, agents=200, customers=2_000, articles=50)


@dataclass(frozen=True)
class BenchAgent:
    id: str
    team_ids: list[str]
    token: str
    open_tickets: int


@dataclass
class Seed:
    """What the benchmarks need from a seeded database."""

    url: str
    scale: Scale
    team_ids: list[str]
    agents: list[BenchAgent]  # with tokens, the busiest of each team first
    search_terms: dict[str, str]  # label -> a term known to occur, rare to everywhere
    timings_s: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def _weighted(pairs: tuple[tuple[str, int], ...]) -> tuple[list[str], list[int]]:
    return [p[0] for p in pairs], list(itertools.accumulate(p[1] for p in pairs))


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _target(budget_minutes: int, due: float, met: float | None, state: str
            ) -> dict[str, object]:
    """One target as the workflow projects it (db/queries.py sla_view reads it)."""
    return {"budget_minutes": budget_minutes, "due_at": _ts(due),
            "met_at": _ts(met) if met else None, "state": state,
            "remaining_business_seconds": None}


def _copy(conn: psycopg.Connection, table: str, columns: str, rows: Iterator[str]) -> int:
    """Stream tab-separated lines (text COPY format) in chunks; the number of rows."""
    count = 0
    with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        while chunk := list(itertools.islice(rows, 5_000)):
            copy.write("".join(chunk))
            count += len(chunk)
    return count


def _count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None  # an aggregate without GROUP BY always returns one row
    return int(row[0])


class Seeder:
    def __init__(self, url: str, scale: Scale, seed: int = 42) -> None:
        self.url, self.scale = url, scale
        self.rng = random.Random(seed)
        self.text = TextGenerator(self.rng)
        self.now = time.time()
        self.team_ids = [_uuid(self.rng) for _ in range(scale.teams)]
        self.agent_ids = [_uuid(self.rng) for _ in range(scale.agents)]
        per_team = max(1, scale.agents // scale.teams)
        self.members = [self.agent_ids[t * per_team:(t + 1) * per_team]
                        for t in range(scale.teams)]
        # The first two of each team also work the next team: a few agents in two teams.
        self.second_team = {self.members[t][i]: (t + 1) % scale.teams
                            for t in range(scale.teams) for i in range(min(2, per_team))}
        # Within a team, assignments follow Zipf: a few agents carry hundreds of tickets.
        self.member_weights = list(itertools.accumulate(1 / (r + 1) ** 0.8
                                                        for r in range(per_team)))
        self.customer_weights = list(itertools.accumulate(1 / (r + 1) ** 0.5
                                                          for r in range(scale.customers)))
        self.open_by_agent: Counter[str] = Counter()
        self.timings: dict[str, float] = {}

    def phase(self, name: str, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        result = work()
        self.timings[name] = round(time.perf_counter() - started, 2)
        print(f"seed: {name} {self.timings[name]} s", flush=True)
        return result

    def run(self) -> Seed:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")  # no FK triggers in a load
            self.phase("directory", lambda: self.load_directory(conn))
            indexes = self.phase("drop_indexes", lambda: self.drop_indexes(conn))
            self.phase("tickets_and_messages", self.load_tickets_and_messages)
            self.phase("kb_articles", lambda: self.load_articles(conn))
            self.phase("create_indexes", lambda: self.create_indexes(indexes))
            self.phase("vacuum_analyze", lambda: conn.execute(
                "VACUUM (ANALYZE) tickets, ticket_messages, sla_targets, customers, agents, "
                "agent_teams, kb_articles"))
            agents = self.load_tokens(conn)
            counts = {t: _count(conn, t) for t in ("tickets", "ticket_messages", "customers",
                                                   "agents", "kb_articles")}
        self.timings["total"] = round(sum(self.timings.values()), 2)
        return Seed(url=self.url, scale=self.scale, team_ids=self.team_ids, agents=agents,
                    search_terms=self.search_terms(), timings_s=self.timings, counts=counts)

    def load_directory(self, conn: psycopg.Connection) -> None:
        teams = ["Billing", "Shipping", "Returns", "Accounts", "Hardware", "Mobile", "Web",
                 "Enterprise", "Payments", "Subscriptions"]
        _copy(conn, "teams", "id, name", (
            f"{tid}\t{teams[i % len(teams)]} {i // len(teams) + 1}\n"
            for i, tid in enumerate(self.team_ids)))
        _copy(conn, "agents", "id, email, name, role", (
            f"{aid}\tagent{i}@helpdesk.example\tAgent {i}\t"
            f"{'lead' if i % len(self.members[0]) == 0 else 'agent'}\n"
            for i, aid in enumerate(self.agent_ids)))
        memberships = [(a, t) for t, members in enumerate(self.members) for a in members]
        memberships += [(a, t) for a, t in self.second_team.items()]
        _copy(conn, "agent_teams", "agent_id, team_id",
              (f"{a}\t{self.team_ids[t]}\n" for a, t in memberships))
        self.customer_ids = [_uuid(self.rng) for _ in range(self.scale.customers)]
        _copy(conn, "customers", "id, email, name, organization, tier", (
            f"{cid}\tcustomer{i}@example{i % 97}.com\tCustomer {i}\tOrg {i % 3000}\t"
            f"{'premium' if i % 10 == 0 else 'standard'}\n"
            for i, cid in enumerate(self.customer_ids)))

    def drop_indexes(self, conn: psycopg.Connection) -> list[str]:
        """Every index of the loaded tables that no constraint owns; their definitions."""
        rows = conn.execute("""
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
            WHERE t.relname = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """, (list(LOADED_TABLES),)).fetchall()
        for name, _ in rows:
            conn.execute(f"DROP INDEX {name}")
        return [definition for _, definition in rows]

    def create_indexes(self, definitions: list[str]) -> None:
        """Two at a time (two cores), largest tables' GIN indexes first."""
        ordered = sorted(definitions, key=lambda d: ("gin" not in d, "ticket_messages" not in d))

        def build(definition: str) -> None:
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute("SET maintenance_work_mem = '1GB'")
                conn.execute(definition)

        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(build, ordered))

    def load_tickets_and_messages(self) -> None:
        """Tickets and SLA rows on one connection, messages on another, written together."""
        plan = self.message_counts()
        with psycopg.connect(self.url, autocommit=True) as tconn, \
                psycopg.connect(self.url, autocommit=True) as mconn:
            for conn in (tconn, mconn):
                conn.execute("SET session_replication_role = replica")
            message_rows: list[str] = []
            sla_rows: list[str] = []
            with mconn.cursor().copy(
                    "COPY ticket_messages (id, ticket_id, seq, message_id, in_reply_to, "
                    "direction, visibility, author_type, author_id, body, created_at, "
                    "delivery_status, delivery_attempts, delivered_at, search_config, "
                    # The load bypasses triggers (replica role): the team the trigger would copy.
                    "team_id) "
                    "FROM STDIN") as mcopy:
                ticket_rows = self.ticket_rows(plan, message_rows, sla_rows, mcopy)
                _copy(tconn, "tickets", TICKET_COLUMNS, ticket_rows)
                mcopy.write("".join(message_rows))
            _copy(tconn, "sla_targets", SLA_COLUMNS, iter(sla_rows))

    def message_counts(self) -> list[int]:
        """1 + a long tail per ticket, summing exactly to the requested messages."""
        rng, n = self.rng, self.scale.tickets
        weights = [rng.expovariate(1.0) for _ in range(n)]
        spare = max(0, self.scale.messages - n)
        total = sum(weights)
        counts = [1 + int(w / total * spare) for w in weights]
        for i in rng.choices(range(n), k=self.scale.messages - sum(counts)):
            counts[i] += 1
        return counts

    def ticket_rows(self, plan: list[int], message_rows: list[str], sla_rows: list[str],
                    mcopy: psycopg.Copy) -> Iterator[str]:
        statuses, status_cw = _weighted(STATUSES)
        priorities, priority_cw = _weighted(PRIORITIES)
        channels, channel_cw = _weighted(CHANNELS)
        rng = self.rng
        for number, count in enumerate(plan):
            ticket = _TicketDraft(
                id=_uuid(rng), number=number, count=count,
                status=rng.choices(statuses, cum_weights=status_cw)[0],
                priority=rng.choices(priorities, cum_weights=priority_cw)[0],
                channel=rng.choices(channels, cum_weights=channel_cw)[0],
                team=rng.randrange(self.scale.teams),
                customer=bisect.bisect(self.customer_weights,
                                       rng.random() * self.customer_weights[-1]),
                created=self.now - 90 * DAY * rng.random() ** 2)
            ticket.assignee = self.pick_assignee(ticket)
            ticket.updated = ticket.created + (self.now - ticket.created) * rng.random()
            self.messages_of(ticket, message_rows)
            sla_rows.append(self.sla_row(ticket))
            if len(message_rows) >= 20_000:
                mcopy.write("".join(message_rows))
                message_rows.clear()
            yield self.ticket_row(ticket)

    def pick_assignee(self, ticket: _TicketDraft) -> str | None:
        unassigned = {"new": 1.0, "reopened": 0.4, "waiting_on_customer": 0.05}
        if self.rng.random() < unassigned.get(ticket.status, 0.0):
            return None
        members = self.members[ticket.team]
        rank = bisect.bisect(self.member_weights, self.rng.random() * self.member_weights[-1])
        agent = members[min(rank, len(members) - 1)]
        self.open_by_agent[agent] += 1
        return agent

    def messages_of(self, ticket: _TicketDraft, rows: list[str]) -> None:
        rng, text = self.rng, self.text
        times = sorted(ticket.created + (ticket.updated - ticket.created) * rng.random()
                       for _ in range(ticket.count - 1))
        previous = None
        email = f"customer{ticket.customer}@example{ticket.customer % 97}.com"
        for seq, at in enumerate([ticket.created, *times], start=1):
            if seq == 1 or ticket.status == "new":
                kind = "note" if seq > 1 and rng.random() < 0.3 else "customer"
            else:
                kind = rng.choices(("customer", "agent", "note"), (40, 45, 15))[0]
            message = text.message(kind)
            mid = f"{rng.getrandbits(128):032x}"
            message_id = f"<{mid}@{'mail.example.com' if kind == 'customer' else 'helpdesk.local'}>"
            author = {"customer": email, "agent": ticket.assignee or self.members[ticket.team][0],
                      "note": ticket.assignee or self.members[ticket.team][1 % len(
                          self.members[ticket.team])]}[kind]
            direction = {"customer": "inbound", "agent": "outbound", "note": "internal"}[kind]
            sent = kind == "agent"
            if sent and ticket.first_response is None:
                ticket.first_response = at
            ticket.internal += kind == "note"
            body = message.body.replace("\n", "\\n")
            rows.append(
                f"{mid}\t{ticket.id}\t{seq}\t{message_id}\t{previous or NULL}\t{direction}\t"
                f"{'internal' if kind == 'note' else 'public'}\t"
                f"{'customer' if kind == 'customer' else 'agent'}\t{author}\t{body}\t{_ts(at)}\t"
                f"{'sent' if sent else NULL}\t{1 if sent else 0}\t{_ts(at + 2) if sent else NULL}"
                f"\t{message.config}\t{self.team_ids[ticket.team]}\n")
            previous = message_id
        if ticket.count == 1:
            ticket.updated = ticket.created

    def sla_row(self, ticket: _TicketDraft) -> str:
        """Deadlines relative to now: a few % breached, some at risk, waiting ones paused."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.04:
            due, state = self.now - rng.uniform(600, 3 * DAY), "breached"
        elif roll < 0.10:
            due, state = self.now + rng.uniform(60, 1800), "at_risk"
        else:
            due, state = self.now + rng.uniform(1800, 5 * DAY), "ok"
        resolution = due + rng.uniform(DAY, 5 * DAY)
        first_due = due if ticket.first_response is None else None
        next_due = due if ticket.first_response is not None else None
        paused = ticket.status == "waiting_on_customer"
        ticket.due_at = FAR_FUTURE if paused else _ts(due)
        ticket.breach_state = state
        targets = {"first_response": _target(60, first_due or ticket.created + 3600,
                                             ticket.first_response,
                                             state if first_due else "ok"),
                   "resolution": _target(2400, resolution, None, "ok")}
        if next_due:
            targets["next_reply"] = _target(240, next_due, None, state)
        cells = [ticket.id, "default", "always", ticket.priority,
                 _ts(first_due) if first_due else NULL, _ts(next_due) if next_due else NULL,
                 _ts(resolution), _ts(ticket.updated) if paused else NULL,
                 "waiting_on_customer" if paused else NULL, state,
                 _ts(due - 1800) if state != "ok" else NULL,
                 _ts(due) if state == "breached" else NULL,
                 _ts(ticket.first_response) if ticket.first_response else NULL,
                 json.dumps(targets)]
        return "\t".join(cells) + "\n"

    def ticket_row(self, ticket: _TicketDraft) -> str:
        c = ticket.customer
        tags = "{" + ",".join(self.text.tags()) + "}"
        cells = [ticket.id, f"SEED-{ticket.number:07d}", self.text.subject(), ticket.status,
                 ticket.priority, ticket.channel, self.customer_ids[c],
                 f"customer{c}@example{c % 97}.com", f"Customer {c}",
                 self.team_ids[ticket.team], ticket.assignee or NULL, tags,
                 _ts(ticket.created), _ts(ticket.updated), _ts(ticket.updated),
                 _ts(ticket.first_response) if ticket.first_response else NULL,
                 "1" if ticket.status == "reopened" else "0", str(ticket.count),
                 str(ticket.count - ticket.internal), str(ticket.internal),
                 str(ticket.count + 2), ticket.due_at, ticket.breach_state, "english"]
        return "\t".join(cells) + "\n"

    def load_articles(self, conn: psycopg.Connection) -> None:
        def rows() -> Iterator[str]:
            for _ in range(self.scale.articles):
                title, body, tags = self.text.article()
                published = "t" if self.rng.random() < 0.85 else "f"
                yield (f"{_uuid(self.rng)}\t{title}\t{body}\t{{{','.join(tags)}}}\t"
                       f"{published}\tenglish\n")

        _copy(conn, "kb_articles", "id, title, body, tags, published, search_config", rows())

    def load_tokens(self, conn: psycopg.Connection) -> list[BenchAgent]:
        """Agent tokens (stored as db/tokens.py stores them) for the top 3 of each team."""
        agents = []
        for t, members in enumerate(self.members):
            busiest = sorted(members, key=lambda a: -self.open_by_agent[a])[:3]
            for agent_id in busiest:
                secret = PREFIXES[TokenKind.AGENT] + f"{self.rng.getrandbits(256):064x}"
                conn.execute(
                    "INSERT INTO api_tokens (id, kind, name, token_hash, prefix, agent_id, "
                    "created_by) VALUES (%s, 'agent', 'bench', %s, %s, %s, 'bench')",
                    (_uuid(self.rng), hash_token(secret), secret[:8], agent_id))
                teams = [self.team_ids[t]] + ([self.team_ids[self.second_team[agent_id]]]
                                              if agent_id in self.second_team else [])
                agents.append(BenchAgent(agent_id, teams, secret, self.open_by_agent[agent_id]))
        return sorted(agents, key=lambda a: -a.open_tickets)

    def search_terms(self) -> dict[str, str]:
        return {"rare_code": ERROR_CODES[400], "common_code": ERROR_CODES[0],
                "product": PRODUCTS[0], "common_word": "refund",
                "phrase": '"payment failed"', "prefix": "invoi",
                "german": "Bestellung nicht angekommen"}


@dataclass
class _TicketDraft:
    id: str
    number: int
    count: int
    status: str
    priority: str
    channel: str
    team: int
    customer: int
    created: float
    assignee: str | None = None
    updated: float = 0.0
    first_response: float | None = None
    internal: int = 0
    due_at: str = FAR_FUTURE
    breach_state: str = "ok"


NULL = "\\N"
TICKET_COLUMNS = ("id, public_ref, subject, status, priority, channel, customer_id, "
                  "customer_email, customer_name, team_id, assignee_id, tags, created_at, "
                  "updated_at, public_updated_at, first_response_at, reopen_count, message_count, "
                  "public_message_count, internal_note_count, version, due_at, breach_state, "
                  "search_config")
SLA_COLUMNS = ("ticket_id, policy, calendar, priority, first_response_due, next_reply_due, "
               "resolution_due, paused_at, pause_reason, breach_state, at_risk_at, "
               "breached_at, first_response_at, targets")


async def seed(url: str, scale: Scale, seed_value: int = 42) -> Seed:
    """Load `scale` into the (migrated, empty) database at `url`."""
    return await asyncio.to_thread(Seeder(url, scale, seed_value).run)


def scale_from_args(args: argparse.Namespace, base: Scale) -> Scale:
    chosen = {k: getattr(args, k) for k in ("tickets", "messages", "teams", "agents")
              if getattr(args, k, None) is not None}
    return replace(base, **chosen)


def add_scale_arguments(parser: argparse.ArgumentParser) -> None:
    for name in ("tickets", "messages", "teams", "agents"):
        parser.add_argument(f"--{name}", type=int, default=None)


async def _main(scale: Scale) -> None:
    from bench.common import postgres_database

    async with postgres_database() as url:
        result = await seed(url, scale)
    summary = {"scale": asdict(scale), "timings_s": result.timings_s, "counts": result.counts}
    print(json.dumps(summary))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("full", "smoke"), default="full")
    add_scale_arguments(parser)
    args = parser.parse_args()
    base = FULL if args.scale == "full" else SMOKE
    asyncio.run(_main(scale_from_args(args, base)))


if __name__ == "__main__":
    main()
