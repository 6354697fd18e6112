"""The audio mixer's cost: N rooms of three members on loopback for 20 s each, CPU per room.

Every room mixes as a barge or a three-way call does (each member hears the two others: the most
work a room of three can make). The fake phones run in a child process (this script with
``--phones``): one UDP socket per member sending a tone as 20 ms A-law or µ-law packets on a fixed
schedule and counting what comes back, so the CPU measured in this process is the mixer's alone.

For each size the script reports the mixer process's CPU (of one core, in %) in total and per room,
the tick overruns (ticks that ended after the next one was due), the mean and the worst time a tick
took, how late the clock fired at worst, and from the phones' side the packets received per member
and second (50 is right) and the gaps longer than 40 ms. The machine is shared: the load average
and the busy/idle/steal shares of the whole machine during the run are written beside the figures.

    .venv/bin/python bench/mixer.py                      # 10, 25, 50 and 100 rooms, 3 × 20 s each
    .venv/bin/python bench/mixer.py --rooms 5 --seconds 5 --repeat 1 --out /tmp/mixer.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import struct
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import RESULTS, cpu_share, cpu_times, log, machine_info, write_json  # noqa: E402
from hotline.telephony.mixer import BARGE, PCMA, PCMU, Mixer, g711_encode  # noqa: E402

WARMUP_S = 1.0
PERIOD_S = 0.020
FRAME = 160


# --- the phones (child process) ------------------------------------------------------------------


class Phone(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.received = 0
        self.last = 0.0
        self.gaps = 0
        self.counting = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if not self.counting:
            return
        now = time.monotonic()
        if self.received and now - self.last > 2 * PERIOD_S:
            self.gaps += 1
        self.received += 1
        self.last = now


def tone_payloads(hz: float, payload_type: int) -> list[bytes]:
    """One second of a tone as 50 payloads (a whole number of periods, so it loops cleanly)."""
    t = np.arange(8000) / 8000
    samples = (6000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return [g711_encode(samples[i : i + FRAME], payload_type) for i in range(0, 8000, FRAME)]


async def phones_main(seconds: float) -> None:
    """Read the mixer's ports on stdin, print the phones' addresses, send and count, print figures."""
    ports: list[int] = json.loads(sys.stdin.readline())
    loop = asyncio.get_running_loop()
    phones: list[Phone] = []
    for _ in ports:
        _, phone = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
        phones.append(phone)
    print(json.dumps([p.transport.get_extra_info("sockname")[1] for p in phones if p.transport]), flush=True)
    sys.stdin.readline()  # the mixer is connected: go
    codecs = [PCMA, PCMU, PCMA]
    payloads = [tone_payloads(400 + 400 * (i % 3), codecs[i % 3]) for i in range(len(ports))]
    ssrcs = [0x1000 + i for i in range(len(ports))]
    cpu_start = time.process_time()
    start = loop.time()
    counted_from = counted_until = time.monotonic()
    count = int((seconds + 2 * WARMUP_S) / PERIOD_S)
    for tick in range(count):
        if tick == int(WARMUP_S / PERIOD_S):
            for phone in phones:
                phone.counting = True
            counted_from = time.monotonic()
        if tick == count - int(WARMUP_S / PERIOD_S):
            for phone in phones:
                phone.counting = False
            counted_until = time.monotonic()
        for i, phone in enumerate(phones):
            assert phone.transport is not None
            header = struct.pack("!BBHII", 0x80, codecs[i % 3], tick & 0xFFFF, tick * FRAME, ssrcs[i])
            phone.transport.sendto(header + payloads[i][tick % 50], ("127.0.0.1", ports[i]))
        await asyncio.sleep(max(0.0, start + PERIOD_S * (tick + 1) - loop.time()))
    cpu = time.process_time() - cpu_start
    wall = loop.time() - start
    per_member = [p.received / max(counted_until - counted_from, 1e-9) for p in phones]
    print(
        json.dumps(
            {
                "received_pps_per_member_mean": round(sum(per_member) / len(per_member), 2),
                "received_pps_per_member_min": round(min(per_member), 2),
                "gaps_over_40ms": sum(p.gaps for p in phones),
                "phones_cpu_percent": round(100 * cpu / wall, 1),
            }
        ),
        flush=True,
    )


# --- the mixer (this process) --------------------------------------------------------------------


async def run_size(rooms: int, seconds: float, port_min: int) -> dict[str, Any]:
    mixer = Mixer(port_min=port_min, port_max=port_min + 3 * rooms + 50)
    await mixer.start()
    roles = sorted(BARGE)
    ports: list[int] = []
    for r in range(rooms):
        room = mixer.room(f"room-{r}")
        for role in roles:
            ports.append(await room.add(role))
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--phones",
        "--seconds",
        str(seconds),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write((json.dumps(ports) + "\n").encode())
    await child.stdin.drain()
    phone_ports: list[int] = json.loads(await child.stdout.readline())
    codecs = [PCMA, PCMU, PCMA]
    for r in range(rooms):
        room = mixer.room(f"room-{r}")
        for k, role in enumerate(roles):
            room.connect(role, "127.0.0.1", phone_ports[3 * r + k], codecs[k])
        room.set_matrix(BARGE, {role: role for role in roles})
    child.stdin.write(b"go\n")
    await child.stdin.drain()

    await asyncio.sleep(WARMUP_S)
    before = dict(mixer.stats)
    load_start = os.getloadavg()
    machine_before = cpu_times()
    cpu_start, wall_start = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu = time.process_time() - cpu_start
    wall = time.monotonic() - wall_start
    after = dict(mixer.stats)
    machine = cpu_share(machine_before, cpu_times())
    load_end = os.getloadavg()
    phones = json.loads(await child.stdout.readline())
    await child.wait()
    await mixer.close()

    def delta(key: str) -> float:
        return after[key] - before[key]

    ticks = delta("ticks")
    cpu_percent = 100 * cpu / wall
    return {
        "rooms": rooms,
        "members": 3 * rooms,
        "seconds": round(wall, 2),
        "mixer_cpu_percent": round(cpu_percent, 2),
        "mixer_cpu_percent_per_room": round(cpu_percent / rooms, 3),
        "ticks": int(ticks),
        "tick_overruns": int(delta("tick_overruns")),
        "ticks_skipped": int(delta("ticks_skipped")),
        "tick_work_mean_ms": round(delta("tick_work_ms") / ticks, 3) if ticks else None,
        "tick_work_max_ms": after["tick_work_max_ms"],
        "tick_late_max_ms": after["tick_late_max_ms"],
        "packets_sent": int(delta("packets_sent")),
        "packets_received": int(delta("packets_received")),
        "packets_late": int(delta("packets_late")),
        "packets_dropped": int(delta("packets_dropped")),
        "frames_lost": int(delta("frames_lost")),
        "underruns": int(delta("underruns")),
        **phones,
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in load_end],
        "machine_cpu": machine,
        # what the rest of the machine used meanwhile (other people's work), in % of one core
        "others_cpu_percent": round(
            machine.get("busy_percent", 0) * (os.cpu_count() or 1)
            - cpu_percent
            - phones["phones_cpu_percent"],
            1,
        ),
    }


async def bench(sizes: list[int], seconds: float, port_min: int, repeat: int) -> list[dict[str, Any]]:
    results = []
    for rooms in sizes:
        for run in range(1, repeat + 1):
            log(f"{rooms} rooms of 3 members for {seconds:g} s (run {run} of {repeat})")
            result = {"run": run, **await run_size(rooms, seconds, port_min)}
            log(
                f"  mixer CPU {result['mixer_cpu_percent']} % "
                f"({result['mixer_cpu_percent_per_room']} % a room), "
                f"tick overruns {result['tick_overruns']} of {result['ticks']}, "
                f"tick mean {result['tick_work_mean_ms']} ms max {result['tick_work_max_ms']} ms, "
                f"phones got {result['received_pps_per_member_mean']} packets/s a member, "
                f"{result['gaps_over_40ms']} gaps; others used {result['others_cpu_percent']} % "
                f"of a core, load {result['load_average_start']}"
            )
            results.append(result)
    return results


def summary(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per size: the median CPU over the runs, and the run the rest of the machine disturbed least."""
    out = []
    for rooms in sorted({r["rooms"] for r in results}):
        runs = [r for r in results if r["rooms"] == rooms]
        quietest = min(runs, key=lambda r: r["others_cpu_percent"])
        out.append(
            {
                "rooms": rooms,
                "runs": len(runs),
                "mixer_cpu_percent_median": statistics.median(r["mixer_cpu_percent"] for r in runs),
                "mixer_cpu_percent_per_room_median": round(
                    statistics.median(r["mixer_cpu_percent_per_room"] for r in runs), 3
                ),
                "tick_overruns": [r["tick_overruns"] for r in runs],
                "ticks_skipped": [r["ticks_skipped"] for r in runs],
                "others_cpu_percent": [r["others_cpu_percent"] for r in runs],
                "quietest_run": {
                    key: quietest[key]
                    for key in (
                        "run",
                        "mixer_cpu_percent",
                        "tick_overruns",
                        "tick_work_mean_ms",
                        "received_pps_per_member_min",
                        "gaps_over_40ms",
                        "others_cpu_percent",
                    )
                },
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rooms", default="10,25,50,100", help="room counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time of each size")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each size (the machine is shared)")
    parser.add_argument("--port-min", type=int, default=41000, help="first UDP port of the mixer")
    parser.add_argument("--out", type=Path, default=RESULTS / "mixer.json")
    parser.add_argument("--phones", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.phones:
        asyncio.run(phones_main(args.seconds))
        return
    sizes = [int(n) for n in args.rooms.split(",") if n.strip()]
    info = machine_info()
    results = asyncio.run(bench(sizes, args.seconds, args.port_min, args.repeat))
    write_json(
        args.out,
        {
            "benchmark": "mixer",
            "method": (
                "N rooms of 3 members, each hearing the two others (barge / three-way); fake phones "
                "in a child process send 20 ms G.711 packets to every member and count what comes back; "
                f"{WARMUP_S:g} s warm-up, then CPU time of the mixer process over the measured seconds"
            ),
            "machine": info,
            "summary": summary(results),
            "results": results,
        },
    )
    log(f"written to {args.out}")


if __name__ == "__main__":
    main()
