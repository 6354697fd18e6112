"""Masking of citizens' personal data for roles that do not need it (M2)."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d")


def mask_phone(value: str | None) -> str:
    """``13812345678`` → ``138****5678``; landlines keep area code and last 4 digits."""
    if not value:
        return ""
    digits = [m.start() for m in _DIGITS.finditer(value)]
    if len(digits) <= 4:
        return "*" * len(value)
    keep_head = 3 if len(digits) >= 11 else min(3, len(digits) - 4)
    hidden = set(digits[keep_head : len(digits) - 4])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


def mask_id_number(value: str | None) -> str:
    """Resident ID ``110101199003071234`` → ``1101**********1234``."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_name(value: str | None) -> str:
    """``王小明`` → ``王**``: the family name stays so a handler can address the citizen."""
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1)
