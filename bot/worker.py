"""Processes stored deliveries: in order per citizen, many citizens at once.

A delivery goes pending -> processing -> answered (replies stored) -> done (replies sent).
After a crash, `recover()` puts processing ones back to pending and sends what answered ones
still owe, so every stored update gets its answer once. One worker runs per database (the
gateway process); webhook receivers only store, so they can be replicated.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from bot.conversation import Conversation, text_reply
from bot.store import GatewayStore
from core.redaction import pseudonym

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
GIVE_UP = "Xin lỗi, mình gặp lỗi khi xử lý tin nhắn này. Bạn gửi lại giúp mình nhé."


class Worker:
    def __init__(self, store: GatewayStore, conversation: Conversation, channels: dict[str, Any],
                 concurrency: int = 64, poll_seconds: float = 1.0, purge_hours: float = 48.0):
        self.store, self.conversation, self.channels = store, conversation, channels
        self.concurrency, self.poll_seconds, self.purge_hours = concurrency, poll_seconds, purge_hours
        self._wake = asyncio.Event()
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task] = set()
        self._main: asyncio.Task | None = None
        self.processed = 0

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        reset, answered = await asyncio.to_thread(self.store.recover)
        if reset or answered:
            log.info("recovery: %d deliveries back to pending, %d with unsent replies", reset, len(answered))
        for update_id in answered:
            await self._deliver(update_id)
        self._main = asyncio.create_task(self._run(), name="gateway-worker")

    async def stop(self) -> None:
        if self._main:
            self._main.cancel()
            await asyncio.gather(self._main, return_exceptions=True)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)

    async def _run(self) -> None:
        last_purge = 0.0
        while True:
            self._wake.clear()
            try:
                await self._dispatch()
                if time.monotonic() - last_purge > 3600:
                    last_purge = time.monotonic()
                    purged = await asyncio.to_thread(self.store.purge, self.purge_hours)
                    if purged:
                        log.info("purged %d finished deliveries older than %.0f h", purged, self.purge_hours)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker loop error (database down?); retrying")
                await asyncio.sleep(2)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass

    async def _dispatch(self) -> None:
        if len(self._tasks) >= self.concurrency:
            return
        for update_id, sender in await asyncio.to_thread(self.store.pending, 500):
            if sender in self._busy:
                continue  # the citizen's earlier message is still being answered: keep order
            if len(self._tasks) >= self.concurrency:
                break
            self._busy.add(sender)
            task = asyncio.create_task(self._process(update_id, sender))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _process(self, update_id: int, sender: str) -> None:
        try:
            item = await asyncio.to_thread(self.store.claim, update_id)
            if item is None:
                return
            channel = self.channels.get(item.channel)
            if channel is None:
                await asyncio.to_thread(self.store.release, update_id, f"channel {item.channel} is off",
                                        give_up=True)
                return
            try:
                await channel.acknowledge(item)
                replies = await self.conversation.handle(item)
                messages = []
                for reply in replies:
                    messages.extend(await asyncio.to_thread(channel.render, reply))
                await asyncio.to_thread(self.store.save_replies, update_id, messages,
                                        status="answered" if messages else "limited")
            except Exception as exc:
                log.exception("processing delivery %d of %s failed", update_id, pseudonym(sender))
                give_up = item.attempts >= MAX_ATTEMPTS
                if give_up:
                    messages = await asyncio.to_thread(channel.render, text_reply(GIVE_UP))
                    await asyncio.to_thread(self.store.save_replies, update_id, messages)
                else:
                    await asyncio.to_thread(self.store.release, update_id, repr(exc), give_up=False)
                    return
            await self._deliver(update_id)
            self.processed += 1
        except Exception:
            log.exception("delivery %d: storage error", update_id)
        finally:
            self._busy.discard(sender)
            self.wake()  # the citizen's next message may be waiting

    async def _deliver(self, update_id: int) -> None:
        """Send the stored replies of one delivery, in order; record each result."""
        from bot.telegram import SendError

        for out in await asyncio.to_thread(self.store.unsent, update_id):
            channel = self.channels.get(out.channel)
            if channel is None:
                await asyncio.to_thread(self.store.mark_failed, out.id, f"channel {out.channel} is off")
                continue
            try:
                await channel.send(out.chat_id, out.body)
            except SendError as exc:
                log.warning("send %d on %s failed: %s", out.id, out.channel, exc)
                await asyncio.to_thread(self.store.mark_failed, out.id, str(exc))
                continue
            except Exception as exc:
                log.exception("send %d on %s failed", out.id, out.channel)
                await asyncio.to_thread(self.store.mark_failed, out.id, repr(exc))
                continue
            await asyncio.to_thread(self.store.mark_sent, out.id)
        await asyncio.to_thread(self.store.complete, update_id)
