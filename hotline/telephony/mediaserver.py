"""The media server process (媒体服务器): how rtpengine is started for the SIP switch.

rtpengine forwards RTP between the parties of a call, plays prompts and music, reports DTMF
digits and records calls; the switch drives it over the ng protocol (:mod:`.ng`). The arguments
below are the ones docs/media-server.md explains: no system config file, userspace forwarding,
our own ports, digits reported by UDP, recordings as pcap files in a spool directory.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from hotline.telephony.ng import bdecode, bencode


class MediaServerError(Exception):
    """rtpengine is missing, or it did not start."""


@dataclass(frozen=True, slots=True)
class MediaServerOptions:
    """Where rtpengine listens and what it may use (``settings.HOTLINE_RTPENGINE``)."""

    binary: str = "rtpengine"
    # --interface: "127.0.0.1"; "10.0.0.2!203.0.113.4" (bind!advertise) behind NAT; several
    # logical interfaces separated by ";" ("internal/10.0.0.2;external/10.0.1.2!203.0.113.4").
    interface: str = "127.0.0.1"
    ng_host: str = "127.0.0.1"
    ng_port: int = 22222
    dtmf_host: str = "127.0.0.1"  # where the switch listens for digit reports
    dtmf_port: int = 22223
    port_min: int = 30000
    port_max: int = 39999
    spool_dir: Path = Path("var/rtpengine")
    log_level: int = 5  # syslog levels: 5 notice (start-up, errors), 6 info (every call), 7 debug
    kernel_table: int = -1  # -1: userspace forwarding; 0..: the kernel module's table, when loaded

    @classmethod
    def from_settings(cls, overrides: Mapping[str, Any] | None = None) -> MediaServerOptions:
        from django.conf import settings

        values: dict[str, Any] = {**getattr(settings, "HOTLINE_RTPENGINE", {}), **(overrides or {})}
        known = {name: values[name] for name in cls.__dataclass_fields__ if name in values}
        if "spool_dir" in known:
            known["spool_dir"] = Path(known["spool_dir"])
        return cls(**known)

    @property
    def interfaces(self) -> list[str]:
        return [part.strip() for part in self.interface.split(";") if part.strip()]

    @property
    def media_address(self) -> str:
        """The address phones send media to on the first interface (the advertised one behind NAT)."""
        first = self.interfaces[0] if self.interfaces else "127.0.0.1"
        return first.split("/")[-1].split("!")[-1]


def rtpengine_argv(options: MediaServerOptions) -> list[str]:
    """The command line that runs rtpengine in the foreground with ``options``."""
    if options.port_min > options.port_max:
        raise MediaServerError(f"RTP port range {options.port_min}-{options.port_max} is empty")
    argv = [
        options.binary,
        "--config-file=none",  # never the system's /etc/rtpengine/rtpengine.conf and its ports
        f"--table={options.kernel_table}",
        "--foreground",
        "--log-stderr",
        f"--log-level={options.log_level}",
    ]
    argv += [f"--interface={interface}" for interface in options.interfaces]
    argv += [
        f"--listen-ng={options.ng_host}:{options.ng_port}",
        f"--port-min={options.port_min}",
        f"--port-max={options.port_max}",
        "--delete-delay=0",  # a deleted call frees its ports at once
        f"--dtmf-log-dest={options.dtmf_host}:{options.dtmf_port}",
        "--recording-method=pcap",
        f"--recording-dir={options.spool_dir}",
        "--recording-format=raw",  # IPv4/UDP headers kept: each packet says which party sent it
    ]
    return argv


def rtpengine_available(binary: str = "rtpengine") -> bool:
    """Whether the rtpengine binary can be run (on PATH, or an executable path)."""
    return shutil.which(binary) is not None


def ng_ping(host: str, port: int, *, timeout_s: float = 0.2) -> bool:
    """One synchronous ng ``ping``: True when rtpengine answers ``pong``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    cookie = secrets.token_hex(6).encode()
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.sendto(cookie + b" " + bencode({"command": "ping"}), (host, port))
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                data = sock.recv(65535)
                answer_cookie, _, body = data.partition(b" ")
                if answer_cookie == cookie:
                    reply = bdecode(body)
                    return isinstance(reply, dict) and reply.get("result") == "pong"
        except (OSError, ValueError):
            return False
    return False


def udp_port_free(host: str, port: int) -> bool:
    """Whether a UDP socket can bind ``host:port`` now (without address reuse)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def start_rtpengine(
    options: MediaServerOptions,
    *,
    timeout_s: float = 10.0,
    log_path: Path | None = None,
    die_with_parent: bool = False,
) -> subprocess.Popen[bytes]:
    """Start rtpengine and return once it answers an ng ``ping``.

    Its log (stderr) goes to ``log_path`` (a temporary file when not given). Raises
    :class:`MediaServerError` with the log when rtpengine is missing, exits, or does not answer in
    ``timeout_s``. rtpengine binds its ng port with address reuse, so a second daemon on the same
    port starts and shares the requests with the first: a port already taken is refused here.
    ``die_with_parent`` (Linux; for tests) stops the daemon when the starting thread ends, even
    if it is killed.
    """
    if not rtpengine_available(options.binary):
        raise MediaServerError(f"rtpengine is not installed ({options.binary!r} not found)")
    if not udp_port_free(options.ng_host, options.ng_port):
        raise MediaServerError(f"ng port {options.ng_host}:{options.ng_port} is in use (another rtpengine?)")
    options.spool_dir.mkdir(parents=True, exist_ok=True)
    # A pipe nobody reads would stop the daemon once full: its log goes to a file.
    log: IO[bytes] = (
        tempfile.TemporaryFile(prefix="rtpengine-")  # noqa: SIM115 - closed below
        if log_path is None
        else log_path.open("w+b")
    )
    process = subprocess.Popen(  # noqa: S603 - our own argument list
        rtpengine_argv(options),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        preexec_fn=_set_parent_death_signal if die_with_parent else None,
    )
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            if process.poll() is not None:
                raise MediaServerError(f"rtpengine exited with code {process.returncode}:\n{_read_log(log)}")
            if ng_ping(options.ng_host, options.ng_port):
                return process
            if time.monotonic() > deadline:
                _stop(process)
                raise MediaServerError(
                    f"rtpengine did not answer a ping in {timeout_s:g} s:\n{_read_log(log)}"
                )
            time.sleep(0.05)
    finally:
        log.close()  # the daemon keeps its own descriptor


def _set_parent_death_signal() -> None:
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def stop_rtpengine(process: subprocess.Popen[bytes], *, timeout_s: float = 5.0) -> int:
    """Stop rtpengine (SIGTERM, then SIGKILL after ``timeout_s``); its exit code."""
    return _stop(process, timeout_s=timeout_s)


def _stop(process: subprocess.Popen[bytes], *, timeout_s: float = 5.0) -> int:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def _read_log(log: IO[bytes]) -> str:
    log.flush()
    log.seek(0)
    text = log.read().decode("utf-8", "replace")
    return text[-4000:] if len(text) > 4000 else text


def exec_rtpengine(options: MediaServerOptions) -> None:
    """Replace this process with rtpengine (the production entry point, ``run_media``)."""
    options.spool_dir.mkdir(parents=True, exist_ok=True)
    argv = rtpengine_argv(options)
    binary = shutil.which(options.binary)
    if binary is None:
        raise MediaServerError(f"rtpengine is not installed ({options.binary!r} not found)")
    os.execv(binary, argv)  # noqa: S606 - our own argument list
