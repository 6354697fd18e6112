"""Fixtures for the contact-centre tests: the browser fixtures of the UI shell, the work-order
fixtures, and ``staff_centre`` — one queue reached straight from 12345 with two agents."""

from __future__ import annotations

from typing import Any

from conftest import PASSWORD
from hotline.core.tests import conftest as browser_fixtures
from hotline.workorders.tests import conftest as order_fixtures

browser = browser_fixtures.browser
session = browser_fixtures.session
tree = order_fixtures.tree
take = order_fixtures.take

DIRECT = {"start": "q", "nodes": {"q": {"type": "queue", "queue": "GENERAL"}}}


def staff_centre(people: Any, *, ring_timeout_s: int, wrap_up_s: int) -> Any:
    """Queue GENERAL reached straight from 12345; agents Li (1001) and Qian Ying (``people.ying``,
    1002) in it; supervisor Chen seated at 1101. Returns ``people``."""
    from hotline.accounts.services import user_create
    from hotline.callcenter import services
    from hotline.callcenter.models import AgentProfile, Queue, Seat

    ying = user_create(
        actor=None, username="ying", password=PASSWORD, role="agent", unit=people.li.unit, full_name="钱颖"
    )
    queue = services.queue_save(
        actor=None,
        queue=Queue(code="GENERAL", name="综合受理", ring_timeout_s=ring_timeout_s, wrap_up_s=wrap_up_s),
    )
    flow = services.flow_save(actor=None, code="DIRECT", name="直通人工", definition=DIRECT)
    services.hotline_number_save(actor=None, number="12345", name="12345 热线", flow=flow)
    for user, extension in ((people.li, "1001"), (ying, "1002"), (people.chen, "1101")):
        seat = services.seat_save(actor=None, seat=Seat(extension=extension, name=f"座席{extension}"))
        services.agent_profile_save(actor=None, profile=AgentProfile(user=user, default_seat=seat))
    services.membership_set(actor=None, queue=queue, agent=people.li, level=3)
    services.membership_set(actor=None, queue=queue, agent=ying, level=3)
    people.ying = ying
    return people
