"""Dialogue benchmark: latency of one full turn (REST webhook -> NLU -> policies -> action ->
reply) against a real Rasa server and action server, at 1 and 20 concurrent conversations.

Run with `make bench` (after `make setup`).
"""

from __future__ import annotations

import asyncio
import random
import socket
import statistics
import time
import uuid

import httpx

from benchmarks.retrieval import percentile
from core.settings import get_settings
from govbot.processes import start_action_server, start_rasa
from knowledge.evaluation import load_questions

TURNS_PER_CONVERSATION = 6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def conversation(client: httpx.AsyncClient, url: str, questions: list[str],
                       times: list[float], errors: list[str]) -> None:
    sender = f"bench:{uuid.uuid4().hex[:10]}"
    script = [random.choice(questions), '/start_guide{"service": "EID03"}', "xong rồi",
              random.choice(questions), "bước tiếp", "cảm ơn"]
    for text in script[:TURNS_PER_CONVERSATION]:
        t0 = time.perf_counter()
        r = await client.post(url, json={"sender": sender, "message": text})
        times.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200 or not r.json():
            errors.append(f"{r.status_code} {text[:30]}")


async def run_load(url: str, questions: list[str], concurrent: int, conversations: int
                   ) -> tuple[list[float], list[str], float]:
    times: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=concurrent)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        for batch in range(0, conversations, concurrent):
            await asyncio.gather(*(conversation(client, url, questions, times, errors)
                                   for _ in range(min(concurrent, conversations - batch))))
    return times, errors, time.perf_counter() - started


def main() -> None:
    random.seed(5)
    settings = get_settings()
    questions = [q.q for q in load_questions(settings.eval_set) if q.expected][:200]
    actions = start_action_server(free_port())
    rasa = start_rasa(free_port(), action_url=actions.url)
    try:
        url = f"{rasa.url}/webhooks/rest/webhook"
        asyncio.run(run_load(url, questions, 1, 2))  # warm-up
        print("\nDialogue benchmark (full turn: REST webhook -> NLU -> policies -> action -> reply)")
        print(f"{'concurrent':>10}{'turns':>7}{'p50 ms':>9}{'p95 ms':>9}{'turns/s':>9}{'errors':>8}")
        for concurrent, conversations in ((1, 10), (20, 40)):
            times, errors, seconds = asyncio.run(run_load(url, questions, concurrent,
                                                          conversations))
            print(f"{concurrent:>10}{len(times):>7}{statistics.median(times):>9.0f}"
                  f"{percentile(times, 95):>9.0f}{len(times) / seconds:>9.1f}{len(errors):>8}")
    finally:
        rasa.stop()
        actions.stop()


if __name__ == "__main__":
    main()
