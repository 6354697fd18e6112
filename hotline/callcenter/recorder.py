"""``DjangoRecorder``: the engine's ``Recorder`` that writes rows (see ``records.py``).

The engine must never wait on the database, so every report is appended to an in-memory buffer
and written in one transaction per batch (``hotline.core.rows.insert_values``: one prepared
statement per table run over all its rows; voicemails and callback requests, which are few, with
``bulk_create``):

- when ``batch_size`` reports are waiting, or ``max_delay_s`` seconds have passed since the last
  write (checked on every report, and by the background thread if ``start()`` was called);
- on ``flush()``, which returns once everything reported before it is in the database.

Reports may arrive from one thread while another flushes: the buffers sit behind a lock, and a
second lock keeps writes in order. Call records and legs are idempotent on ``call_id`` and
``(call_id, leg_id)``; voicemails on ``call_id``; callback requests on ``(call_id, reason)``: a
switch that restarts and reports a call twice writes it once. Voicemails and callback requests
are batched like the rest.

A call that was abandoned after waiting longer than the short-abandon time leaves a callback
request (reason ``abandoned``, 呼损回拨) unless the caller already has one open.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from hotline.core.rows import insert_values

from . import records as r
from .choices import OPEN_CALLBACK_STATES, CallbackReason, Direction
from .models import (
    AgentStateLog,
    CallbackRequest,
    CallLeg,
    CallRecord,
    QueueEventLog,
    RecordMark,
    Voicemail,
)

logger = logging.getLogger(__name__)

DEFAULT_BATCH = 20_000
DEFAULT_DELAY_S = 2.0
MAX_FAILURES = 3  # a batch that fails this often is dropped (and logged) so later ones go through


@dataclass(slots=True)
class _Buffers:
    states: list[r.AgentStateChange] = field(default_factory=list)
    events: list[r.QueueEvent] = field(default_factory=list)
    legs: list[r.LegRecord] = field(default_factory=list)
    calls: list[r.CallRecord] = field(default_factory=list)
    voicemails: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    mark: datetime | None = None  # the latest ``settled`` reported (see ``DjangoRecorder.mark``)

    def size(self) -> int:
        return (
            len(self.states)
            + len(self.events)
            + len(self.legs)
            + len(self.calls)
            + len(self.voicemails)
            + len(self.callbacks)
            + (self.mark is not None)
        )


@dataclass(frozen=True, slots=True)
class RecentCall:
    """A call that ended but may not be in the database yet (for the directory)."""

    started_at: datetime
    agent_id: int | None


class DjangoRecorder:
    """Buffers the engine's reports and writes them in batches."""

    def __init__(
        self,
        *,
        batch_size: int = DEFAULT_BATCH,
        max_delay_s: float = DEFAULT_DELAY_S,
        short_abandon_s: float | None = None,
        abandoned_callbacks: bool = True,
        clock: Callable[[], float] = time.monotonic,
        on_written: Callable[[int, int], None] | None = None,
    ) -> None:
        self.on_written = on_written  # (voicemails, callback requests) after each write
        self.batch_size = batch_size
        self.max_delay_s = max_delay_s
        self.abandoned_callbacks = abandoned_callbacks
        self._short_abandon_s = short_abandon_s
        self._clock = clock
        self._lock = threading.Lock()  # guards the buffers
        self._write_lock = threading.Lock()  # one write at a time, in order
        self._buffers = _Buffers()
        self._recent: dict[str, RecentCall] = {}  # caller → their last call not yet written
        self._writing: dict[str, RecentCall] = {}
        self._last_write = clock()
        self._failures = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._count = 0  # reports since the last write
        self.rows_written = 0
        self.write_seconds = 0.0  # time spent writing, for the benchmark

    # --- Recorder --------------------------------------------------------------------------------

    def agent_state(self, change: r.AgentStateChange) -> None:
        with self._lock:
            self._buffers.states.append(change)
            due = self._due()
        if due:
            self._write_due()

    def queue_event(self, event: r.QueueEvent) -> None:
        with self._lock:
            self._buffers.events.append(event)
            due = self._due()
        if due:
            self._write_due()

    def leg(self, leg: r.LegRecord) -> None:
        with self._lock:
            self._buffers.legs.append(leg)
            due = self._due()
        if due:
            self._write_due()

    def call(self, record: r.CallRecord) -> None:
        with self._lock:
            self._buffers.calls.append(record)
            if record.direction == Direction.INBOUND and record.caller:
                agent = record.agent_id if record.answered_at is not None else None
                previous = self._recent.get(record.caller)
                if agent is None and previous is not None:
                    agent = previous.agent_id
                self._recent[record.caller] = RecentCall(started_at=record.started_at, agent_id=agent)
            due = self._due()
        if due:
            self._write_due()

    def voicemail(self, *, call_id: str, caller: str, path: str, seconds: float, at: datetime) -> None:
        with self._lock:
            self._buffers.voicemails.append(
                {
                    "call_id": call_id,
                    "caller": caller,
                    "audio_path": path,
                    "seconds": seconds,
                    "received_at": at,
                }
            )
            due = self._due()
        if due:
            self._write_due()

    def callback_request(self, *, call_id: str, caller: str, queue: str, at: datetime) -> None:
        with self._lock:
            self._buffers.callbacks.append(
                {
                    "call_id": call_id,
                    "caller": caller,
                    "queue": queue,
                    "reason": CallbackReason.CALLBACK_OFFER,
                    "requested_at": at,
                }
            )
            due = self._due()
        if due:
            self._write_due()

    def mark(self, settled: datetime) -> None:
        """Every record of anything that began before ``settled`` has been reported (the engine's
        ``settled_until``): written as the switch's ``RecordMark`` in the same transaction as
        the records reported before it, so the mark never runs ahead of the rows."""
        with self._lock:
            self._buffers.mark = settled
            due = self._due()
        if due:
            self._write_due()

    # --- For the directory -------------------------------------------------------------------------

    def recent_call(self, number: str) -> RecentCall | None:
        """The caller's last call that may not be written yet."""
        with self._lock:
            return self._recent.get(number) or self._writing.get(number)

    # --- Writing -----------------------------------------------------------------------------------

    def pending(self) -> int:
        with self._lock:
            return self._buffers.size()

    def _due(self) -> bool:
        """Whether a write is due (called under the lock, after an append)."""
        self._count += 1
        return self._count >= self.batch_size or self._clock() - self._last_write >= self.max_delay_s

    def _write_due(self) -> None:
        if self._thread is not None:
            self._wake.set()  # the background thread writes; the engine does not wait
        else:
            try:
                self.flush()
            except Exception:  # kept for the next write; the engine carries on
                logger.exception("Writing contact-centre records failed; they are kept for the next try")

    def flush(self) -> int:
        """Write everything reported so far; returns the number of rows written."""
        with self._write_lock:
            with self._lock:
                batch, self._buffers = self._buffers, _Buffers()
                self._writing, self._recent = self._recent, {}
                self._last_write = self._clock()
                self._count = 0
            if batch.size() == 0:
                self._writing = {}
                return 0
            began = time.perf_counter()
            try:
                written = self._write(batch)
            except Exception:
                self._failures += 1
                if self._failures >= MAX_FAILURES:
                    logger.exception(
                        "Dropping %d contact-centre records after %d failures", batch.size(), self._failures
                    )
                    self._failures = 0
                    self._writing = {}
                    return 0
                with self._lock:  # put them back in front, to try again
                    self._buffers = _merge(batch, self._buffers)
                    self._count = self._buffers.size()
                    self._recent = {**self._writing, **self._recent}
                    self._writing = {}
                raise
            self._failures = 0
            self._writing = {}
            self.rows_written += written
            self.write_seconds += time.perf_counter() - began
            return written

    def _short_abandon(self) -> float:
        if self._short_abandon_s is None:
            from .selectors import centre_settings

            self._short_abandon_s = float(centre_settings().short_abandon_s)
        return self._short_abandon_s

    def _write(self, batch: _Buffers) -> int:
        callbacks = list(batch.callbacks)
        if self.abandoned_callbacks:
            callbacks.extend(self._abandoned(batch.calls))
        with transaction.atomic():
            insert_values(
                AgentStateLog,
                ("agent", "state", "at", "reason", "call_id", "queue", "by"),
                [(s.agent_id, s.state, s.at, s.reason[:64], s.call_id, s.queue, s.by) for s in batch.states],
            )
            insert_values(
                QueueEventLog,
                ("kind", "at", "queue", "call_id", "agent", "position", "wait_s", "data"),
                [
                    (e.kind, e.at, e.queue, e.call_id, e.agent_id, e.position, e.wait_s, e.data)
                    for e in batch.events
                ],
            )
            insert_values(
                CallLeg,
                (
                    "call_id",
                    "leg_id",
                    "kind",
                    "party",
                    "started_at",
                    "answered_at",
                    "ended_at",
                    "cause",
                    "agent",
                    "trunk",
                ),
                [
                    (
                        leg.call_id,
                        leg.leg_id,
                        leg.kind,
                        leg.party[:64],
                        leg.started_at,
                        leg.answered_at,
                        leg.ended_at,
                        leg.cause[:32],
                        leg.agent_id,
                        leg.trunk[:64],
                    )
                    for leg in batch.legs
                ],
                ignore_conflicts=True,
            )
            insert_values(
                CallRecord,
                CALL_FIELDS,
                [
                    (
                        c.call_id,
                        c.direction,
                        c.caller[:32],
                        c.called[:32],
                        c.trunk[:64],
                        c.started_at,
                        c.ended_at,
                        c.outcome,
                        c.queue,
                        c.agent_id,
                        c.queued_at,
                        c.answered_at,
                        c.wait_s,
                        c.talk_s,
                        c.hold_s,
                        c.transfers,
                        list(c.ivr_path),
                        c.priority,
                        c.data,
                    )
                    for c in batch.calls
                ],
                ignore_conflicts=True,
            )
            Voicemail.objects.bulk_create([Voicemail(**v) for v in batch.voicemails], ignore_conflicts=True)
            CallbackRequest.objects.bulk_create(
                [CallbackRequest(**c) for c in callbacks], ignore_conflicts=True
            )
            if batch.mark is not None:
                RecordMark.objects.update_or_create(
                    source=RecordMark.SWITCH, defaults={"settled": batch.mark, "updated_at": timezone.now()}
                )
        if batch.calls:
            self._attach_recordings(batch.calls)
        if self.on_written is not None and (batch.voicemails or callbacks):
            try:
                self.on_written(len(batch.voicemails), len(callbacks))
            except Exception:
                logger.exception("after writing contact-centre records")
        return batch.size() + len(callbacks) - len(batch.callbacks)

    @staticmethod
    def _attach_recordings(calls: list[r.CallRecord]) -> None:
        """Recordings stored before their call record get its agent, queue and order; a failure
        here is logged and never fails the write."""
        try:
            from hotline.telephony.recordings import recordings_attach_calls

            with transaction.atomic():  # a savepoint: a failure leaves an outer transaction usable
                recordings_attach_calls([c.call_id for c in calls])
        except Exception:
            logger.exception("Attaching recordings to the call records just written")

    def _abandoned(self, calls: list[r.CallRecord]) -> list[dict[str, Any]]:
        """Callback requests for the calls abandoned after the short-abandon time."""
        limit = self._short_abandon()
        wanted: dict[str, dict[str, Any]] = {}
        for c in calls:
            if c.outcome == r.OUTCOME_ABANDONED and c.caller and c.wait_s > limit and c.caller not in wanted:
                wanted[c.caller] = {
                    "call_id": c.call_id,
                    "caller": c.caller,
                    "queue": c.queue,
                    "reason": CallbackReason.ABANDONED,
                    "requested_at": c.ended_at,
                }
        if not wanted:
            return []
        numbers = list(wanted)
        open_already: set[str] = set()
        for i in range(0, len(numbers), 500):
            open_already.update(
                CallbackRequest.objects.filter(
                    caller__in=numbers[i : i + 500], state__in=OPEN_CALLBACK_STATES
                ).values_list("caller", flat=True)
            )
        return [row for number, row in wanted.items() if number not in open_already]

    # --- Background writer -----------------------------------------------------------------------

    def start(self) -> None:
        """Write from a background thread every ``max_delay_s`` (and when a batch is full)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="callcenter-recorder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread after a last write."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join()
        self._thread = None
        self.flush()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._wake.wait(self.max_delay_s)
                self._wake.clear()
                # The thread keeps its database connection from one write to the next instead of
                # connecting (and setting SQLite's PRAGMAs) for every write; after a failure it
                # connects afresh for the retry.
                try:
                    self.flush()
                except Exception:
                    logger.exception("Writing contact-centre records failed; retrying")
                    connection.close()
            self.flush()
        finally:
            connection.close()


def _merge(first: _Buffers, then: _Buffers) -> _Buffers:
    return _Buffers(
        states=first.states + then.states,
        events=first.events + then.events,
        legs=first.legs + then.legs,
        calls=first.calls + then.calls,
        voicemails=first.voicemails + then.voicemails,
        callbacks=first.callbacks + then.callbacks,
        mark=then.mark or first.mark,
    )


CALL_FIELDS = (
    "call_id", "direction", "caller", "called", "trunk", "started_at", "ended_at", "outcome", "queue",
    "agent", "queued_at", "answered_at", "wait_s", "talk_s", "hold_s", "transfers", "ivr_path", "priority",
    "data",
)  # fmt: skip
