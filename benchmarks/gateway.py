"""Gateway benchmark: from webhook receipt to the outgoing send call, through the whole stack.

A fake Telegram Bot API server (tests/fakes) records when each sendMessage arrives; the
benchmark posts Telegram webhook updates to a real gateway process in webhook mode, which
stores them, forwards them to a real Rasa server (with its real action server) and sends the
replies through python-telegram-bot to the fake server. The gateway and action server use a
fresh PostgreSQL database (the production path).

1. Closed loop: 1, 10 and 50 concurrent citizens; each sends a question, waits for the reply,
   "reads" for 1 s, and asks again. Latency p50/p95 from webhook POST to the first send.
2. Open loop: messages arrive at a fixed rate (30/s, then 40/s) from 400 citizens for 20 s;
   reports the rate answered and the latency while sustaining it.
Then checks that no reply was lost or duplicated (every update answered; the fake server saw
exactly the replies the gateway stored). Telegram's own send limit (30/s overall) is raised
for the run: the fake server has none, and the point is the gateway's capacity.

Run with `make bench` (after `make setup`), or alone with a choice of loads, e.g.
`.venv/bin/python -m benchmarks.gateway --citizens 50 --rates "" --repeat 3`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid

import httpx

from benchmarks.retrieval import percentile
from core.gc_pauses import freeze_long_lived
from core.settings import get_settings
from govbot.processes import start_action_server, start_gateway, start_rasa
from knowledge.evaluation import load_questions
from tests.fakes.server import BackgroundServer, free_port
from tests.fakes.telegram_api import FakeTelegram

TOKEN = "999:BENCH-token"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def fresh_database() -> str:
    import psycopg

    from core.migrate import upgrade

    name = f"govbot_bench_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    upgrade(url)
    return url


def drop_database(url: str) -> None:
    import psycopg

    from core.db import get_engine

    get_engine(url).dispose()
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


class Load:
    def __init__(self, fake: FakeTelegram, webhook: str, secret: str, questions: list[str]):
        self.fake, self.webhook, self.secret, self.questions = fake, webhook, secret, questions
        self.latencies: list[float] = []
        self.sent_updates = 0
        self.unanswered = 0
        self.retries = 0

    async def one(self, client: httpx.AsyncClient, chat: int, timeout: float = 15) -> None:
        update = self.fake.make_update(chat, random.choice(self.questions))
        before = len(self.fake.messages_to(chat))
        start = time.monotonic()
        self.sent_updates += 1
        for _attempt in range(3):  # Telegram redelivers when a webhook call fails
            try:
                r = await client.post(self.webhook, json=update,
                                      headers={"X-Telegram-Bot-Api-Secret-Token": self.secret})
                break
            except httpx.HTTPError:
                self.retries += 1
                await asyncio.sleep(0.5)
        else:
            self.unanswered += 1
            return
        if r.status_code != 200:
            self.unanswered += 1
            return
        while time.monotonic() - start < timeout:
            got = self.fake.messages_to(chat)
            if len(got) > before:
                self.latencies.append((got[before]["at"] - start) * 1000)
                return
            await asyncio.sleep(0.02)
        self.unanswered += 1

    async def closed_loop(self, citizens: int, seconds: float, think: float = 1.0) -> float:
        async def citizen(client: httpx.AsyncClient, chat: int, until: float) -> None:
            await asyncio.sleep(random.random() * think)
            while time.monotonic() < until:
                await self.one(client, chat)
                await asyncio.sleep(think)

        until = time.monotonic() + seconds
        start = time.monotonic()
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=citizens + 5)) as c:
            await asyncio.gather(*(citizen(c, 5_000_000 + random.randrange(10**8), until)
                                   for _ in range(citizens)))
        return time.monotonic() - start

    async def open_loop(self, rate: float, seconds: float, citizens: int = 400) -> float:
        chats = [7_000_000 + random.randrange(10**8) for _ in range(citizens)]
        tasks = []
        start = time.monotonic()
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=200)) as c:
            for i in range(int(rate * seconds)):
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self.one(c, chats[i % citizens], timeout=30)))
            await asyncio.gather(*tasks)
        return time.monotonic() - start


def row(label: str, load: Load, seconds: float) -> str:
    lat = load.latencies
    return (f"{label:>22}{load.sent_updates:>8}{statistics.median(lat):>9.0f}{percentile(lat, 95):>9.0f}"
            f"{load.sent_updates / seconds:>10.1f}{load.unanswered:>8}{load.retries:>9}")


def audit(db_url: str, fake: FakeTelegram) -> tuple[int, int, int]:
    """(updates not done, chats with more sends than stored replies, fewer)."""
    from sqlalchemy import func, select

    from core.db import session_scope
    from core.models import InboundUpdate, OutboundMessage

    with session_scope(db_url) as s:
        not_done = s.scalar(select(func.count()).select_from(InboundUpdate)
                            .where(InboundUpdate.status != "done"))
        stored = dict(s.execute(select(OutboundMessage.chat_id, func.count())
                                .group_by(OutboundMessage.chat_id)).all())
    sent: dict[str, int] = {}
    for m in fake.sent:
        sent[m["chat_id"]] = sent.get(m["chat_id"], 0) + 1
    duplicated = sum(1 for chat, n in sent.items() if n > stored.get(chat, 0))
    lost = sum(1 for chat, n in stored.items() if sent.get(chat, 0) < n)
    return not_done, duplicated, lost


def cpu_seconds(pid: int, *, descendants: bool = True) -> float:
    """User + system CPU time of a process so far, with its descendants' (the action server
    serves from a child process), from Linux's /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parent, used = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        parent[int(entry)] = int(fields[1])
        used[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    tree = {pid}
    while descendants:
        more = {p for p, pp in parent.items() if pp in tree} - tree
        if not more:
            break
        tree |= more
    return sum(used.get(p, 0.0) for p in tree)


class CpuMeter:
    """CPU milliseconds per message of each process of the stack during one load."""

    def __init__(self, processes: dict[str, int]):
        self.processes = processes

    def __enter__(self) -> CpuMeter:
        self.start = self._now()
        return self

    def _now(self) -> dict[str, float]:
        now = {name: cpu_seconds(pid) for name, pid in self.processes.items()}
        now["benchmark"] = cpu_seconds(os.getpid(), descendants=False)  # load + fake Telegram
        return now

    def __exit__(self, *_: object) -> None:
        self.used = {k: v - self.start[k] for k, v in self._now().items()}

    def line(self, messages: int, seconds: float) -> str:
        parts = ", ".join(f"{k} {v * 1000 / max(messages, 1):.1f}" for k, v in self.used.items())
        return (f"{'':>22}CPU ms per message: {parts}; all busy "
                f"{sum(self.used.values()) / seconds * 100:.0f}% of {os.cpu_count()} cores")


def reference_loop_ms() -> float:
    """Milliseconds of one core for a fixed pure-Python loop (best of 3): how fast this
    machine is today, to compare figures taken on different days or hosts."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.perf_counter() - start)
    return best * 1000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--citizens", default="1,10,50",
                        help="closed-loop loads, comma-separated (default 1,10,50; empty: none)")
    parser.add_argument("--rates", default="30,40",
                        help="open-loop arrival rates per second (default 30,40; empty: none)")
    parser.add_argument("--seconds", type=float, default=20, help="length of each load (default 20)")
    parser.add_argument("--repeat", type=int, default=1, help="run the loads this many times")
    return parser.parse_args(argv)


def numbers(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    random.seed(7)
    settings = get_settings()
    questions = [q.q for q in load_questions(settings.eval_set) if q.expected][:300]
    fake = FakeTelegram(TOKEN)
    server = BackgroundServer(fake.app).start()
    db_url = fresh_database()
    env = {"GOVBOT_DATABASE_URL": db_url}
    actions = start_action_server(free_port(), env=env)
    rasa = start_rasa(free_port(), action_url=actions.url, env=env)
    port = free_port()
    gateway = start_gateway(port, rasa_url=rasa.url, env={
        **env, "GOVBOT_TELEGRAM_BOT_TOKEN": TOKEN, "GOVBOT_TELEGRAM_API_URL": f"{server.url}/bot",
        "GOVBOT_PUBLIC_URL": f"http://127.0.0.1:{port}", "GOVBOT_RATE_LIMIT_PER_MINUTE": "100000",
        "GOVBOT_TELEGRAM_GLOBAL_PER_SECOND": "1000", "GOVBOT_ZALO_APP_ID": ""})
    try:
        deadline = time.monotonic() + 30
        while not fake.webhook and time.monotonic() < deadline:
            time.sleep(0.2)
        webhook, secret = fake.webhook["url"], fake.webhook["secret_token"]
        # measure a stack that is up: the gateway loads its own knowledge service (for the
        # degraded answers) in the background after it starts; /healthz waits for it
        while time.monotonic() < deadline + 120:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=120).status_code == 200:
                break
            time.sleep(1)
        warm = Load(fake, webhook, secret, questions)
        asyncio.run(warm.closed_loop(5, 5, think=0.2))
        # This process times the replies (its fake Telegram server records each send): a full
        # garbage collection here (up to ~90 ms, walking the stack's start-up objects) would
        # be counted as the assistant's latency. The servers do the same.
        freeze_long_lived("the benchmark's start-up")
        print("\nGateway benchmark (Telegram webhook -> store -> Rasa -> actions -> sendMessage)")
        print(f"machine speed: reference loop {reference_loop_ms():.0f} ms (lower is faster)")
        print(f"{'load':>22}{'msgs':>8}{'p50 ms':>9}{'p95 ms':>9}{'msgs/s':>10}{'lost':>8}{'retried':>9}")
        stack = {"rasa": rasa.popen.pid, "actions": actions.popen.pid, "gateway": gateway.popen.pid}
        for _round in range(args.repeat):
            for citizens in numbers(args.citizens):
                load = Load(fake, webhook, secret, questions)
                with CpuMeter(stack) as cpu:
                    seconds = asyncio.run(load.closed_loop(
                        citizens, args.seconds if citizens > 1 else min(15, args.seconds)))
                print(row(f"{citizens} citizens (1 s read)", load, seconds))
                print(cpu.line(load.sent_updates, seconds))
            for rate in numbers(args.rates):
                load = Load(fake, webhook, secret, questions)
                with CpuMeter(stack) as cpu:
                    seconds = asyncio.run(load.open_loop(rate, args.seconds))
                print(row(f"{rate}/s arriving", load, seconds))
                print(cpu.line(load.sent_updates, seconds))
        time.sleep(3)
        not_done, duplicated, lost = audit(db_url, fake)
        print(f"\nAudit: {len(fake.sent)} replies sent; updates not done {not_done}, chats with "
              f"duplicated replies {duplicated}, chats with lost replies {lost}")
    finally:
        gateway.stop()
        rasa.stop()
        actions.stop()
        server.stop()
        drop_database(db_url)


if __name__ == "__main__":
    main()
