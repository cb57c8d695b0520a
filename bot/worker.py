"""Processes stored deliveries: in order per citizen, many citizens at once.

A delivery goes pending -> processing -> answered (replies stored) -> done (replies sent).
After a crash, `recover()` puts processing ones back to pending and sends what answered ones
still owe, so every stored update gets its answer once. One worker runs per database (the
gateway process); webhook receivers only store, so they can be replicated.
"""

from __future__ import annotations

import asyncio
import bisect
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
        self._busy: set[str] = set()
        self._queued: dict[str, list[int]] = {}  # per citizen, oldest first, not yet started
        self._known: set[int] = set()  # queued or being processed by this worker
        self._tasks: set[asyncio.Task] = set()
        self._sending: set[asyncio.Task] = set()  # messages that answer no delivery
        self._main: asyncio.Task | None = None
        self.processed = 0

    def submit(self, update_id: int, sender: str) -> None:
        """A delivery this process has just stored: start it without a database poll.
        Deliveries stored elsewhere (another replica, before a restart) come from the poll."""
        self._enqueue(update_id, sender)
        self._drain()

    def _enqueue(self, update_id: int, sender: str) -> None:
        if update_id in self._known:
            return
        self._known.add(update_id)
        bisect.insort(self._queued.setdefault(sender, []), update_id)

    def _drain(self) -> None:
        """Start queued deliveries: one at a time per citizen (order), many citizens at once."""
        for sender in list(self._queued):
            if len(self._tasks) >= self.concurrency:
                return
            if sender in self._busy:
                continue  # the citizen's earlier message is still being answered: keep order
            queue = self._queued[sender]
            update_id = queue.pop(0)
            if not queue:
                del self._queued[sender]
            self._busy.add(sender)
            task = asyncio.create_task(self._process(update_id, sender))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        reset, answered = await asyncio.to_thread(self.store.recover)
        if reset or answered:
            log.info("recovery: %d deliveries back to pending, %d with unsent replies", reset, len(answered))
        for update_id in answered:
            await self._deliver(update_id)
        loose = await asyncio.to_thread(self.store.unsent_loose)
        if loose:
            await self._send_loose(loose)
        self._main = asyncio.create_task(self._run(), name="gateway-worker")

    async def stop(self) -> None:
        if self._main:
            self._main.cancel()
            await asyncio.gather(self._main, return_exceptions=True)
        if self._tasks or self._sending:
            await asyncio.wait(self._tasks | self._sending, timeout=10)

    async def _run(self) -> None:
        last_purge = 0.0
        while True:
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
            await asyncio.sleep(self.poll_seconds)

    async def _dispatch(self) -> None:
        """The poll: pending deliveries this worker does not know yet."""
        if len(self._known) < 5 * self.concurrency:
            for update_id, sender in await asyncio.to_thread(self.store.pending, 500):
                self._enqueue(update_id, sender)
        self._drain()

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
                    messages.extend(await asyncio.to_thread(self.render, reply, channel))
                outs = await asyncio.to_thread(self.store.save_replies, update_id, messages,
                                               status="answered" if messages or item.kind == "team"
                                               else "limited")
            except Exception as exc:
                log.exception("processing delivery %d of %s failed", update_id, pseudonym(sender))
                give_up = item.attempts >= MAX_ATTEMPTS
                if give_up:
                    messages = await asyncio.to_thread(channel.render, text_reply(GIVE_UP))
                    outs = await asyncio.to_thread(self.store.save_replies, update_id, messages)
                else:
                    await asyncio.to_thread(self.store.release, update_id, repr(exc), give_up=False)
                    return
            await self._send_all(outs, complete=update_id)
            self.processed += 1
        except Exception:
            log.exception("delivery %d: storage error", update_id)
        finally:
            self._busy.discard(sender)
            self._known.discard(update_id)
            self._drain()  # the citizen's next message may be waiting

    def render(self, reply: dict[str, Any], channel: Any) -> list[dict[str, Any]]:
        """A reply in its channel's messages; one addressed to someone else ("to": a relay
        between a citizen and a team member) is rendered for that person's channel."""
        target = reply.get("to")
        if not target:
            return channel.render(reply)
        other = self.channels.get(target["channel"])
        body = {"text": reply.get("text", ""), "buttons": reply.get("buttons") or []}
        messages = other.render(body) if other is not None else [body]  # web: as it is
        if reply.get("reply_to") and messages:
            messages[0]["reply_to"] = reply["reply_to"]
        if reply.get("if_failed"):  # a member's relay: they hear about a failed send
            for m in messages:
                m["if_failed"] = reply["if_failed"]
        return [{**m, "_channel": target["channel"], "_chat": target["chat_id"]} for m in messages]

    async def enqueue(self, replies: list[dict[str, Any]]) -> None:
        """Store and send replies that answer no stored delivery (the web chat's relays, the
        team desk's reminders), each with its "to"."""
        messages = []
        for reply in replies:
            if reply.get("to"):
                messages.extend(await asyncio.to_thread(self.render, reply, None))
        if not messages:
            return
        ids = await asyncio.to_thread(self.store.enqueue, messages)
        task = asyncio.create_task(self._send_loose(ids))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_loose(self, ids: list[int]) -> None:
        try:
            await self._send_all(await asyncio.to_thread(self.store.outgoing, ids))
        except Exception:
            log.exception("sending %d queued messages failed", len(ids))

    async def _deliver(self, update_id: int) -> None:
        """Send the stored replies of one delivery, in order; record each result."""
        await self._send_all(await asyncio.to_thread(self.store.unsent, update_id), complete=update_id)

    async def _send_all(self, outs, complete: int | None = None) -> None:
        """Send in order, recording each result; `complete`: the delivery these answer,
        marked done with the last send (one transaction fewer per turn)."""
        from bot.telegram import SendError

        outs = list(outs)
        for index, out in enumerate(outs):
            last = index == len(outs) - 1
            if out.channel == "web":
                continue  # the web chat collects these itself (GET /api/chat/inbox)
            channel = self.channels.get(out.channel)
            if channel is None:
                await asyncio.to_thread(self.store.mark_failed, out.id, f"channel {out.channel} is off")
                continue
            try:
                await channel.send(out.chat_id, out.body)
            except SendError as exc:
                log.warning("send %d on %s failed: %s", out.id, out.channel, exc)
                await asyncio.to_thread(self.store.mark_failed, out.id, str(exc))
                notice = out.body.get("if_failed")
                if notice:
                    await self.enqueue([{"text": f"{notice['text']}: {exc}"[:500], "to": notice}])
                continue
            except Exception as exc:
                log.exception("send %d on %s failed", out.id, out.channel)
                await asyncio.to_thread(self.store.mark_failed, out.id, repr(exc))
                continue
            await asyncio.to_thread(self.store.mark_sent, out.id, complete if last else None)
            if last:
                complete = None
        if complete is not None:  # nothing sent last (a failure, web, no replies)
            await asyncio.to_thread(self.store.complete, complete)
