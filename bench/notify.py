#!/usr/bin/env python3
"""The notify step in bulk: N due incident emails sent through a real SMTP server and recorded.

In-process, on a fresh database (a temporary SQLite file, or the PostgreSQL database named by
``--pg-url``, dropped and created again): migrate and ``tocsin init``, then N triggered incidents
with one assigned user each (the admin) and N pending email notifications due now, all written
in bulk through Core. An aiosmtpd server accepts every message: in this process (its own thread
and loop, sharing the GIL with Tocsin; the default) or in a child process (``--smtp process``,
its own core, as a real mail server would be). The clock is frozen; ``NotifyStep.run`` is called
until it reports no more work, and the whole of that is timed (the issue's target for N = 10,000:
< 5 s). Afterwards the rows, the ``notify_log_entry`` rows and the server's count of messages
are checked (``consistent``), and the SMTP sessions (EHLOs) are reported.

``--floor`` times the SMTP part alone (the same messages over 8 kept connections, no database,
no step): the ceiling of this setup on this machine.

Usage: `.venv/bin/python bench/notify.py --backend sqlite|postgres|both [--count 10000]`
       [--smtp thread|process] [--loop uvloop|asyncio] [--batch N] [--pool N] [--floor]
       [--profile FILE: a cProfile of the timed runs (the main thread only)]
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosmtplib
import uvloop
from aiosmtpd.controller import Controller
from common import CountingMailbox, free_port, load_average, machine_info, recreate_pg  # bench/ is sys.path[0]
from smtp_sink import SinkProcess
from sqlalchemy import func, insert, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's tocsin, even when another one is installed

from tocsin.auth.models import User  # noqa: E402
from tocsin.bootstrap import initialise  # noqa: E402
from tocsin.clock import FrozenClock  # noqa: E402
from tocsin.config import Settings  # noqa: E402
from tocsin.db.base import table_of  # noqa: E402
from tocsin.db.session import Database  # noqa: E402
from tocsin.engine.notify import NotifyStep  # noqa: E402
from tocsin.ids import new_id  # noqa: E402
from tocsin.incidents.models import Incident, IncidentAssignment, LogEntry  # noqa: E402
from tocsin.notifications.channels import Channels  # noqa: E402
from tocsin.notifications.messages import IncidentFacts, incident_message  # noqa: E402
from tocsin.notifications.mime import Composed, compose, parse_sender  # noqa: E402
from tocsin.notifications.models import EMAIL, INCIDENT, PENDING, SENT, Notification  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1:5432/tocsin_bench_notify"
CHUNK = 1000  # rows per bulk insert statement


async def seed(db: Database, service_id: str, user_id: str, count: int, now: datetime) -> None:
    """``count`` triggered incidents assigned to ``user_id`` and one due email for each."""
    ref = {"id": user_id, "type": "user_reference"}
    async with db.write_turn(), db.transaction() as session:
        top = await session.scalar(select(func.coalesce(func.max(Incident.number), 0)))
        for start in range(0, count, CHUNK):
            incidents, assignments, notes = [], [], []
            for i in range(start, min(count, start + CHUNK)):
                iid = new_id()
                incidents.append({
                    "id": iid, "number": (top or 0) + i + 1, "title": f"bench: disk {i} full", "description": None,
                    "status": "triggered", "urgency": "high", "service_id": service_id, "incident_key": f"b{i}",
                    "escalation_policy_id": None, "priority_id": None, "acknowledgements": [],
                    "assignments": [{"at": now.isoformat(), "assignee": ref}], "created_at": now,
                    "updated_at": now, "last_status_change_at": now, "last_status_change_by": ref,
                    "resolved_at": None, "escalation_level": 1, "snoozed_until": None, "merged_into_id": None,
                    "details": f"bench detail {i}", "conference_bridge": None,
                })
                assignments.append({"incident_id": iid, "user_id": user_id, "at": now})
                notes.append({
                    "id": new_id(), "key": f"inc:{iid}:{user_id}:bench:{now.isoformat()}", "kind": INCIDENT,
                    "incident_id": iid, "user_id": user_id, "contact_method_id": None, "rule_id": None,
                    "channel": EMAIL, "address": f"oncall{i % 50}@bench.test", "urgency": "high", "detail": None,
                    "status": PENDING, "due_at": now, "attempts": 0, "last_error": None,
                    "provider_response": None, "sent_at": None, "created_at": now, "updated_at": now,
                })
            await session.execute(insert(table_of(Incident)), incidents)
            await session.execute(insert(table_of(IncidentAssignment)), assignments)
            await session.execute(insert(table_of(Notification)), notes)


class SmtpServer:
    """The aiosmtpd server: in this process (its own thread and event loop, sharing the GIL with
    Tocsin, as the brief asks), or in a child process (``--smtp process``, bench/smtp_sink.py: its
    own core, as a real mail server would be)."""

    def __init__(self, where: str) -> None:
        self.port = free_port()
        self.mailbox = CountingMailbox()
        self._controller: Controller | None = None
        self._child: SinkProcess | None = None
        if where == "thread":
            self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
            self._controller.start()
        else:
            self._child = SinkProcess(self.port)

    def stop(self) -> dict[str, Any]:
        """Stop it; the sessions and messages it saw (and, in a process, the CPU it used)."""
        if self._controller is not None:
            self._controller.stop()
            return {"smtp_sessions": self.mailbox.sessions, "smtp_messages": self.mailbox.messages}
        assert self._child is not None
        self._child.stop()
        seen = self._child.seen
        return {"smtp_sessions": seen["sessions"], "smtp_messages": seen["messages"],
                "smtp_server_cpu_s": round(seen["cpu_s"], 2)}


async def floor(args: argparse.Namespace) -> dict[str, Any]:
    """The SMTP part alone, for scale: ``--count`` messages like the step's (composed the same
    way) sent with aiosmtplib over ``--pool`` (default 8) kept connections, no database."""
    smtp = SmtpServer(args.smtp)
    sender = parse_sender("Tocsin <tocsin@bench.test>")
    facts = IncidentFacts("PBENCH1", 1, "bench: disk 1 full", "high", "Demo Service", (("Details", "bench"),))
    links = {"acknowledge": "http://tocsin.bench/a/" + "x" * 150, "resolve": "http://tocsin.bench/a/" + "y" * 150}
    mails = [compose(incident_message(f"PN{n}", EMAIL, f"oncall{n % 50}@bench.test", facts,
                                      base_url="http://tocsin.bench", links=links),
                     sender, date="Sat, 05 Dec 2026 03:00:00 +0000", message_id=f"<PN{n}@bench.test>",
                     boundary="=_bench_0123456789") for n in range(args.count)]
    connections = args.pool or 8
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=smtp.port, local_hostname="localhost")
               for _ in range(connections)]
    try:
        for client in clients:
            await client.connect()
        started, cpu_started = time.perf_counter(), time.process_time()

        async def worker(client: aiosmtplib.SMTP, mine: list[Composed]) -> None:
            for mail in mine:
                await client.sendmail(mail.sender, [mail.recipient], mail.data)

        await asyncio.gather(*(worker(c, mails[n::connections]) for n, c in enumerate(clients)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        for client in clients:
            await client.quit()
    finally:
        seen = smtp.stop()
    return {"floor": "aiosmtplib -> aiosmtpd only", "smtp_server": args.smtp, "loop": args.loop,
            "count": args.count, "connections": connections, "seconds": round(elapsed, 3),
            "process_cpu_s": round(cpu, 2), "sends_per_s": round(args.count / elapsed), **seen}


async def bench(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    smtp = SmtpServer(args.smtp)
    tmp = Path(tempfile.mkdtemp(prefix=f"tocsin-notify-bench-{backend}-"))
    db_url = f"sqlite:///{tmp}/bench.db" if backend == "sqlite" else args.pg_url
    db: Database | None = None
    channels: Channels | None = None
    result: dict[str, Any] = {}
    try:
        if backend == "postgres":
            await recreate_pg(args.pg_url)
        settings = Settings(database_url=db_url, public_url="http://tocsin.bench", smtp_host="127.0.0.1",
                            smtp_port=smtp.port, smtp_security="none", email_from="Tocsin <tocsin@bench.test>",
                            admin_email="admin@bench.test")
        init = await initialise(settings)  # migrates first
        assert init.service_id is not None
        db = Database(db_url)
        async with db.transaction() as session:
            admin = await session.scalar(select(User.id).where(User.email == init.admin_email))
        assert admin is not None
        clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
        seed_started = time.perf_counter()
        await seed(db, init.service_id, admin, args.count, clock.now())
        seed_s = time.perf_counter() - seed_started

        outcomes: dict[str, int] = {}

        def sent(channel: str, outcome: str, rows: int) -> None:
            outcomes[outcome] = outcomes.get(outcome, 0) + rows

        channels = Channels.from_settings(settings, clock.now)
        if args.pool:
            channels.email.pool.size = args.pool  # before first use: the pool sizes itself then
        options = {"batch_size": args.batch} if args.batch else {}
        step = NotifyStep(db, clock.now, channels, sent, settings.base_url, **options)
        runs = 0
        profiler = cProfile.Profile() if args.profile else None
        started, cpu_started = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        while True:
            ran = await step.run(clock.now())
            runs += 1
            if not ran.more:
                break
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)

        async with db.transaction() as session:
            sent_rows = await session.scalar(select(func.count()).select_from(Notification)
                                             .where(Notification.status == SENT))
            logged = await session.scalar(select(func.count()).select_from(LogEntry)
                                          .where(LogEntry.type == "notify_log_entry"))
        result = {"backend": backend, "smtp_server": args.smtp, "loop": args.loop, "count": args.count,
                  "batch_size": step.batch_size, "smtp_pool": channels.email.pool.size, "runs": runs,
                  "seed_s": round(seed_s, 2), "seconds": round(elapsed, 3), "process_cpu_s": round(cpu, 2),
                  "sends_per_s": round(args.count / elapsed), "sent_rows": sent_rows, "notify_log_entries": logged,
                  "outcomes": outcomes}
    finally:
        if channels is not None:
            await channels.aclose()
        if db is not None:
            await db.dispose()
        seen = smtp.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    result.update(seen)
    # Every incident's page sent and logged once. The messages are fewer: each run bundles one
    # person's pages to one address into one message (every incident here pages the admin).
    result["consistent"] = (result["sent_rows"] == result["notify_log_entries"] == args.count
                            and 0 < seen["smtp_messages"] <= args.count)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=0, help="NotifyStep batch_size (default: the step's own)")
    parser.add_argument("--pool", type=int, default=0, help="SMTP connections per channel (default: the channel's)")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--profile", help="write a cProfile of the timed runs to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--smtp", choices=["thread", "process"], default="thread",
                        help="run the SMTP server in this process (default) or in a child process")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop",
                        help="the event loop (tocsin serve runs on uvloop)")
    parser.add_argument("--floor", action="store_true",
                        help="time the SMTP part alone (no database, no step): the ceiling of this setup")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print(json.dumps({"machine": {**machine_info(), "loadavg": load_average()}}))
    run = uvloop.run if args.loop == "uvloop" else asyncio.run
    if args.floor:
        print(json.dumps(run(floor(args))), flush=True)
        return
    for backend in backends:
        print(json.dumps(run(bench(backend, args))), flush=True)


if __name__ == "__main__":
    main()
