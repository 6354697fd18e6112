"""sipp as the switch's far ends in tests and the benchmark: callers, agents' phones, a
registration. Scenarios are written from templates here, so each test says what its phones do.

Audio and digits are the pcaps sipp ships (/usr/share/sip-tester): ``g711a.pcap`` (about 7 s of
speech, A-law) and ``dtmf_2833_<digit>.pcap`` (one RFC 2833 key press).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hotline.telephony.tests.rtp import HANDED_OUT, free_udp_port, udp_ports_free

PCAPS = Path("/usr/share/sip-tester")
SPEECH = PCAPS / "g711a.pcap"


def require_sipp() -> None:
    if shutil.which("sipp") and SPEECH.exists():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("sipp is not installed (Debian: sip-tester), and CI=true")
    pytest.skip("sipp is not installed (Debian package sip-tester)")


def free_media_port(*, avoid: tuple[int, ...] = ()) -> int:
    """An even port with the three after it free too (sipp binds RTP and RTCP, audio and video),
    none of them in ``avoid`` or handed out by :func:`free_udp_port` lately: such a port is free
    but may not be bound yet (the SIP port of the same sipp, a phone's port), and the kernel hands
    out neighbouring ports, so sipp could find its video port taken."""
    for _ in range(50):
        port = free_udp_port() & ~1
        taken = {*avoid, *list(HANDED_OUT)[:-1]}  # the port just drawn is the block's own
        if not any(port <= other < port + 4 for other in taken) and udp_ports_free(port, 4):
            return port
    raise RuntimeError("no free block of four UDP ports for sipp's media")


def digit_pcap(digit: str, shift: int = 0) -> Path:
    """sipp's recording of one key press; with ``shift``, a copy whose RTP timestamps are moved on
    (sipp replays a pcap's timestamps as they are, and two events with one timestamp are one key
    press to the receiver, so a key pressed twice in a row needs a second copy)."""
    name = {"*": "star", "#": "pound"}.get(digit, digit)
    original = PCAPS / f"dtmf_2833_{name}.pcap"
    if not shift:
        return original
    import struct
    import tempfile

    from hotline.telephony.pcapwav import _frames

    copy = Path(tempfile.gettempdir()) / f"hotline-dtmf-{name}-{shift}.pcap"
    if not copy.exists():
        data = bytearray(original.read_bytes())
        for _, _, _, _, start, _ in _frames(bytes(data)):
            (timestamp,) = struct.unpack_from("!I", data, start + 4)
            struct.pack_into("!I", data, start + 4, (timestamp + 16_000 * shift) % 2**32)
        partial = copy.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(bytes(data))
        partial.replace(copy)
    return copy


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


def _play(path: Path) -> str:
    return f'<nop><action><exec play_pcap_audio="{path}"/></action></nop>'


def caller_scenario(
    *,
    called: str,
    steps: list[tuple[str, float | str]],
    hang_up: bool = True,
    contact_transport: str = "UDP",
) -> str:
    """A caller: INVITE ``called``, then ``steps`` — ("wait", seconds), ("speak", 0) (about 7 s of
    speech in the background), ("keys", "1#") (RFC 2833 digits, 0.3 s apart), ("reinvite",
    "sendonly") (a re-INVITE with that direction; the answer must carry the mirrored one) — then
    BYE, or wait for the switch's BYE when ``hang_up`` is false."""
    body = []
    cseq = 1
    for kind, value in steps:
        if kind == "wait":
            body.append(f'<pause milliseconds="{int(float(value) * 1000)}"/>')
        elif kind == "speak":
            body.append(_play(SPEECH))
        elif kind == "keys":
            previous, shift = "", 0
            for key in str(value):
                shift = (shift + 1) % 4 if key == previous else 0
                previous = key
                body.append(_play(digit_pcap(key, shift)))
                body.append('<pause milliseconds="400"/>')
        elif kind == "reinvite":
            cseq += 1
            direction = str(value)
            mirrored = {"sendonly": "recvonly", "recvonly": "sendonly"}.get(direction, direction)
            body.append(_reinvite(called, cseq, direction, mirrored))
    cseq += 1
    ending = (
        f"""<send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: {cseq} BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200" crlf="true"/>"""
        if hang_up
        else '<recv request="BYE"/>\n' + _response("200 OK", to_tag=False)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="hotline caller">
<send retrans="500"><![CDATA[
INVITE sip:{called}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{called}@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:[field0]@[local_ip]:[local_port];transport={contact_transport}>
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
{ending}
</scenario>
"""


def refused_caller_scenario(*, called: str, status: int) -> str:
    """A caller whose INVITE must end with ``status`` (then ACK)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="hotline refused caller">
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
<recv response="{status}"/>
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
</scenario>
"""


def _reinvite(called: str, cseq: int, direction: str, expect: str) -> str:
    sdp = SDP.replace("a=sendrecv", f"a={direction}")
    return f"""<send retrans="500"><![CDATA[
INVITE sip:{called}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{called}@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: {cseq} INVITE
Contact: <sip:[field0]@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

{sdp}
]]></send>
<recv response="100" optional="true"/>
<recv response="200">
<action><ereg regexp="a={expect}" search_in="body" check_it="true" assign_to="direction"/></action>
</recv>
<send><![CDATA[
ACK sip:{called}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{called}@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: {cseq} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>"""


def _response(
    status: str, *, to_tag: bool = True, contact: bool = False, sdp: bool = False, cseq: str = ""
) -> str:
    """A response to the last request, its headers copied from it (sipp's ``[last_…]``)."""
    lines = [
        f"SIP/2.0 {status}",
        "[last_Via:]",
        "[last_From:]",
        "[last_To:];tag=[pid]SIPpTag01[call_number]" if to_tag else "[last_To:]",
        "[last_Call-ID:]",
        cseq or "[last_CSeq:]",
    ]
    if contact:
        lines.append("Contact: <sip:[local_ip]:[local_port]>")
    if sdp:
        lines += ["Content-Type: application/sdp", "Content-Length: [len]", "", SDP]
    else:
        lines += ["Content-Length: 0", ""]
    retrans = ' retrans="500"' if status.startswith("200") and sdp else ""
    return f"<send{retrans}><![CDATA[\n" + "\n".join(lines) + "\n]]></send>"


def phone_scenario(
    *, ring_s: float = 0.3, answer: bool = True, busy: bool = False, hang_up_after_s: float | None = None
) -> str:
    """An agent's phone (sipp as a server): rings ``ring_s`` then answers with speech, and waits
    for the BYE (or sends its own after ``hang_up_after_s``); or answers ``486 Busy``; or never
    answers (``answer=False``: only a CANCEL ends it)."""
    if busy:
        steps = [_response("486 Busy Here"), '<recv request="ACK"/>']
    elif not answer:
        steps = [
            _response("180 Ringing"),
            '<recv request="CANCEL"/>',
            _response("200 OK", to_tag=False),
            _response("487 Request Terminated", cseq="CSeq: [cseq] INVITE"),
            '<recv request="ACK"/>',
        ]
    else:
        steps = [
            _response("180 Ringing", contact=True),
            f'<pause milliseconds="{int(ring_s * 1000)}"/>',
            _response("200 OK", contact=True, sdp=True),
            '<recv request="ACK" rtd="true" crlf="true"/>',
            _play(SPEECH),
        ]
        if hang_up_after_s is None:
            steps += ['<recv request="BYE"/>', _response("200 OK", to_tag=False)]
        else:
            steps += [f'<pause milliseconds="{int(hang_up_after_s * 1000)}"/>', PHONE_BYE]
    body = "\n".join(steps)
    invite = '<recv request="INVITE" crlf="true"/>'
    if hang_up_after_s is not None and answer and not busy:  # keep what the BYE needs
        invite = """<recv request="INVITE" crlf="true">
<action>
<ereg regexp="sip:[^>;]*" search_in="hdr" header="Contact:" assign_to="contact"/>
<ereg regexp=".*" search_in="hdr" header="From:" assign_to="their_from"/>
<ereg regexp=".*" search_in="hdr" header="To:" assign_to="our_to"/>
</action>
</recv>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="hotline agent phone">
{invite}
{body}
</scenario>
"""


# The phone hangs up first: a BYE inside the dialog the switch's INVITE made.
PHONE_BYE = """<send retrans="500"><![CDATA[
BYE [$contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: [$our_to];tag=[pid]SIPpTag01[call_number]
To: [$their_from]
Call-ID: [call_id]
CSeq: 1 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>"""


def register_scenario(*, extension: str, contact_port: int, expires: int = 3600) -> str:
    """REGISTER ``extension`` with digest authentication (``-au``/``-ap``), its Contact at
    ``contact_port`` on the same host (where the phone's own sipp listens)."""
    request = f"""REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{extension}@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{extension}@[remote_ip]>
Call-ID: [call_id]
CSeq: [cseq] REGISTER
Contact: <sip:{extension}@[local_ip]:{contact_port};transport=UDP>
Expires: {expires}
Max-Forwards: 70
User-Agent: sipp-phone
"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="register">
<send retrans="500"><![CDATA[
{request}Content-Length: 0

]]></send>
<recv response="401" auth="true"/>
<send retrans="500"><![CDATA[
{request}[authentication]
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>
"""


@dataclass
class Sipp:
    """One sipp process; ``wait()`` returns its exit code (0: every call went as scripted)."""

    process: subprocess.Popen[bytes]
    workdir: Path
    name: str
    args: list[str] = field(default_factory=list)

    def wait(self, timeout: float = 60.0) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            return -1

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def output(self) -> str:
        parts = []
        for path in sorted(self.workdir.glob(f"{self.name}*")):
            if path.suffix in (".log", ".txt", ".csv", ".out"):
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)


def run_sipp(
    workdir: Path,
    name: str,
    scenario: str,
    *,
    target: str = "",
    port: int,
    media_port: int | None = None,
    calls: int = 1,
    rate: float = 1.0,
    service: str = "12345",
    caller: str = "13800138000",
    extra: list[str] | None = None,
) -> Sipp:
    """Start sipp with ``scenario`` on ``127.0.0.1:port`` (a client of ``target`` when given)."""
    workdir.mkdir(parents=True, exist_ok=True)
    xml = workdir / f"{name}.xml"
    xml.write_text(scenario)
    inf = workdir / f"{name}.csv"
    inf.write_text(f"SEQUENTIAL\n{caller};\n")
    args = ["sipp", "-sf", str(xml), "-i", "127.0.0.1", "-p", str(port), "-m", str(calls), "-r", str(rate)]
    args += [
        "-s",
        service,
        "-inf",
        str(inf),
        "-nostdin",
        "-trace_err",
        "-trace_screen",
        "-max_recv_loops",
        "100",
    ]
    args += [
        "-error_file",
        str(workdir / f"{name}_errors.log"),
        "-screen_file",
        str(workdir / f"{name}_screen.log"),
    ]
    args += ["-mp", str(media_port or free_media_port(avoid=(port,))), "-timeout", "120s", "-timeout_error"]
    args += list(extra or [])
    if target:
        args.append(target)
    out = (workdir / f"{name}.out").open("wb")
    process = subprocess.Popen(  # noqa: S603 - sipp with arguments built here
        args, cwd=workdir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
    )
    time.sleep(0.05)
    return Sipp(process, workdir, name, args)
