"""What one ``play media`` costs rtpengine, and how evenly it sends the prompt, by file format.

The prompt library keeps every prompt as a WAV (8 kHz, mono, 16-bit: joined, measured, previewed
in the browser) and gives rtpengine the same audio as G.711 A-law in a Sun ``.au`` file
(``PromptLibrary.play_file_for``, ``speech.to_play_file``). This script measures why, on the
welcome prompt as the library synthesises it:

- **cost**: rtpengine (started as ``run_media`` starts it, on ports of its own) holds ``--calls``
  calls, each answered with a placeholder as the switch answers a caller; the script sends each
  call ``play media`` and, once it is answered, ``stop media``, ``--rounds`` times per format,
  formats alternating. The figure is rtpengine's CPU (user + system, ``/proc/<pid>/stat``) over
  the round divided by the plays (the stops and the few packets sent before them included), with
  the ``play media`` round trips;
- **pacing**: one call whose caller is a socket of this script; rtpengine plays the file once and
  the script notes when each RTP packet arrives. ``gaps`` are the times between packets (20 ms is
  right); ``jitter_buffer_ms`` is how much a phone would have to buffer to play the packets
  without a gap (the largest lateness against the 20 ms schedule of the earliest packet);
  ``same_bytes`` whether the payloads are exactly the file's A-law bytes.

    make bench-player                                    # 200 calls, 5 rounds per format
    .venv/bin/python bench/player.py --calls 20 --rounds 1 --out /tmp/player.json
"""

from __future__ import annotations

import argparse
import itertools
import secrets
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    RESULTS,
    cpu_seconds,
    free_block,
    log,
    machine_info,
    percentile,
    tool_version,
    write_json,
)
from hotline.telephony import speech  # noqa: E402
from hotline.telephony.defaults import DEFAULT_PROMPTS  # noqa: E402
from hotline.telephony.mediaserver import MediaServerOptions, start_rtpengine, stop_rtpengine  # noqa: E402
from hotline.telephony.ng import bdecode, bencode  # noqa: E402
from hotline.telephony.prompts import au_header  # noqa: E402

PACKET_S = 0.020


def sdp(port: int) -> str:
    return (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
    )


class Ng:
    """A blocking ng client: one request at a time, as the measurement wants."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", port))

    def __call__(self, command: str, **params: Any) -> dict[str, Any]:
        cookie = secrets.token_hex(6).encode()
        body = {"command": command, **{k.replace("_", "-"): v for k, v in params.items()}}
        self.sock.send(cookie + b" " + bencode(body))
        reply: dict[str, Any] = bdecode(self.sock.recv(65535).partition(b" ")[2])
        if reply.get("result") != "ok":
            raise RuntimeError(f"{command}: {reply}")
        return reply


def answer_placeholder(ng: Ng, call_id: str, caller_port: int) -> None:
    ng("offer", call_id=call_id, from_tag="caller", sdp=sdp(caller_port), flags=["port latching"])
    ng("answer", call_id=call_id, from_tag="caller", to_tag="p", sdp=sdp(9), flags=["port latching"])


def cost_round(ng: Ng, pid: int, calls: list[str], path: Path) -> dict[str, float]:
    before = cpu_seconds(pid) or 0.0
    replies: list[float] = []
    for call_id in calls:
        started = time.perf_counter()
        ng("play media", call_id=call_id, from_tag="caller", file=str(path))
        replies.append(time.perf_counter() - started)
        ng("stop media", call_id=call_id, from_tag="caller")
    spent = (cpu_seconds(pid) or 0.0) - before
    return {
        "cpu_ms_per_play": round(spent * 1000 / len(calls), 2),
        "reply_ms_p50": round(percentile(replies, 50) * 1000, 2),
        "reply_ms_p95": round(percentile(replies, 95) * 1000, 2),
    }


def pacing(ng: Ng, path: Path, call_id: str, data: bytes | None) -> dict[str, Any]:
    phone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    phone.bind(("127.0.0.1", 0))
    phone.settimeout(0.5)
    answer_placeholder(ng, call_id, phone.getsockname()[1])
    duration = ng("play media", call_id=call_id, from_tag="caller", file=str(path)).get("duration")
    arrivals: list[float] = []
    payload = bytearray()
    try:
        while True:
            packet = phone.recv(2048)
            arrivals.append(time.monotonic())
            payload += packet[12:]
    except TimeoutError:
        pass
    finally:
        phone.close()
        ng("delete", call_id=call_id)
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(arrivals)]
    lateness = [t - (arrivals[0] + PACKET_S * k) for k, t in enumerate(arrivals)]
    return {
        "duration_ms": duration,
        "packets": len(arrivals),
        "packets_expected": round((duration or 0) / 1000 / PACKET_S),
        "gap_ms": {
            "p5": round(percentile(gaps, 5), 1),
            "p50": round(percentile(gaps, 50), 1),
            "p95": round(percentile(gaps, 95), 1),
            "max": round(max(gaps), 1),
        },
        "jitter_buffer_ms": round((max(lateness) - min(lateness)) * 1000, 1),
        "same_bytes": None if data is None else bytes(payload) == data[: len(payload)] and len(payload) > 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--calls", type=int, default=200, help="calls held in rtpengine; one play each per round"
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds per format")
    parser.add_argument("--out", type=Path, default=RESULTS / "player.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hotline-player-"))
    wav = speech.synthesise(DEFAULT_PROMPTS["welcome"], work / "welcome.wav")
    au = speech.to_play_file(wav, work / "welcome.au")
    header = au_header(au)
    assert header is not None
    au_data = au.read_bytes()[header.offset :]
    formats = {"wav_16bit": (wav, None), "au_alaw": (au, au_data)}
    log(f"welcome prompt: {speech.run([speech.SOX, '--i', '-D', str(wav)]).decode().strip()} s")

    base = free_block(11000, 11100, 2)
    rtp_min = free_block(12000, 32000, 12 * args.calls + 100)
    options = MediaServerOptions(
        ng_port=base,
        dtmf_port=base + 1,
        port_min=rtp_min,
        port_max=rtp_min + 12 * args.calls + 99,
        spool_dir=work / "spool",
    )
    process = start_rtpengine(options, log_path=work / "rtpengine.log")
    ng = Ng(options.ng_port)
    try:
        calls = [f"cost-{n}" for n in range(args.calls)]
        for call_id in calls:
            answer_placeholder(ng, call_id, 9)
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in formats}
        for number in range(args.rounds):
            for name, (path, _data) in formats.items():
                figures = cost_round(ng, process.pid, calls, path)
                rounds[name].append(figures)
                log(f"round {number + 1} {name}: {figures}")
        for call_id in calls:
            ng("delete", call_id=call_id)
        paced = {name: pacing(ng, path, f"pace-{name}", data) for name, (path, data) in formats.items()}
        for name, figures in paced.items():
            log(f"pacing {name}: {figures}")
    finally:
        stop_rtpengine(process)

    results: dict[str, Any] = {}
    for name in formats:
        cpu = [r["cpu_ms_per_play"] for r in rounds[name]]
        results[name] = {
            "cpu_ms_per_play": round(statistics.median(cpu), 2),
            "rounds": rounds[name],
            "pacing": paced[name],
        }
    figures = {
        "rtpengine_cpu_ms_per_play_wav_16bit": results["wav_16bit"]["cpu_ms_per_play"],
        "rtpengine_cpu_ms_per_play_au_alaw": results["au_alaw"]["cpu_ms_per_play"],
        "jitter_buffer_ms_wav_16bit": results["wav_16bit"]["pacing"]["jitter_buffer_ms"],
        "jitter_buffer_ms_au_alaw": results["au_alaw"]["pacing"]["jitter_buffer_ms"],
        "au_alaw_sent_byte_for_byte": results["au_alaw"]["pacing"]["same_bytes"],
    }
    write_json(
        args.out,
        {
            "benchmark": "player",
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {**machine_info(), "rtpengine": tool_version(["rtpengine", "--version"])},
            "parameters": {"calls": args.calls, "rounds": args.rounds, "prompt": "welcome (built-in text)"},
            "figures": figures,
            "details": results,
        },
    )
    for key, value in figures.items():
        print(f"{key:40} {value}")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
