"""Errors that services raise and every interface turns into one structured answer.

The API renders them as ``{"code": ..., "message": ..., "fields": {...}}`` with the status below;
HTML views show the message. ``code`` is stable: clients may branch on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class ServiceError(Exception):
    """A request that cannot be carried out as asked. Nothing has been saved."""

    status = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: Mapping[str, Sequence[str]] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = str(message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.fields: dict[str, list[str]] = {k: [str(m) for m in v] for k, v in (fields or {}).items()}

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "fields": self.fields}


class ValidationFailed(ServiceError):
    status = 422
    code = "validation_error"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "permission_denied"


class Conflict(ServiceError):
    """Someone else changed the object first (a failed compare-and-set) or it already exists."""

    status = 409
    code = "conflict"
