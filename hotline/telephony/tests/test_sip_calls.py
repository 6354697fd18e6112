"""Real calls through the SIP switch: sipp callers and agents' phones, rtpengine for the media,
the contact-centre engine and its Django recorder behind them (docs/telephony.md).

Each test runs the switch service (``SwitchService`` with a ``SipRuntime``) on its own event loop
in a thread, as the ``switch`` process does, on the test database.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hotline.callcenter import services
from hotline.callcenter.models import CallLeg, CallRecord, IvrFlow, Seat
from hotline.callcenter.tests.conftest import staff_centre
from hotline.telephony.models import PhoneAccount, Registration, Trunk
from hotline.telephony.tests.conftest import Rtpengine
from hotline.telephony.tests.harness import Switch, wait_for
from hotline.telephony.tests.sipp import (
    caller_scenario,
    free_udp_port,
    phone_scenario,
    register_scenario,
    require_sipp,
    run_sipp,
)

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "phone-secret"
MENU = {
    "start": "welcome",
    "human": "queue",
    "nodes": {
        "welcome": {"type": "play", "prompts": ["welcome"], "next": "menu"},
        "menu": {
            "type": "menu",
            "prompts": ["main_menu"],
            "options": {"1": "queue"},
            "timeout_s": 8,
            "invalid_prompts": ["invalid"],
            "on_fail": "queue",
        },
        "queue": {"type": "queue", "queue": "GENERAL"},
    },
}


@pytest.fixture
def phones(people: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The staffed centre of the contact-centre tests, with 12345 → welcome → menu (1: queue),
    phone accounts for Li (1001) and Ying (1002), and a trunk for calls from 127.0.0.1."""
    require_sipp()
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    staff_centre(people, ring_timeout_s=6, wrap_up_s=1)
    flow = IvrFlow.objects.get(code="DIRECT")
    services.flow_save(actor=None, code="DIRECT", name=flow.name, definition=MENU)
    for extension in ("1001", "1002"):
        account = PhoneAccount(seat=Seat.objects.get(extension=extension), realm="hotline")
        account.set_password(PASSWORD)
        account.save()
    Trunk.objects.create(code="LOCAL", name="本机测试", inbound_addresses="127.0.0.1/32")
    return people


@pytest.fixture(scope="module")
def prompt_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One prompt cache for the module: the prompts are rendered once, not for every test."""
    return tmp_path_factory.mktemp("prompts")


@pytest.fixture
def switch(rtpengine: Rtpengine, phones: Any, prompt_dir: Path) -> Iterator[Switch]:
    running = Switch(rtpengine.options, prompt_dir).start()
    try:
        yield running
    finally:
        running.stop()


def register(switch: Switch, workdir: Path, extension: str, phone_port: int) -> None:
    sipp = run_sipp(
        workdir,
        f"register-{extension}",
        register_scenario(extension=extension, contact_port=phone_port),
        target=switch.target,
        port=free_udp_port(),
        extra=["-au", extension, "-ap", PASSWORD],
    )
    assert sipp.wait(20) == 0, sipp.output()


def test_a_caller_goes_through_the_menu_to_an_agent_and_is_recorded(
    switch: Switch, phones: Any, tmp_path: Path
) -> None:
    li = phones.li
    phone_port = free_udp_port()
    phone = run_sipp(tmp_path, "phone-1001", phone_scenario(ring_s=0.3), port=phone_port)
    register(switch, tmp_path, "1001", phone_port)
    assert Registration.objects.filter(extension="1001").exists() or wait_for(
        lambda: Registration.objects.filter(extension="1001").exists(), what="the stored registration"
    )
    switch.call(lambda: switch.service.centre.agent_login(agent_id=li.id, extension="1001"))

    caller = run_sipp(
        tmp_path,
        "caller",
        caller_scenario(
            called="12345",
            steps=[("speak", 0), ("wait", switch.welcome_s + 1.0), ("keys", "1"), ("wait", 4)],
        ),
        target=switch.target,
        port=free_udp_port(),
    )
    assert caller.wait(60) == 0, caller.output()
    assert phone.wait(20) == 0, phone.output()

    record = wait_for(lambda: CallRecord.objects.filter(caller="13800138000").first(), what="the call record")
    assert record.outcome == "answered"
    assert record.agent_id == li.id
    assert record.trunk == "LOCAL"
    assert record.ivr_path[:2] == ["welcome", "menu"]
    legs = CallLeg.objects.filter(call_id=record.call_id)
    assert {leg.kind for leg in legs} >= {"caller", "agent"}


def _exchange(port: int, message: str, timeout: float = 3.0) -> str:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(timeout)
        local = s.getsockname()[1]
        s.sendto(message.replace("{local}", str(local)).replace("\n", "\r\n").encode(), ("127.0.0.1", port))
        data, _ = s.recvfrom(65535)
        return data.decode(errors="replace")


REQUEST = """{method} sip:{user}@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK{branch};rport
From: <sip:13900000000@127.0.0.1>;tag=t{branch}
To: <sip:{user}@127.0.0.1>{to_tag}
Call-ID: {branch}@test
CSeq: 1 {method}
Contact: <sip:13900000000@127.0.0.1:{local}>
Max-Forwards: 70
Content-Length: 0

"""


def test_the_stack_answers_what_it_does_not_take_with_the_right_status(switch: Switch) -> None:
    def ask(method: str, user: str = "12345", to_tag: str = "") -> str:
        branch = f"{method.lower()}{time.monotonic_ns()}"
        return _exchange(
            switch.port,
            REQUEST.format(method=method, user=user, branch=branch, to_tag=to_tag, local="{local}"),
        )

    assert ask("OPTIONS").startswith("SIP/2.0 200")
    assert ask("SUBSCRIBE").startswith("SIP/2.0 405")
    assert ask("BYE", to_tag=";tag=nosuchdialog").startswith("SIP/2.0 481")
    # a REGISTER for an unknown extension, and one without credentials
    assert ask("REGISTER", user="9999").startswith("SIP/2.0 404")
    challenge = ask("REGISTER", user="1001")
    assert challenge.startswith("SIP/2.0 401") and 'realm="hotline"' in challenge
    # a request with a broken header gets 400; the stack goes on answering
    broken = REQUEST.replace("CSeq: 1 {method}", "CSeq: one {method}")
    branch = f"bad{time.monotonic_ns()}"
    reply = _exchange(
        switch.port, broken.format(method="OPTIONS", user="12345", branch=branch, to_tag="", local="{local}")
    )
    assert reply.startswith("SIP/2.0 400"), reply
    assert ask("OPTIONS").startswith("SIP/2.0 200")


def test_an_invite_from_an_address_no_trunk_allows_is_refused(switch: Switch, phones: Any) -> None:
    Trunk.objects.update(inbound_addresses="192.0.2.0/24")
    switch.call(lambda: switch.service.reload())
    wait_for(
        lambda: (
            not switch.runtime.stack or not switch.runtime.stack.policy.trunks[0].allows_address("127.0.0.1")
        )
    )
    branch = f"inv{time.monotonic_ns()}"
    invite = REQUEST.format(method="INVITE", user="12345", branch=branch, to_tag="", local="{local}")
    assert _exchange(switch.port, invite).startswith("SIP/2.0 403")
    assert switch.runtime.switch.counters["offered"] == 0
