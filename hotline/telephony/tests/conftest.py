"""Media tests run against a real rtpengine, started once per session on ports of its own."""

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

from hotline.telephony.mediaserver import (
    MediaServerOptions,
    rtpengine_available,
    start_rtpengine,
    stop_rtpengine,
)
from hotline.telephony.ng import NgClient
from hotline.telephony.tests.rtp import udp_ports_free

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


@pytest.fixture(scope="session")
def rtpengine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rtpengine]:
    require_rtpengine()
    base = tmp_path_factory.mktemp("rtpengine")
    start = _port_block()
    options = MediaServerOptions(
        ng_port=start,
        dtmf_port=start + 1,
        port_min=start + 4,
        port_max=start + PORT_BLOCK - 1,
        spool_dir=base / "spool",
        log_level=6,
    )
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
