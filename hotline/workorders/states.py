"""The state table of a work order: which action moves an order from which states to which.

Read it with ``docs/workorders.md``. Actions that do not change the state (notes, extensions,
supervision, instructions, links) are not here; they are allowed in any open state.
"""

from __future__ import annotations

from .choices import OrderAction as A
from .choices import OrderState as S

# action → (states it may start from, the state it leads to; None = decided by the service)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    A.DISPATCH: (frozenset({S.PENDING_DISPATCH}), S.PENDING_SIGN),
    A.SIGN: (frozenset({S.PENDING_SIGN}), S.HANDLING),
    A.RETURN: (frozenset({S.PENDING_SIGN, S.HANDLING}), S.RETURN_REQUESTED),
    # accepted: re-dispatched to another unit at once (改派), or back to the dispatch queue
    A.RETURN_ACCEPT: (frozenset({S.RETURN_REQUESTED}), None),
    # refused: back to the unit, in the state it returned from
    A.RETURN_REFUSE: (frozenset({S.RETURN_REQUESTED}), None),
    A.ANSWER: (frozenset({S.HANDLING}), S.PENDING_REVIEW),
    A.REVIEW_ACCEPT: (frozenset({S.PENDING_REVIEW}), S.PENDING_REVISIT),
    A.REVIEW_REJECT: (frozenset({S.PENDING_REVIEW}), S.HANDLING),
    # satisfied/resolved → closed; unsatisfied or unresolved may reopen (二次派单)
    A.REVISIT: (frozenset({S.PENDING_REVISIT}), None),
    A.CLOSE: (frozenset({S.PENDING_REVISIT}), S.CLOSED),
    A.CANCEL: (
        frozenset({S.PENDING_DISPATCH, S.PENDING_SIGN, S.RETURN_REQUESTED, S.HANDLING}),
        S.CANCELLED,
    ),
    A.REOPEN: (frozenset({S.CLOSED}), S.PENDING_DISPATCH),
    A.MERGE: (
        frozenset({S.PENDING_DISPATCH, S.PENDING_SIGN, S.RETURN_REQUESTED, S.HANDLING, S.PENDING_REVIEW}),
        S.MERGED,
    ),
}


def allowed_from(action: str) -> frozenset[str]:
    return TRANSITIONS[action][0]


def target_of(action: str) -> str | None:
    return TRANSITIONS[action][1]


def actions_from(state: str) -> list[str]:
    """The state-changing actions possible in ``state`` (for screens and the API)."""
    return [action for action, (sources, _target) in TRANSITIONS.items() if state in sources]
