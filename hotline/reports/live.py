"""Live updates of the leaders' dashboard (R5, docs/reports.md).

Every change of a work order calls ``orders_changed()``. Dashboards do not need each change: they
need to know that *something* changed, so they refetch their (shared, briefly cached) figures. The
publisher therefore sends ``{"type": "reports.orders"}`` to the group ``reports.live`` at most once
per ``THROTTLE_S`` per process: the first change after a quiet second goes out when its
transaction commits; changes during the following second are folded into one trailing event sent
when the second is over, so the last change is never left unannounced.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import connections, transaction

from hotline.core.events import publish_many_now

GROUP = "reports.live"
EVENT = {"type": "reports.orders"}
THROTTLE_S = 1.0

logger = logging.getLogger(__name__)


class Throttle:
    """Calls ``send`` at most once per ``interval`` seconds; a call inside the interval schedules
    one trailing ``send`` at its end (further calls meanwhile join that one)."""

    def __init__(
        self,
        send: Callable[[], None],
        *,
        send_later: Callable[[], None] | None = None,
        interval: float = THROTTLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.send = send
        self.send_later = send_later or send  # the trailing send, from the timer's thread
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._timer: threading.Timer | None = None

    @property
    def pending(self) -> bool:
        return self._timer is not None

    def __call__(self) -> None:
        with self._lock:
            if self._timer is not None:
                return  # a trailing send is already on its way
            wait = self._last + self.interval - self.clock()
            if wait <= 0:
                self._last = self.clock()
                due_now = True
            else:
                self._timer = threading.Timer(wait, self._trailing)
                self._timer.daemon = True
                self._timer.start()
                due_now = False
        if due_now:
            self.send()

    def _trailing(self) -> None:
        with self._lock:
            self._timer = None
            self._last = self.clock()
        try:
            self.send_later()
        except Exception:
            # e.g. SQLite busy past its timeout: the event is lost, and the dashboards still
            # refetch their figures every minute (and at the next change)
            logger.warning("the trailing dashboard event was not sent", exc_info=True)
        finally:
            connections.close_all()  # this thread's own connections (the embedded layer writes a row)

    def cancel(self) -> None:
        """Drop a pending trailing send (tests)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._last = float("-inf")


def _send() -> None:
    publish_many_now([(GROUP, dict(EVENT))])


def _send_from_thread() -> None:
    """The trailing event, sent from the timer's thread. An in-memory layer belongs to its
    process's event loop, which this thread must not touch: the event goes through the
    ``LiveEvent`` table, which the web process relays (as from any process without sockets)."""
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        from hotline.core.models import LiveEvent

        LiveEvent.objects.create(group=GROUP, payload=dict(EVENT))
        return
    _send()


_throttle = Throttle(_send, send_later=_send_from_thread)


def orders_changed() -> None:
    """Tell the open dashboards that work orders changed, once the current transaction commits
    (throttled: at most one event per second per process)."""
    transaction.on_commit(_throttle)


def throttle() -> Throttle:
    """The process's publisher (its state, for tests)."""
    return _throttle
