"""SIP switch benchmark: how many concurrent calls and how many call set-ups a second the SIP switch
carries through IVR, queue and bridge to an agent's phone, with every bridged call recorded.

    make bench-sip                          # the ramps of docs/performance.md (about 15 minutes)
    make bench-sip BENCH_ARGS="--quick"     # a two-minute smoke run with small steps
    .venv/bin/python bench/sip.py --help    # steps, talk time, agents, output

Everything runs on this machine. The script migrates a fresh SQLite file (WAL) under /tmp with
``config.settings.local`` semantics, creates one queue (recorded, short wrap-up), the IVR flows,
a trunk for 127.0.0.1 and the agents, each with a seat and a phone account whose fixed contact is
one sipp process answering as every agent's phone. It starts rtpengine on a port range of its own
with pcap recording, and the switch service in this process (``SwitchService`` with a
``SipRuntime`` on a loop of its own in a thread, as the ``switch`` process runs it): the switch's
CPU is this process's CPU, read from ``/proc/self/stat``; rtpengine's and sipp's from their own.

Two ramps, each stopping at its first step with a failed call:

- concurrency: 100, 200, 300 … concurrent calls (sipp ``-l``) of ``--talk-s`` seconds with the
  agent, through the welcome prompt (text-to-speech) and the queue; ``max_concurrent_calls_zero_fail``
  is the last step without a failure, and the answer time (INVITE → 200 OK at the caller) at 200
  concurrent calls is ``answer_ms_p95_200_concurrent``;
- set-up rate: 20, 40, 60 … new calls a second for ``--rate-step-s`` seconds, short calls through a
  short prompt (the centre's own ``bench_hello``, "您好。") and the queue; ``setup_cps_zero_fail``.

A call fails when sipp's caller fails it (an unexpected message, a timeout, no 200), when its
call record is not ``answered``, when the agents' sipp did not complete it, or when a bridged call
has no recording (a pcap in rtpengine's spool, or a ``telephony.Recording`` row). The script prints
its figures and writes ``bench/results/sip.json``. Method and findings: docs/performance.md.
"""

# ruff: noqa: S603, S607

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import math
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    RESULTS,
    cpu_seconds,
    cpu_share,
    cpu_times,
    free_block,
    log,
    machine_info,
    stop_process,
    summary_ms,
    tool_version,
    write_json,
)

TARGETS = {"max_concurrent_calls_zero_fail": ">= 300", "setup_cps_zero_fail": ">= 40"}
HOTLINE = "12345"  # welcome prompt → queue
SHORT_LINE = "12346"  # a short prompt → queue (the set-up rate ramp)
SHORT_PROMPT = "bench_hello"  # the centre's own prompt: "您好。" (about a second)
QUEUE = "GENERAL"
RING_TIMEOUT_S = 10
WRAP_UP_S = 1
RING_S = 0.3  # the agents' phones ring this long before they answer
FIRST_EXTENSION = 3000
ANSWER_FIGURE_AT = 200  # concurrent calls of the answer-time figure
CODE_PATHS = ("hotline/telephony", "hotline/callcenter")
SPEECH = Path("/usr/share/sip-tester/g711a.pcap")  # about 7 s of speech, A-law
SPEECH_S = 7.05
IDLE_TIMEOUT_S = 120.0  # rtpengine ends a call without media after 60 s; the switch reconciles


# ==================================================================================================
# sipp: scenarios and processes
# ==================================================================================================

SDP = """v=0
o=- 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv"""


def _play() -> str:
    return f'<nop><action><exec play_pcap_audio="{SPEECH}"/></action></nop>'


def _reply(status: str, *, to_tag: bool = True, contact: bool = False, sdp: bool = False) -> str:
    """A response to the last request, its headers copied from it."""
    lines = [
        f"SIP/2.0 {status}",
        "[last_Via:]",
        "[last_From:]",
        "[last_To:];tag=[pid]SIPpTag01[call_number]" if to_tag else "[last_To:]",
        "[last_Call-ID:]",
        "[last_CSeq:]",
    ]
    if contact:
        lines.append("Contact: <sip:[local_ip]:[local_port]>")
    if sdp:
        lines += ["Content-Type: application/sdp", "Content-Length: [len]", "", SDP]
    else:
        lines += ["Content-Length: 0", ""]
    retrans = ' retrans="500"' if sdp else ""
    return f"<send{retrans}><![CDATA[\n" + "\n".join(lines) + "\n]]></send>"


def caller_scenario(*, called: str, hold_s: float) -> str:
    """A caller: INVITE ``called`` (the 200 OK's delay is response time 1), then speech for
    ``hold_s`` seconds (the prompt, the ring and the talk with the agent), then BYE."""
    body: list[str] = []
    left = hold_s
    while left > 0:
        body.append(_play())
        pause = min(SPEECH_S, left)
        body.append(f'<pause milliseconds="{int(pause * 1000)}"/>')
        left -= pause
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="hotline bench caller">
<send retrans="500"><![CDATA[
INVITE sip:{called}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{called}@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:[field0]@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

{SDP}
]]></send>
<recv response="100" optional="true"/>
<recv response="180" optional="true"/>
<recv response="183" optional="true"/>
<recv response="200" rtd="true"/>
<send><![CDATA[
ACK sip:{called}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{called}@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
{chr(10).join(body)}
<send retrans="500"><![CDATA[
BYE sip:{called}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{called}@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200" crlf="true"/>
</scenario>
"""


def phones_scenario() -> str:
    """Every agent's phone: rings ``RING_S``, answers, talks (speech again every 7 s) until the BYE.
    A CANCEL or anything else unexpected fails the call."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="hotline bench agent phones">
<recv request="INVITE" crlf="true"/>
{_reply("180 Ringing", contact=True)}
<pause milliseconds="{int(RING_S * 1000)}"/>
{_reply("200 OK", contact=True, sdp=True)}
<recv request="ACK" crlf="true"/>
<label id="1"/>
{_play()}
<recv request="BYE" timeout="{int(SPEECH_S * 1000)}" ontimeout="1"/>
{_reply("200 OK", to_tag=False)}
</scenario>
"""


@dataclass
class Sipp:
    """One sipp process, its periodic statistics (``-trace_stat``) and its errors."""

    name: str
    workdir: Path
    process: subprocess.Popen[bytes]

    @property
    def stat_path(self) -> Path:
        return self.workdir / f"{self.name}_stat.csv"

    def stats(self) -> dict[str, str]:
        """The last line sipp wrote to its statistics file, by column ("" when none yet)."""
        with contextlib.suppress(OSError):
            lines = [x for x in self.stat_path.read_text(errors="replace").splitlines() if x.strip()]
            if len(lines) >= 2:
                head = lines[0].rstrip(";").split(";")
                for line in reversed(lines[1:]):
                    values = line.rstrip(";").split(";")
                    if len(values) == len(head):
                        return dict(zip(head, values, strict=True))
        return {}

    def count(self, column: str) -> int:
        value = self.stats().get(column, "")
        return int(value) if value.isdigit() else 0

    def errors(self, limit: int = 8) -> list[str]:
        path = self.workdir / f"{self.name}_errors.log"
        if not path.exists():
            return []
        lines = [x.strip() for x in path.read_text(errors="replace").splitlines() if x.strip()]
        return lines[-limit:]

    def error_count(self) -> int:
        path = self.workdir / f"{self.name}_errors.log"
        if not path.exists():
            return 0
        return sum(1 for x in path.read_text(errors="replace").splitlines() if "sipp" in x.lower())

    def response_times(self) -> list[tuple[float, float]]:
        """(when, in ms since sipp started; response time 1 in ms: INVITE → 200 OK) of every
        answered call, from ``-trace_rtt``."""
        values: list[tuple[float, float]] = []
        for path in self.workdir.glob(f"{self.name}_*_rtt.csv"):
            for line in path.read_text(errors="replace").splitlines()[1:]:
                parts = line.split(";")
                if len(parts) >= 3 and parts[2].strip() == "1":
                    with contextlib.suppress(ValueError):
                        values.append((float(parts[0]), float(parts[1])))
        return values

    def stop(self) -> None:
        stop_process(self.process, timeout=10)


def start_sipp(
    workdir: Path,
    name: str,
    scenario: str,
    *,
    port: int,
    media_port: int,
    target: str = "",
    rate: float = 0,
    limit: int = 0,
    calls: int = 0,
    callers: list[str] | None = None,
    timeout_s: float = 0,
) -> Sipp:
    """sipp on ``127.0.0.1:port`` (a caller when ``target`` is given, else a server)."""
    workdir.mkdir(parents=True, exist_ok=True)
    xml = workdir / f"{name}.xml"
    xml.write_text(scenario)
    args = ["sipp", "-sf", str(xml), "-i", "127.0.0.1", "-p", str(port), "-mp", str(media_port)]
    args += ["-nostdin", "-trace_err", "-error_file", str(workdir / f"{name}_errors.log")]
    args += ["-trace_stat", "-fd", "1", "-stf", str(workdir / f"{name}_stat.csv")]
    if target:
        inf = workdir / f"{name}_callers.csv"
        inf.write_text("SEQUENTIAL\n" + "".join(f"{number};\n" for number in callers or ["13800138000"]))
        args += ["-inf", str(inf), "-r", f"{rate:g}", "-l", str(limit)]
        args += ["-m", str(calls), "-trace_rtt", "-rtt_freq", "20"]
        if timeout_s:
            args += ["-timeout", f"{int(timeout_s)}s", "-timeout_error"]
        args.append(target)
    out = (workdir / f"{name}.out").open("wb")
    process = subprocess.Popen(
        args, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
    )
    out.close()
    return Sipp(name, workdir, process)


# ==================================================================================================
# CPU
# ==================================================================================================


THREAD_GROUPS = ("loop", "sip", "workers", "recorder", "other")


def thread_group(name: str, loop_thread: int, tid: int) -> str:
    """Which part of the switch a thread of this process is: the service's event loop, sippy's
    SIP thread, the loop's worker threads (archiving recordings, prompt files, database jobs),
    the call-record writer, or anything else (sippy's UDP senders, the benchmark's main thread)."""
    if tid == loop_thread:
        return "loop"
    if name == "sip":
        return "sip"
    if name.startswith("asyncio_"):
        return "workers"
    if name == "callcenter-recorder":
        return "recorder"
    return "other"


def thread_cpu(loop_thread: int) -> dict[int, tuple[str, float]]:
    """CPU seconds of each thread of this process, with its group."""
    names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
    out = {}
    for task in Path("/proc/self/task").iterdir():
        seconds = cpu_seconds(f"self/task/{task.name}")
        if seconds is not None:
            tid = int(task.name)
            out[tid] = (thread_group(names.get(tid, ""), loop_thread, tid), seconds)
    return out


@dataclass
class Sample:
    at: float
    cpu: dict[str, float | None]
    threads: dict[int, tuple[str, float]]
    switch_calls: int
    sipp_calls: int


@dataclass
class Meter:
    """CPU time of the measured processes (and of the switch's threads), sampled once a second
    while a step runs."""

    pids: dict[str, int | str]
    loop_thread: int = 0
    ng: tuple[str, int] | None = None
    samples: list[Sample] = field(default_factory=list)
    pings: list[float | None] = field(default_factory=list)

    def sample(self, switch_calls: int, sipp_calls: int) -> None:
        cpu = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        threads = thread_cpu(self.loop_thread)
        self.samples.append(Sample(time.monotonic(), cpu, threads, switch_calls, sipp_calls))
        if self.ng is not None:
            from hotline.telephony.mediaserver import ng_ping

            # rtpengine's own reply time, on a socket of this thread: apart from the switch's loop
            started = time.perf_counter()
            answered = ng_ping(self.ng[0], self.ng[1], timeout_s=2.0)
            self.pings.append(1000 * (time.perf_counter() - started) if answered else None)

    def ping_summary(self) -> dict[str, Any]:
        replies = [ms / 1000 for ms in self.pings if ms is not None]
        return {**summary_ms(replies), "unanswered": sum(1 for ms in self.pings if ms is None)}

    def percents(self, name: str) -> list[tuple[float, int]]:
        """(CPU % of one core, switch calls) for each interval between two samples; ``name`` is a
        process, or ``switch.<group>`` for a group of the switch's threads."""
        out = []
        for a, b in zip(self.samples, self.samples[1:], strict=False):
            if b.at <= a.at:
                continue
            if name.startswith("switch."):
                group = name.split(".", 1)[1]
                used = sum(
                    seconds - a.threads[tid][1]
                    for tid, (g, seconds) in b.threads.items()
                    if g == group and tid in a.threads
                )
            else:
                before, after = a.cpu.get(name), b.cpu.get(name)
                if before is None or after is None:
                    continue
                used = after - before
            out.append((100 * used / (b.at - a.at), b.switch_calls))
        return out

    def summary(self, peak_calls: int) -> dict[str, dict[str, float]]:
        """Mean and maximum CPU % over the step, and the mean while the switch held at least
        90 % of the step's peak of calls (the plateau)."""
        out = {}
        for name in [*self.pids, *(f"switch.{g}" for g in THREAD_GROUPS)]:
            values = self.percents(name)
            if not values:
                continue
            plateau = [p for p, calls in values if calls >= 0.9 * peak_calls] or [p for p, _c in values]
            out[name] = {
                "mean_pct": round(sum(p for p, _c in values) / len(values), 1),
                "plateau_mean_pct": round(sum(plateau) / len(plateau), 1),
                "max_pct": round(max(p for p, _c in values), 1),
            }
        return out


# ==================================================================================================
# The centre
# ==================================================================================================


def django_setup(workdir: Path) -> None:
    """Django on a fresh SQLite file (WAL) under ``workdir``, migrated; logs to a file."""
    var = workdir / "var"
    var.mkdir(parents=True, exist_ok=True)
    os.environ.pop("REDIS_URL", None)  # the embedded channel layer, as `make run`
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{workdir / 'sip.sqlite3'}",
        HOTLINE_DEBUG="false",
        HOTLINE_VAR_DIR=str(var),
        HOTLINE_LOG_LEVEL="WARNING",
        HOTLINE_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DJANGO_ALLOW_ASYNC_UNSAFE="true",  # the engine reads the directory on the loop, as run_switch allows
        SIPLOG_BEND="none",
    )
    import django

    django.setup()
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(workdir / "switch.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


WELCOME_FLOW = {
    "start": "welcome",
    "nodes": {
        "welcome": {"type": "play", "prompts": ["welcome"], "next": "queue"},
        "queue": {"type": "queue", "queue": QUEUE},
    },
}
SHORT_FLOW = {
    "start": "hello",
    "nodes": {
        "hello": {"type": "play", "prompts": [SHORT_PROMPT], "next": "queue"},
        "queue": {"type": "queue", "queue": QUEUE},
    },
}


def build_centre(*, agents: int, phones_port: int) -> list[tuple[int, str]]:
    """The queue, the flows and numbers, the trunk, and ``agents`` agents whose phones are all one
    sipp at ``phones_port``. Returns (agent id, extension) pairs."""
    from django.test.utils import override_settings

    from hotline.accounts.services import user_create
    from hotline.callcenter import services
    from hotline.callcenter.models import AgentProfile, Queue, Seat
    from hotline.orgs.models import Region, Unit
    from hotline.orgs.services import region_save, unit_save
    from hotline.telephony.models import PhoneAccount, Trunk

    city = region_save(region=Region(code="99", name="测试市", level="city"))
    centre = unit_save(unit=Unit(code="CENTRE", name="12345热线中心", kind="centre", region=city))
    queue = services.queue_save(
        actor=None,
        queue=Queue(
            code=QUEUE, name="综合受理", ring_timeout_s=RING_TIMEOUT_S, wrap_up_s=WRAP_UP_S, record_calls=True
        ),
    )
    welcome = services.flow_save(actor=None, code="WELCOME", name="欢迎语转人工", definition=WELCOME_FLOW)
    from hotline.telephony.models import Prompt

    Prompt.objects.create(name=SHORT_PROMPT, text="您好。")
    short = services.flow_save(actor=None, code="SHORT", name="简短提示转人工", definition=SHORT_FLOW)
    services.hotline_number_save(actor=None, number=HOTLINE, name="12345 热线", flow=welcome)
    services.hotline_number_save(actor=None, number=SHORT_LINE, name="压测短流程", flow=short)
    Trunk.objects.create(code="LOCAL", name="本机压测", inbound_addresses="127.0.0.1/32")
    out = []
    password = secrets.token_urlsafe(16)
    # the accounts' passwords are never used: a fast hash instead of argon2 for hundreds of them
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        for i in range(agents):
            extension = str(FIRST_EXTENSION + i)
            user = user_create(
                actor=None,
                username=f"bench{extension}",
                password=password,
                role="agent",
                unit=centre,
                full_name=f"座席{extension}",
            )
            seat = services.seat_save(actor=None, seat=Seat(extension=extension, name=f"座席{extension}"))
            services.agent_profile_save(actor=None, profile=AgentProfile(user=user, default_seat=seat))
            services.membership_set(actor=None, queue=queue, agent=user, level=3)
            PhoneAccount.objects.create(
                seat=seat, realm="hotline", static_contact=f"sip:{extension}@127.0.0.1:{phones_port}"
            )
            out.append((user.id, extension))
    return out


# ==================================================================================================
# One step
# ==================================================================================================


@dataclass(frozen=True)
class Step:
    ramp: str  # "concurrency" or "rate"
    value: int  # concurrent calls, or calls a second
    called: str
    rate: float
    limit: int
    calls: int
    talk_s: float
    prompt_s: float

    @property
    def hold_s(self) -> float:
        """How long a caller stays: the prompt, the ring, the talk, and half a second of slack."""
        return self.prompt_s + RING_S + 0.5 + self.talk_s


class Bench:
    """rtpengine, the switch and the agents' phones for one run, and the steps run on them."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.index = 0
        self.rtpengine: subprocess.Popen[bytes] | None = None
        self.switch: Any = None
        self.agents: list[tuple[int, str]] = []
        self.cleared: list[dict[str, Any]] = []

    # --- start and stop ------------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        from hotline.telephony.mediaserver import MediaServerOptions, start_rtpengine
        from hotline.telephony.tests.harness import Switch

        ports_needed = max(2000, 12 * self.args.agents)
        base = free_block(11000, 11000 + 100, 20)
        self.ports = {"ng": base, "dtmf": base + 1, "caller_media": base + 4, "phones_media": base + 10}
        self.ports["phones"] = base + 16
        self.ports["caller"] = base + 17
        rtp_min = free_block(12000, 32000, 64)
        rtp_max = min(rtp_min + ports_needed, 32767) - 1
        self.options = MediaServerOptions(
            ng_port=self.ports["ng"],
            dtmf_port=self.ports["dtmf"],
            port_min=rtp_min,
            port_max=rtp_max,
            spool_dir=self.workdir / "spool",
            log_level=5,
        )
        log(f"centre: {self.args.agents} agents, migrating {self.workdir / 'sip.sqlite3'}")
        started = time.perf_counter()
        self.agents = build_centre(agents=self.args.agents, phones_port=self.ports["phones"])
        build_s = time.perf_counter() - started
        log(f"centre built in {build_s:.1f} s; rtpengine on ports {rtp_min}-{rtp_max}")
        self.rtpengine = start_rtpengine(
            self.options, log_path=self.workdir / "rtpengine.log", die_with_parent=True
        )
        self.switch = Switch(self.options, self.workdir / "prompts", reconcile_s=5.0).start()
        prompts = self.switch.runtime.prompts
        self.welcome_s = float(self.switch.welcome_s)
        from hotline.telephony.prompts import duration_s

        self.short_s = float(duration_s(prompts.file_for((SHORT_PROMPT,))))
        centre = self.switch.service.centre

        def login() -> int:
            for agent_id, extension in self.agents:
                centre.agent_login(agent_id=agent_id, extension=extension)
            return sum(1 for a in centre.agents.values() if a.state == "ready")

        ready = self.switch.call(login)
        from hotline.callcenter.runtime import settle_heap

        settle_heap()  # as the switch process does once it has started
        log(f"switch on {self.switch.target}; {ready} agents ready; welcome {self.welcome_s:.1f} s")
        return {
            "centre_build_s": round(build_s, 1),
            "agents_ready": ready,
            "welcome_prompt_s": round(self.welcome_s, 2),
            "short_prompt_s": round(self.short_s, 2),
            "rtp_ports": [rtp_min, rtp_max],
        }

    def stop(self) -> None:
        if self.switch is not None:
            self.switch.stop()
        if self.rtpengine is not None:
            from hotline.telephony.mediaserver import stop_rtpengine

            stop_rtpengine(self.rtpengine)

    # --- state of the switch -------------------------------------------------------------------

    def rtpengine_calls(self) -> int:
        future = asyncio.run_coroutine_threadsafe(
            self.switch.runtime.ng.list_calls(limit=100_000), self.switch.loop
        )
        return len(future.result(10))

    def engine_state(self) -> dict[str, Any]:
        centre = self.switch.service.centre
        return self.switch.call(
            lambda: {
                "engine_calls": len(centre.calls),
                "agents": dict(Counter(a.state for a in centre.agents.values())),
            }
        )

    def ng_stats(self) -> dict[str, Any]:
        stats = self.switch.runtime.ng.stats
        return {
            "requests": stats.requests,
            "retransmits": stats.retransmits,
            "timeouts": stats.timeouts,
            "errors": stats.errors,
            "late_replies": stats.ignored_replies,
            "times": {name: (t.count, t.total_s) for name, t in stats.times.items()},
        }

    def ng_delta(self, before: dict[str, Any]) -> dict[str, Any]:
        """What the switch's ng client did during a step: requests, resends, timeouts, and the
        mean reply time of each command (ms)."""
        after = self.ng_stats()
        out: dict[str, Any] = {k: after[k] - before[k] for k in after if k != "times"}
        means = {}
        for name, (count, total) in after["times"].items():
            count0, total0 = before["times"].get(name, (0, 0.0))
            if count > count0:
                means[name] = round(1000 * (total - total0) / (count - count0), 2)
        out["mean_reply_ms"] = means
        return out

    def clear(self) -> list[dict[str, str]]:
        """Hang up the legs the switch still holds (calls a failed step left behind); returns them."""
        from hotline.telephony.boundary import Hangup

        sip = self.switch.runtime.switch

        def hang_up() -> list[dict[str, str]]:
            legs = [
                {"leg_id": leg.leg_id, "call_id": leg.call_id, "state": leg.state}
                for leg in sip.legs.values()
                if leg.state != "ended"
            ]
            for leg in legs:
                sip.send(Hangup(leg["leg_id"], "normal"))
            return legs

        return list(self.switch.call(hang_up))

    def wait_idle(self, timeout_s: float = IDLE_TIMEOUT_S) -> dict[str, Any]:
        """Wait until the switch, the engine and rtpengine hold no call and every agent is ready."""
        started = time.monotonic()
        state: dict[str, Any] = {}
        while True:
            state = self.engine_state()
            state["switch_calls"] = len(self.switch.runtime.switch.calls)
            state["rtpengine_calls"] = self.rtpengine_calls()
            idle = (
                state["switch_calls"] == 0
                and state["engine_calls"] == 0
                and state["rtpengine_calls"] == 0
                and state["agents"].get("ready", 0) == len(self.agents)
            )
            state["idle"] = idle
            state["waited_s"] = round(time.monotonic() - started, 1)
            if idle or time.monotonic() - started > timeout_s:
                return state
            time.sleep(0.5)

    def ready(self) -> bool:
        """Idle before a step: calls a failed step left behind are hung up first (and noted)."""
        idle = self.wait_idle()
        if idle["idle"]:
            return True
        cleared = self.clear()
        log(f"the switch still held calls ({idle}); hung up {len(cleared)} legs: {cleared[:6]}")
        self.cleared.append({"before_step": self.index + 1, "state": idle, "legs": cleared})
        idle = self.wait_idle(30)
        if not idle["idle"]:
            log(f"the switch did not become idle: {idle}; the ramp stops")
        return bool(idle["idle"])

    # --- steps ---------------------------------------------------------------------------------

    def _loop_lag(self, before: dict[str, Any]) -> dict[str, float]:
        """How late the switch's loop ran what was due during the step (sampled every 50 ms)."""
        now = self.switch.runtime.loop_lag
        samples = now["samples"] - before["samples"]
        total = now["total_ms"] - before["total_ms"]
        return {
            "mean": round(total / max(1, samples), 2),
            "max_so_far": round(now["max_ms"], 1),
            "over_50ms": now["over_50ms"] - before["over_50ms"],
        }

    def run_step(self, step: Step) -> dict[str, Any]:
        from hotline.callcenter.models import CallRecord
        from hotline.telephony.models import Recording

        self.index += 1
        prefix = f"13{self.index:02d}"
        workdir = self.workdir / f"step{self.index:02d}-{step.ramp}-{step.value}"
        counters_before = dict(self.switch.runtime.switch.counters)
        lag_before = dict(self.switch.runtime.loop_lag)
        ng_before = self.ng_stats()
        log_lines_before = self._log_lines()
        load_before = [round(x, 2) for x in os.getloadavg()]
        phones = start_sipp(
            workdir,
            "phones",
            phones_scenario(),
            port=self.ports["phones"],
            media_port=self.ports["phones_media"],
        )
        time.sleep(0.5)
        budget_s = step.calls / step.rate + 3 * step.hold_s + 60
        caller = start_sipp(
            workdir,
            "caller",
            caller_scenario(called=step.called, hold_s=step.hold_s),
            port=self.ports["caller"],
            media_port=self.ports["caller_media"],
            target=self.switch.target,
            rate=step.rate,
            limit=step.limit,
            calls=step.calls,
            callers=[f"{prefix}{i:07d}" for i in range(step.calls)],
            timeout_s=budget_s,
        )
        log(
            f"{step.ramp} {step.value}: {step.calls} calls at {step.rate:g}/s, at most {step.limit} at once, "
            f"{step.hold_s:.1f} s each"
        )
        meter = Meter(
            {
                "switch": "self",
                "rtpengine": self.rtpengine.pid if self.rtpengine else 0,
                "sipp_callers": caller.process.pid,
                "sipp_phones": phones.process.pid,
            },
            loop_thread=self.switch.thread.native_id or 0,
            ng=(self.options.ng_host, self.options.ng_port),
        )
        started = time.monotonic()
        peak_switch = peak_sipp = 0
        while caller.process.poll() is None:
            switch_calls = len(self.switch.runtime.switch.calls)
            sipp_calls = caller.count("CurrentCall")
            peak_switch = max(peak_switch, switch_calls)
            peak_sipp = max(peak_sipp, sipp_calls)
            meter.sample(switch_calls, sipp_calls)
            time.sleep(1.0)
        elapsed_s = time.monotonic() - started
        meter.sample(len(self.switch.runtime.switch.calls), 0)
        idle = self.wait_idle()
        # the phones' sipp has seen every BYE by now; its statistics are written every second
        time.sleep(1.5)
        phones.stop()
        self.switch.service.recorder.flush()
        time.sleep(0.5)

        created = caller.count("TotalCallCreated")
        caller_ok = caller.count("SuccessfulCall(C)")
        caller_failed = caller.count("FailedCall(C)")
        phones_ok = phones.count("SuccessfulCall(C)")
        phones_failed = phones.count("FailedCall(C)")
        records = list(
            CallRecord.objects.filter(caller__startswith=prefix).values_list(
                "call_id", "outcome", "wait_s", "talk_s"
            )
        )
        outcomes = Counter(outcome for _c, outcome, _w, _t in records)
        answered = [call_id for call_id, outcome, _w, _t in records if outcome == "answered"]
        # a recording is a pcap in the spool, or a row once the switch has archived the call (a
        # worker thread after the hang-up, which may remove the pcap)
        deadline = time.monotonic() + 30
        while True:
            pcaps = {p.name.split("-", 1)[0] for p in (self.options.spool_dir / "pcaps").glob("*.pcap")}
            rows = set(Recording.objects.filter(call_id__in=answered).values_list("call_id", flat=True))
            unrecorded = [call_id for call_id in answered if call_id not in pcaps and call_id not in rows]
            if not unrecorded or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        answers = caller.response_times()
        answer_ms = [ms for _at, ms in answers]
        # the rate sipp placed the calls at: from the first call's answer to the last one's
        span_s = (max(at for at, _ms in answers) - min(at for at, _ms in answers)) / 1000 if answers else 0
        achieved_cps = round((len(answers) - 1) / span_s, 1) if span_s > 0 else None
        ok_calls = min(caller_ok, len(answered) - len(unrecorded), phones_ok)
        failures = {
            "caller_failed": caller_failed,
            "caller_unfinished": created - caller_ok - caller_failed,
            "not_placed": step.calls - created,
            "not_answered": created - len(answered),
            "phones_failed": phones_failed,
            "phones_missing": max(0, len(answered) - phones_ok),
            "unrecorded": len(unrecorded),
        }
        counters = {k: v - counters_before.get(k, 0) for k, v in self.switch.runtime.switch.counters.items()}
        peak = max(peak_switch, 1)
        result: dict[str, Any] = {
            "ramp": step.ramp,
            "value": step.value,
            "called": step.called,
            "rate_cps": step.rate,
            "limit": step.limit,
            "calls": step.calls,
            "talk_s": step.talk_s,
            "hold_s": round(step.hold_s, 2),
            "placed": created,
            "achieved_cps": achieved_cps,
            "peak_concurrent_switch": peak_switch,
            "peak_concurrent_sipp": peak_sipp,
            "ok_calls": ok_calls,
            "failed_calls": step.calls - ok_calls,
            "failures": failures,
            "outcomes": dict(outcomes),
            "answer_ms": summary_ms([ms / 1000 for ms in answer_ms]),
            "queue_wait_ms": summary_ms([w for _c, outcome, w, _t in records if outcome == "answered"]),
            "recordings": {"pcaps": len(pcaps & set(answered)), "rows": len(rows)},
            "cpu": meter.summary(peak),
            "switch_counters": counters,
            "loop_lag_ms": self._loop_lag(lag_before),
            "ng": self.ng_delta(ng_before),
            "rtpengine_ping_ms": meter.ping_summary(),
            "caller_exit_code": caller.process.returncode,
            "seconds": round(elapsed_s, 1),
            "idle_after": idle,
            "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
        }
        warnings = self._log_lines()[len(log_lines_before) :]
        if warnings:
            result["switch_log"] = {"lines": len(warnings), "last": [x[:300] for x in warnings[-6:]]}
        if result["failed_calls"]:
            result["sipp_errors"] = {"caller": caller.errors(), "phones": phones.errors()}
            result["unrecorded_calls"] = unrecorded[:5]
        cpu = result["cpu"]
        log(
            f"{step.ramp} {step.value}: {result['ok_calls']}/{step.calls} ok, failures {failures}, "
            f"peak {peak_switch} calls, answer p95 {result['answer_ms']['p95_ms']} ms, "
            f"switch {cpu.get('switch', {}).get('plateau_mean_pct')} %, "
            f"rtpengine {cpu.get('rtpengine', {}).get('plateau_mean_pct')} % (plateau means; switch loop "
            f"{cpu.get('switch.loop', {}).get('plateau_mean_pct')} %, workers "
            f"{cpu.get('switch.workers', {}).get('plateau_mean_pct')} %), "
            f"ng ping p95 {result['rtpengine_ping_ms']['p95_ms']} ms"
        )
        # the recordings were counted; the next steps do not need them on disk
        from django.conf import settings

        for folder, pattern in (
            (self.options.spool_dir / "pcaps", "*.pcap"),
            (self.options.spool_dir / "metadata", "*"),
            (Path(settings.HOTLINE_RECORDING_DIR), "**/*.wav*"),
        ):
            for path in folder.glob(pattern):
                if path.is_file():
                    path.unlink(missing_ok=True)
        return result

    def _log_lines(self) -> list[str]:
        path = self.workdir / "switch.log"
        if not path.exists():
            return []
        return [
            x for x in path.read_text(errors="replace").splitlines() if " WARNING " in x or " ERROR " in x
        ]


# ==================================================================================================
# The ramps
# ==================================================================================================


def ramp(bench: Bench, steps: list[Step]) -> tuple[list[dict[str, Any]], int | None]:
    """Run ``steps`` in order until the first step with a failed call (or one that did not reach
    its load); returns the steps' results and the last value with zero failures."""
    results = []
    best: int | None = None
    for step in steps:
        if not bench.ready():
            results.append(
                {"ramp": step.ramp, "value": step.value, "not_run": "the switch did not become idle"}
            )
            break
        result = bench.run_step(step)
        reached = (
            result["peak_concurrent_sipp"] >= 0.95 * step.value
            if step.ramp == "concurrency"
            else (result["achieved_cps"] or 0) >= 0.9 * step.value
        )
        result["load_reached"] = reached
        results.append(result)
        if result["failed_calls"]:
            break
        if reached:
            best = step.value
        else:
            log(f"{step.ramp} {step.value}: the load was not reached (sipp could not place it)")
    return results, best


def concurrency_steps(args: argparse.Namespace, bench: Bench) -> list[Step]:
    prompt_s = bench.welcome_s
    out = []
    for value in args.steps:
        hold = Step("concurrency", value, HOTLINE, 1, value, 1, args.talk_s, prompt_s).hold_s
        rate = max(args.ramp_cps, math.ceil(1.25 * value / hold))
        calls = int(value * args.rounds)
        out.append(Step("concurrency", value, HOTLINE, rate, value, calls, args.talk_s, prompt_s))
    return out


def rate_steps(args: argparse.Namespace, bench: Bench) -> list[Step]:
    return [
        Step(
            "rate",
            value,
            SHORT_LINE,
            value,
            max(len(bench.agents), 2000),
            int(value * args.rate_step_s),
            args.short_talk_s,
            bench.short_s,
        )
        for value in args.cps_steps
    ]


# ==================================================================================================
# Main
# ==================================================================================================


def git_state() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--", *CODE_PATHS],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None}
    return {"commit": commit, "uncommitted_switch_files": [line[3:] for line in status.splitlines()]}


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a two-minute smoke run with small steps")
    parser.add_argument(
        "--max-concurrent", type=int, default=600, help="the concurrency ramp goes up to this"
    )
    parser.add_argument("--steps", type=_ints, default=None, help="concurrency steps, e.g. 100,200,300")
    parser.add_argument(
        "--talk-s", type=float, default=20.0, help="talk with the agent in the concurrency ramp"
    )
    parser.add_argument("--rounds", type=float, default=2.0, help="calls per concurrency step, × the step")
    parser.add_argument(
        "--ramp-cps", type=float, default=10.0, help="lowest call rate of the concurrency ramp"
    )
    parser.add_argument("--max-cps", type=int, default=80, help="the set-up rate ramp goes up to this")
    parser.add_argument("--cps-steps", type=_ints, default=None, help="set-up rate steps, e.g. 20,40,60")
    parser.add_argument("--short-talk-s", type=float, default=1.0, help="talk in the set-up rate ramp")
    parser.add_argument("--rate-step-s", type=float, default=20.0, help="seconds of new calls per rate step")
    parser.add_argument("--agents", type=int, default=None, help="agents (default: the largest step + 60)")
    parser.add_argument("--ramps", default="concurrency,rate", help="comma-separated: concurrency, rate")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (database, logs)")
    parser.add_argument("--out", default=None, help="default: bench/results/sip.json (--quick: /tmp)")
    args = parser.parse_args()
    if args.quick:
        args.steps = args.steps or [20, 40]
        args.cps_steps = args.cps_steps or [5, 10]
        args.talk_s = 5.0 if args.talk_s == 20.0 else args.talk_s
        args.rate_step_s = 8.0 if args.rate_step_s == 20.0 else args.rate_step_s
        args.out = args.out or str(Path(tempfile.gettempdir()) / "hotline-sip-quick.json")
    args.steps = [
        s for s in (args.steps or range(100, args.max_concurrent + 1, 100)) if s <= args.max_concurrent
    ]
    args.cps_steps = [s for s in (args.cps_steps or range(10, args.max_cps + 1, 10)) if s <= args.max_cps]
    # agents for the largest concurrency, and for the busiest rate step (ring, talk and wrap-up)
    busy_at_rate = max(args.cps_steps, default=0) * (RING_S + args.short_talk_s + WRAP_UP_S + 1.5)
    args.agents = args.agents or int(max(max(args.steps, default=0), busy_at_rate) + 60)
    args.out = args.out or str(RESULTS / "sip.json")
    return args


def main() -> int:
    args = parse_args()
    for tool in ("sipp", "rtpengine", "sox", "espeak-ng"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (Debian: sip-tester, rtpengine-daemon, sox, espeak-ng)")
            return 2
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # sipp and rtpengine inherit it
    workdir = Path(tempfile.mkdtemp(prefix="hotline-sip-"))
    started = time.perf_counter()
    cpu_before = cpu_times()
    result: dict[str, Any] = {
        "benchmark": "sip",
        "date": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "code": git_state(),
        "machine": {
            **machine_info(),
            "sipp": tool_version(["sipp", "-v"]),
            "rtpengine": tool_version(["rtpengine", "--version"]),
            "open_files_limit": hard,
        },
        "parameters": {
            "quick": args.quick,
            "agents": args.agents,
            "concurrency_steps": args.steps,
            "concurrency_talk_s": args.talk_s,
            "concurrency_calls_per_step": f"{args.rounds:g} x the step",
            "concurrency_min_cps": args.ramp_cps,
            "rate_steps_cps": args.cps_steps,
            "rate_step_s": args.rate_step_s,
            "rate_talk_s": args.short_talk_s,
            "queue": {"ring_timeout_s": RING_TIMEOUT_S, "wrap_up_s": WRAP_UP_S, "record_calls": True},
            "agent_phone_ring_s": RING_S,
            "media": "G.711 A-law both ways (sipp's g711a.pcap repeated) from the caller and the agent",
            "switch": "SwitchService + SipRuntime in the benchmark process (CPU of that process)",
            "database": "SQLite (WAL) under /tmp, config.settings.local semantics, DEBUG off",
        },
        "targets": TARGETS,
        "figures": {},
        "steps": {},
    }
    bench: Bench | None = None
    try:
        django_setup(workdir)
        bench = Bench(args, workdir)
        result["setup"] = bench.start()
        ramps = set(args.ramps.split(","))
        figures = result["figures"]
        if "concurrency" in ramps:
            steps, best = ramp(bench, concurrency_steps(args, bench))
            result["steps"]["concurrency"] = steps
            figures["max_concurrent_calls_zero_fail"] = best
            at = next((s for s in steps if s.get("value") == ANSWER_FIGURE_AT and "answer_ms" in s), None)
            if at is None and args.quick:
                at = next((s for s in reversed(steps) if "answer_ms" in s), None)
            if at is not None:
                figures[f"answer_ms_p95_{at['value']}_concurrent"] = at["answer_ms"]["p95_ms"]
                for name in ("switch", "rtpengine"):
                    cpu = at["cpu"].get(name, {})
                    figures[f"{name}_cpu_pct_at_{at['value']}_concurrent"] = cpu.get("plateau_mean_pct")
            last_ok = next((s for s in reversed(steps) if s.get("value") == best), None)
            if last_ok is not None:
                for name in ("switch", "rtpengine"):
                    cpu = last_ok["cpu"].get(name, {})
                    figures[f"{name}_cpu_pct_at_{best}_concurrent"] = cpu.get("plateau_mean_pct")
        if "rate" in ramps:
            steps, best = ramp(bench, rate_steps(args, bench))
            result["steps"]["rate"] = steps
            figures["setup_cps_zero_fail"] = best
            last_ok = next((s for s in reversed(steps) if s.get("value") == best), None)
            if last_ok is not None:
                figures[f"answer_ms_p95_at_{best}_cps"] = last_ok["answer_ms"]["p95_ms"]
                for name in ("switch", "rtpengine"):
                    cpu = last_ok["cpu"].get(name, {})
                    figures[f"{name}_cpu_pct_at_{best}_cps"] = cpu.get("plateau_mean_pct")
    finally:
        if bench is not None:
            result["cleared_between_steps"] = bench.cleared
            bench.stop()
        result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        result["machine"]["cpu_during_run"] = cpu_share(cpu_before, cpu_times())
        result["seconds"] = round(time.perf_counter() - started, 1)
        write_json(Path(args.out), result)
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    heads = ("ramp", "step", "calls", "ok", "failed", "peak", "answer p95", "switch %", "rtpengine %")
    print(" ".join(f"{h:>11}" for h in heads))
    for kind, steps in result["steps"].items():
        for s in steps:
            if "answer_ms" not in s:
                continue
            cpu = s["cpu"]
            row = (
                kind,
                s["value"],
                s["calls"],
                s["ok_calls"],
                s["failed_calls"],
                s["peak_concurrent_switch"],
                s["answer_ms"]["p95_ms"],
                cpu.get("switch", {}).get("plateau_mean_pct"),
                cpu.get("rtpengine", {}).get("plateau_mean_pct"),
            )
            print(" ".join(f"{v!s:>11}" for v in row))
    print()
    figures = result["figures"]
    width = max((len(k) for k in figures), default=10)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value!s:>10}  {TARGETS.get(key, '')}")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
