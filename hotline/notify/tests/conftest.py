from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def with_email(people: Any) -> Any:
    """Give the department people and the dispatcher e-mail addresses (the others have none)."""
    for person, address in (
        (people.wang, "wang@east1.example.gov.cn"),
        (people.sun, "sun@east1.example.gov.cn"),
        (people.zhou, "zhou@12345.example.gov.cn"),
    ):
        person.email = address
        person.save(update_fields=["email"])
    return people


# The browser fixtures (Debian chromium through Playwright) of the UI shell's tests.
from hotline.core.tests.conftest import browser, session  # noqa: E402, F401
