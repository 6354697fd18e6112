"""Who is acting, from where: set per request by the middleware, read by ``audit_record``.

Jobs and the telephony process set it with ``acting_as`` so their changes are attributed too.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AuditContext:
    actor: Any = None
    ip: str | None = None
    request_id: str = ""


_NOBODY = AuditContext()
_current: contextvars.ContextVar[AuditContext] = contextvars.ContextVar(
    "hotline_audit_context",
    default=_NOBODY,  # a frozen dataclass, never mutated
)


def current() -> AuditContext:
    return _current.get()


@contextmanager
def acting_as(actor: Any = None, *, ip: str | None = None, request_id: str = "") -> Iterator[None]:
    token = _current.set(AuditContext(actor=actor, ip=ip, request_id=request_id))
    try:
        yield
    finally:
        _current.reset(token)
