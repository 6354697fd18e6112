"""The one error the engine raises for a command it cannot carry out."""

from __future__ import annotations


class EngineError(Exception):
    """A command that is not allowed now. ``code`` is stable (``bad_state``, ``unknown_agent``,
    ``unknown_call``, ``unknown_queue``, ``not_ready``, ``no_call``, ``bad_target``, ``bad_value``);
    the Django side turns it into the API's error answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
