"""Starting rtpengine: its command line, start-up checks, and ``manage.py run_media``. No database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from hotline.telephony.mediaserver import (
    MediaServerError,
    MediaServerOptions,
    ng_ping,
    rtpengine_argv,
    start_rtpengine,
    udp_port_free,
)
from hotline.telephony.tests.conftest import require_rtpengine


@pytest.fixture(scope="module", autouse=True)
def _expected_database() -> None:
    """No test here touches the database: this replaces the root check that would create one."""


REPO = Path(settings.BASE_DIR)


def test_the_command_line_has_what_the_switch_relies_on(tmp_path: Path) -> None:
    options = MediaServerOptions(
        interface="10.0.0.2!203.0.113.4",
        ng_port=23000,
        dtmf_port=23001,
        port_min=23010,
        port_max=23209,
        spool_dir=tmp_path,
    )
    argv = rtpengine_argv(options)
    assert argv[0] == "rtpengine"
    for flag in (
        "--config-file=none",
        "--table=-1",
        "--foreground",
        "--log-stderr",
        "--interface=10.0.0.2!203.0.113.4",
        "--listen-ng=127.0.0.1:23000",
        "--port-min=23010",
        "--port-max=23209",
        "--delete-delay=0",
        "--dtmf-log-dest=127.0.0.1:23001",
        "--recording-method=pcap",
        f"--recording-dir={tmp_path}",
        "--recording-format=raw",
    ):
        assert flag in argv


def test_several_logical_interfaces_each_get_their_option() -> None:
    argv = rtpengine_argv(MediaServerOptions(interface="internal/10.0.0.2; external/10.0.1.2!203.0.113.4"))
    assert [arg for arg in argv if arg.startswith("--interface")] == [
        "--interface=internal/10.0.0.2",
        "--interface=external/10.0.1.2!203.0.113.4",
    ]


def test_an_empty_port_range_is_refused() -> None:
    with pytest.raises(MediaServerError, match="port range"):
        rtpengine_argv(MediaServerOptions(port_min=40000, port_max=39999))


def test_options_come_from_settings(settings: Any, tmp_path: Path) -> None:
    settings.HOTLINE_RTPENGINE = {
        "binary": "/opt/rtpengine",
        "interface": "192.0.2.1",
        "ng_host": "127.0.0.2",
        "ng_port": 2222,
        "dtmf_port": 2223,
        "port_min": 2300,
        "port_max": 2399,
        "spool_dir": str(tmp_path),
        "unknown_key": "ignored",
    }
    options = MediaServerOptions.from_settings({"port_max": 2500})
    assert options.binary == "/opt/rtpengine"
    assert (options.interface, options.ng_host, options.ng_port) == ("192.0.2.1", "127.0.0.2", 2222)
    assert (options.dtmf_port, options.port_min, options.port_max) == (2223, 2300, 2500)
    assert options.spool_dir == tmp_path


def test_a_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MediaServerError, match="not installed"):
        start_rtpengine(MediaServerOptions(binary=str(tmp_path / "nothing"), spool_dir=tmp_path))


def test_a_daemon_that_exits_reports_its_log(tmp_path: Path) -> None:
    require_rtpengine()
    options = MediaServerOptions(interface="999.1.1.1", ng_port=_free_port(), spool_dir=tmp_path / "spool")
    with pytest.raises(MediaServerError, match=r"(?s)exited with code .*Invalid interface"):
        start_rtpengine(options, timeout_s=5)


def test_a_taken_ng_port_is_refused(rtpengine: Any, tmp_path: Path) -> None:
    # rtpengine itself would start and share the port with the running one
    taken = MediaServerOptions(ng_port=rtpengine.options.ng_port, spool_dir=tmp_path)
    assert not udp_port_free(taken.ng_host, taken.ng_port)
    with pytest.raises(MediaServerError, match="in use"):
        start_rtpengine(taken)


def test_the_session_daemon_answers_and_writes_to_its_spool(rtpengine: Any) -> None:
    assert ng_ping(rtpengine.options.ng_host, rtpengine.options.ng_port)
    assert rtpengine.process.poll() is None
    assert rtpengine.spool_dir.is_dir()
    assert not ng_ping(rtpengine.options.ng_host, _free_port(), timeout_s=0.05)


def test_run_media_prints_its_command_line(settings: Any, tmp_path: Path, capsys: Any) -> None:
    settings.HOTLINE_RTPENGINE = {"ng_port": 24000, "spool_dir": str(tmp_path)}
    call_command("run_media", "--print")
    out = capsys.readouterr().out
    assert out.startswith("rtpengine --config-file=none ")
    assert "--listen-ng=127.0.0.1:24000" in out and f"--recording-dir={tmp_path}" in out


def test_run_media_without_rtpengine_says_so(settings: Any, tmp_path: Path) -> None:
    settings.HOTLINE_RTPENGINE = {"binary": str(tmp_path / "rtpengine"), "spool_dir": str(tmp_path)}
    with pytest.raises(CommandError, match="not installed"):
        call_command("run_media")


def test_run_media_becomes_rtpengine(tmp_path: Path) -> None:
    require_rtpengine()
    ng_port = _free_port()
    spool = tmp_path / "spool"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "HOTLINE_RTPENGINE_NG_PORT": str(ng_port),
        "HOTLINE_RTPENGINE_DTMF_PORT": str(_free_port()),
        "HOTLINE_RTPENGINE_PORT_MIN": "20000",
        "HOTLINE_RTPENGINE_PORT_MAX": "20001",  # it binds nothing until a call comes
        "HOTLINE_RTPENGINE_SPOOL": str(spool),
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_media"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while not ng_ping("127.0.0.1", ng_port) and time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.1)
        assert ng_ping("127.0.0.1", ng_port)
        assert Path(f"/proc/{process.pid}/exe").resolve().name == "rtpengine"  # the same process
        assert spool.is_dir()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)
        if process.stderr:
            process.stderr.close()


def test_deploy_script_runs_run_media() -> None:
    script = (REPO / "deploy" / "rtpengine.sh").read_text()
    assert os.access(REPO / "deploy" / "rtpengine.sh", os.X_OK)
    assert 'exec "${HOTLINE_PYTHON:-$root/.venv/bin/python}" manage.py run_media' in script
    syntax = subprocess.run(["/bin/bash", "-n", str(REPO / "deploy" / "rtpengine.sh")], check=False)  # noqa: S603
    assert syntax.returncode == 0


def _free_port() -> int:
    from hotline.telephony.tests.rtp import free_udp_port

    return free_udp_port()
