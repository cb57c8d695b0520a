"""Handoff benchmark: 100 concurrent escalations through a real gateway process.

A gateway process (PostgreSQL, Telegram in webhook mode, Zalo configured) talks to the fake
Telegram and Zalo servers of tests/fakes. 100 cases are created at once the way the
escalation action creates them (record + route) for 50 Zalo and 50 Telegram citizens in 50
communes (two per commune at the same moment). Then:
1. time from a case being routed (when the action tells the citizen) to its card in the team's
   group chat (p50/p95);
2. every card gets two claim presses at once from two members: exactly one must win;
3. each citizen sends 3 numbered messages and each winning member 3 numbered replies, all at
   once; every message must reach exactly its counterpart, once, in order (0 lost, 0
   misrouted, 0 duplicated), with the relay latency from webhook POST to the send call;
4. every case is closed (/xong) and every citizen must get the rating request.
Rasa is not involved: while a member holds a case the assistant stays out of it. Telegram's
global send limit (30/s) is lifted for the run, as in benchmarks/gateway.py: with it, 100 cards
at once take 3 s to send by themselves.

Run with `make bench` (after `make setup`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import json
import re
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from actions.records import ConversationRecords
from benchmarks.gateway import drop_database, fresh_database
from benchmarks.retrieval import percentile
from govbot.processes import start_gateway
from teams.cases import Cases
from teams.directory import parse_yaml
from teams.store import TeamStore
from tests.fakes import zalo_api
from tests.fakes.server import BackgroundServer, free_port
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo

TOKEN = "999:HANDOFF-bench"
COMMUNES = 50
MEMBERS = 4
CASES = 100  # two per commune, at the same moment
MESSAGES = 3
COMMUNE_NAMES = [f"{a} {b}" for a in ("Tân", "Phú", "Bình", "Hòa", "Đông", "Tây", "Vĩnh", "Long",
                                      "Thượng", "Quang")
                 for b in ("Lập", "Thịnh", "Hưng", "Phong", "Lộc")]


def group(i: int) -> int:
    return -1008000000100 - i


def member(i: int, j: int) -> int:
    return 8_000_000 + i * 100 + j


def directory_yaml() -> str:
    lines = ["central:", "  name: Tổ hỗ trợ trung tâm", '  telegram_chat_id: "-1008000000001"',
             '  phone: "1900 0000 01"', '  hours: {mon-sun: ["00:00-24:00"]}', "  members:",
             "    - {telegram_id: 8000001, name: Điều phối viên}", "provinces:",
             "  - name: Thái Nguyên", "    communes:"]
    for i, name in enumerate(COMMUNE_NAMES[:COMMUNES]):
        lines += [f"      - name: {name}", "        kind: xã", "        team:",
                  f"          name: Tổ công nghệ số xã {name}",
                  f'          telegram_chat_id: "{group(i)}"', f'          phone: "0912 000 {i:03d}"',
                  '          hours: {mon-sun: ["00:00-24:00"]}', "          members:"]
        lines += [f"            - {{telegram_id: {member(i, j)}, name: Thành viên {i}-{j}}}"
                  for j in range(MEMBERS)]
    return "\n".join(lines) + "\n"


class Bench:
    def __init__(self, url: str, telegram: FakeTelegram, zalo: FakeZalo, gateway_url: str):
        self.url, self.telegram, self.zalo, self.gateway = url, telegram, zalo, gateway_url
        self.secret = ""
        self.created: dict[int, float] = {}  # case id -> monotonic creation time
        self.citizen: dict[int, tuple[str, str]] = {}  # case id -> (channel, id)
        self.commune: dict[int, int] = {}  # case id -> commune index
        self.creating: list[float] = []  # seconds to record + route each case

    # --- phase 1: cases and cards ------------------------------------------------------------

    def create(self, n: int) -> None:
        records, cases = ConversationRecords(self.url), Cases(self.url)
        cases.directory()  # loaded once per process, as in the action server

        def one(k: int) -> None:
            commune = COMMUNE_NAMES[k % COMMUNES]
            channel, who = ("zalo", f"zb{k}") if k % 2 else ("telegram", str(6_000_000 + k))
            sender = f"zalo:{who}" if channel == "zalo" else f"tg:{who}"
            start = time.monotonic()
            case_id = records.create_escalation(
                sender, location=f"xa {commune.lower()} thai nguyen", topic="EID03", step=2,
                question=f"không kích hoạt được (công dân {k})", transcript=[],
                consent_at=dt.datetime.now(dt.UTC))
            cases.route(case_id, f"xã {commune}, Thái Nguyên")
            # From the moment the action tells the citizen "đã chuyển" (the case is routed).
            self.created[case_id], self.citizen[case_id] = time.monotonic(), (channel, who)
            self.creating.append(time.monotonic() - start)
            self.commune[case_id] = k % COMMUNES

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(one, range(n)))

    def cards(self) -> dict[int, dict]:
        found = {}
        for m in self.telegram.sent:
            match = re.search(r"Yêu cầu hỗ trợ #(\d+)", html.unescape(m["text"]))
            if match and int(m["chat_id"]) < 0:
                found.setdefault(int(match.group(1)), m)
        return found

    # --- phase 2: claims ---------------------------------------------------------------------

    retries = 0

    async def _post(self, client: httpx.AsyncClient, url: str, **kwargs) -> None:
        """As Telegram and Zalo do: a failed delivery is delivered again (same id: the
        gateway drops the duplicate if the first one was stored after all)."""
        for attempt in range(4):
            try:
                r = await client.post(url, **kwargs)
                r.raise_for_status()
                return
            except httpx.TransportError:
                Bench.retries += 1
                await asyncio.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"delivery to {url} failed 4 times")

    async def post_update(self, client: httpx.AsyncClient, update: dict) -> float:
        start = time.monotonic()
        await self._post(client, f"{self.gateway}/webhooks/telegram", json=update,
                         headers={"X-Telegram-Bot-Api-Secret-Token": self.secret})
        return start

    async def post_zalo(self, client: httpx.AsyncClient, user: str, text: str) -> float:
        event = self.zalo.event(user, text)
        raw = json.dumps(event, ensure_ascii=False).encode()
        start = time.monotonic()
        await self._post(client, f"{self.gateway}/webhooks/zalo", content=raw, headers={
            "Content-Type": "application/json",
            "X-ZEvent-Signature": zalo_api.sign(raw, event["timestamp"])})
        return start


async def claims(bench: Bench, cards: dict[int, dict]) -> tuple[dict[int, int], int]:
    """Two members press each card at once; returns ({case: winner}, cases with != 1 winner)."""
    presses = []
    per_team: dict[int, int] = {}
    for case_id, card in sorted(cards.items()):
        team = -int(card["chat_id"]) - 1008000000100
        k = per_team.get(team, 0)
        per_team[team] = k + 1
        for j in ((2 * k) % MEMBERS, (2 * k + 1) % MEMBERS):  # a member holds one case at most
            presses.append((case_id, member(team, j), bench.telegram.make_update(
                int(card["chat_id"]), callback_data=f"#claim:{case_id}", from_id=member(team, j),
                from_name=f"M{team}-{j}", message_id=card["message_id"])))
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100)) as client:
        await asyncio.gather(*(bench.post_update(client, u) for _, _, u in presses))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all(u["callback_query"]["id"] in bench.telegram.callback_texts for _, _, u in presses):
            break
        await asyncio.sleep(0.1)
    winners: dict[int, list[int]] = {}
    for case_id, user, update in presses:
        if bench.telegram.callback_texts.get(update["callback_query"]["id"], "").startswith("Bạn đã nhận"):
            winners.setdefault(case_id, []).append(user)
    bad = sum(1 for case_id in cards if len(winners.get(case_id, [])) != 1)
    return {c: w[0] for c, w in winners.items() if len(w) == 1}, bad


# --- phase 3: relay ------------------------------------------------------------------------


async def relay(bench: Bench, holders: dict[int, int]) -> dict[str, object]:
    sent_at: dict[str, float] = {}

    async def citizen(client, case_id: int) -> None:
        channel, who = bench.citizen[case_id]
        for k in range(MESSAGES):
            token = f"c{case_id}x{k}"
            if channel == "zalo":
                sent_at[token] = await bench.post_zalo(client, who, f"tin {token} của công dân")
            else:
                sent_at[token] = await bench.post_update(
                    client, bench.telegram.make_update(int(who), f"tin {token} của công dân"))
            await asyncio.sleep(0.3)

    async def helper(client, case_id: int) -> None:
        for k in range(MESSAGES):
            token = f"m{case_id}x{k}"
            sent_at[token] = await bench.post_update(
                client, bench.telegram.make_update(holders[case_id], f"trả lời {token} nhé"))
            await asyncio.sleep(0.3)

    start = time.monotonic()
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100)) as client:
        await asyncio.gather(*(citizen(client, c) for c in holders),
                             *(helper(client, c) for c in holders))
    expected = len(holders) * MESSAGES * 2
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and sum(map(len, _received(bench).values())) < expected:
        await asyncio.sleep(0.2)
    elapsed = time.monotonic() - start
    received = _received(bench)
    lost = misrouted = duplicated = out_of_order = 0
    latencies = []
    for case_id, holder in holders.items():
        channel, who = bench.citizen[case_id]
        for side, recipient in (("c", ("telegram", str(holder))), ("m", (channel, who))):
            tokens = [f"{side}{case_id}x{k}" for k in range(MESSAGES)]
            got = [(t, at) for (t, at) in received.get(recipient, []) if t in tokens]
            seen = [t for t, _ in got]
            lost += sum(1 for t in tokens if t not in seen)
            duplicated += len(seen) - len(set(seen))
            out_of_order += int(seen != sorted(seen, key=tokens.index))
            latencies += [(at - sent_at[t]) * 1000 for t, at in got]
    for recipient, items in received.items():
        for token, _ in items:
            case_id = int(token[1:].split("x")[0])
            channel, who = bench.citizen[case_id]
            right = ("telegram", str(holders[case_id])) if token[0] == "c" else (channel, who)
            misrouted += int(recipient != right)
    return {"messages": expected, "lost": lost, "misrouted": misrouted, "duplicated": duplicated,
            "out_of_order": out_of_order, "seconds": elapsed, "latencies": latencies}


TOKEN_RE = re.compile(r"\b([cm]\d+x\d+)\b")


def _received(bench: Bench) -> dict[tuple[str, str], list[tuple[str, float]]]:
    out: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for m in list(bench.telegram.sent):
        for token in TOKEN_RE.findall(html.unescape(m["text"])):
            out.setdefault(("telegram", m["chat_id"]), []).append((token, m["at"]))
    for m in list(bench.zalo.sent):
        for token in TOKEN_RE.findall(m["message"]["text"]):
            out.setdefault(("zalo", m["recipient"]["user_id"]), []).append((token, m["at"]))
    return out


async def close_all(bench: Bench, holders: dict[int, int]) -> int:
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100)) as client:
        await asyncio.gather(*(bench.post_update(client, bench.telegram.make_update(
            holder, f"/xong Đã hỗ trợ ca {case_id}")) for case_id, holder in holders.items()))
    deadline = time.monotonic() + 60

    def rated() -> int:
        count = 0
        for case_id in holders:
            channel, who = bench.citizen[case_id]
            texts = ([html.unescape(m["text"]) for m in bench.telegram.messages_to(int(who))]
                     if channel == "telegram" else
                     [m["message"]["text"] for m in bench.zalo.messages_to(who)])
            count += any("chấm điểm" in t for t in texts)
        return count

    while time.monotonic() < deadline and rated() < len(holders):
        await asyncio.sleep(0.2)
    return rated()


def main() -> None:
    telegram, zalo = FakeTelegram(TOKEN), FakeZalo()
    tg_server, zalo_server = BackgroundServer(telegram.app).start(), BackgroundServer(zalo.app).start()
    db_url = fresh_database()
    TeamStore(db_url).import_directory(parse_yaml(directory_yaml(), "bench.yml"))
    port = free_port()
    gateway = start_gateway(port, rasa_url=f"http://127.0.0.1:{free_port()}", env={
        "GOVBOT_DATABASE_URL": db_url, "GOVBOT_TELEGRAM_BOT_TOKEN": TOKEN,
        "GOVBOT_TELEGRAM_API_URL": f"{tg_server.url}/bot", "GOVBOT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GOVBOT_ZALO_APP_ID": zalo_api.APP_ID, "GOVBOT_ZALO_APP_SECRET": zalo_api.APP_SECRET,
        "GOVBOT_ZALO_OA_SECRET_KEY": zalo_api.OA_SECRET, "GOVBOT_ZALO_ACCESS_TOKEN": "access-0",
        "GOVBOT_ZALO_REFRESH_TOKEN": "refresh-0", "GOVBOT_ZALO_API_URL": zalo_server.url,
        "GOVBOT_ZALO_OAUTH_URL": zalo_server.url, "GOVBOT_RATE_LIMIT_PER_MINUTE": "100000",
        # Telegram's 30 messages/s in all is lifted (the fake server has no limit): at 30/s
        # the 100 cards alone take 3 s, whatever the gateway does. Per chat stays 1/s, burst 3.
        "GOVBOT_TELEGRAM_GLOBAL_PER_SECOND": "1000"})
    try:
        deadline = time.monotonic() + 30
        while not telegram.webhook and time.monotonic() < deadline:
            time.sleep(0.2)
        bench = Bench(db_url, telegram, zalo, gateway.url)
        bench.secret = telegram.webhook["secret_token"]
        print(f"\nHandoff benchmark ({CASES} cases at once, {COMMUNES} teams of {MEMBERS}; gateway process, "
              "PostgreSQL, fake Telegram + Zalo)")
        bench.create(CASES)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(bench.cards()) < CASES:
            time.sleep(0.05)
        cards = bench.cards()
        card_ms = [(card["at"] - bench.created[c]) * 1000 for c, card in cards.items()]
        wrong_group = sum(1 for c, card in cards.items() if int(card["chat_id"]) != group(bench.commune[c]))
        print(f"  cards posted: {len(cards)}/{CASES}; escalation -> card p50 "
              f"{statistics.median(card_ms):.0f} ms, p95 {percentile(card_ms, 95):.0f} ms, "
              f"max {max(card_ms):.0f} ms (from the case routed; recording + routing took p50 "
              f"{statistics.median(bench.creating) * 1000:.0f} ms); cards in the wrong group {wrong_group}")
        holders, bad = asyncio.run(claims(bench, cards))
        print(f"  claims: {2 * len(cards)} presses (2 per card at once); cases with exactly one "
              f"winner {len(holders)}, with none or two {bad}")
        result = asyncio.run(relay(bench, holders))
        lat = result["latencies"]
        print(f"  relay: {result['messages']} messages both ways in {result['seconds']:.1f} s; lost "
              f"{result['lost']}, misrouted {result['misrouted']}, duplicated {result['duplicated']}, "
              f"out of order {result['out_of_order']}; latency p50 {statistics.median(lat):.0f} ms, "
              f"p95 {percentile(lat, 95):.0f} ms")
        print(f"  closed with /xong: {asyncio.run(close_all(bench, holders))}/{len(holders)} "
              f"citizens got the rating request; webhook deliveries retried {Bench.retries}")
    finally:
        gateway.stop()
        tg_server.stop()
        zalo_server.stop()
        drop_database(db_url)


if __name__ == "__main__":
    main()
