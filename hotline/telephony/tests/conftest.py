"""Media tests run against a real rtpengine, started once per session on ports of its own; call
tests run the switch service on the test database (``harness.Switch``)."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hotline.callcenter import services
from hotline.callcenter.models import IvrFlow, Seat
from hotline.callcenter.tests.conftest import staff_centre
from hotline.telephony.mediaserver import (
    MediaServerOptions,
    rtpengine_available,
    start_rtpengine,
    stop_rtpengine,
)
from hotline.telephony.models import PhoneAccount, Trunk
from hotline.telephony.ng import NgClient
from hotline.telephony.tests.harness import MENU, PASSWORD, QUEUE, Switch, set_flow
from hotline.telephony.tests.rtp import udp_ports_free
from hotline.telephony.tests.sipp import require_sipp
from hotline.workorders.tests import conftest as order_fixtures

tree = order_fixtures.tree
take = order_fixtures.take

# Below Linux's ephemeral range (32768–60999), so no client socket of any process takes them.
PORT_BLOCK = 204  # ng, DTMF, two spare, then 200 RTP ports
LOW_PORT, HIGH_PORT = 20000, 32000


@dataclass
class Rtpengine:
    options: MediaServerOptions
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def spool_dir(self) -> Path:
        return self.options.spool_dir

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def require_rtpengine(binary: str = "rtpengine") -> None:
    """Under CI=true a missing rtpengine fails the test; elsewhere it is skipped with the reason."""
    if rtpengine_available(binary):
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("rtpengine is not installed (Debian: rtpengine-daemon), and CI=true")
    pytest.skip("rtpengine is not installed (Debian package rtpengine-daemon)")


def _port_block() -> int:
    rng = random.Random(os.getpid() ^ int.from_bytes(os.urandom(4), "big"))
    for _ in range(50):
        start = rng.randrange(LOW_PORT, HIGH_PORT - PORT_BLOCK, 2)
        if udp_ports_free(start, PORT_BLOCK):
            return start
    raise RuntimeError("no free block of UDP ports for rtpengine")


def own_media_options(base: Path) -> MediaServerOptions:
    """Options for an rtpengine of one's own, on a free block of ports (see ``rtpengine``)."""
    start = _port_block()
    return MediaServerOptions(
        ng_port=start,
        dtmf_port=start + 1,
        port_min=start + 4,
        port_max=start + PORT_BLOCK - 1,
        spool_dir=base / "spool",
        log_level=6,
    )


@pytest.fixture(scope="session")
def rtpengine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rtpengine]:
    require_rtpengine()
    base = tmp_path_factory.mktemp("rtpengine")
    options = own_media_options(base)
    log_path = base / "rtpengine.log"
    process = start_rtpengine(options, log_path=log_path, die_with_parent=True)
    try:
        yield Rtpengine(options=options, process=process, log_path=log_path)
    finally:
        stop_rtpengine(process)


@contextlib.asynccontextmanager
async def _client(options: MediaServerOptions, **kwargs: Any) -> AsyncIterator[NgClient]:
    client = NgClient(options.ng_host, options.ng_port, **kwargs)
    await client.start()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def ng(rtpengine: Rtpengine) -> Callable[..., contextlib.AbstractAsyncContextManager[NgClient]]:
    """``async with ng() as client:`` — an ng client of the session's rtpengine on the running loop."""
    return lambda **kwargs: _client(rtpengine.options, **kwargs)


# --- calls through the SIP switch ---------------------------------------------------------------


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


@pytest.fixture
def queue_first(switch: Switch) -> Switch:
    """12345 goes straight to the queue."""
    set_flow(QUEUE)
    switch.call(lambda: switch.service.reload())
    return switch
