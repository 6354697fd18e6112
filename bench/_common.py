"""Helpers shared by the benchmark scripts: machine facts, timing, statistics, servers, databases.

Nothing here imports Django, so an orchestrating process can use it before choosing the settings of
the process that measures.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import socket
import sqlite3
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


# --- Statistics ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0–100) with linear interpolation between the closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(samples_s: Sequence[float]) -> dict[str, float | int]:
    """p50, p95, max and count of durations given in seconds, in milliseconds."""
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "max_ms": round(max(ms), 2) if ms else float("nan"),
    }


def log(message: str) -> None:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", flush=True)


# --- Machine -------------------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return float("nan")


def machine_info(pg_version: str | None = None) -> dict[str, Any]:
    """What the figures were measured on."""
    django_version = ""
    with contextlib.suppress(ImportError):
        import django

        django_version = django.get_version()
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": django_version,
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def cpu_times() -> list[int]:
    """The machine's CPU time counters (/proc/stat: user, nice, system, idle, iowait, irq, softirq,
    steal), to tell afterwards how much of the run the hypervisor gave to other machines."""
    with contextlib.suppress(OSError, ValueError):
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
        return [int(x) for x in fields[1:9]]
    return []


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | str) -> float | None:
    """User + system CPU time of a process (every thread), or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def tool_version(argv: Sequence[str]) -> str:
    """The first line a program prints for its version ("" when it cannot be run)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=10, check=False)  # noqa: S603
        lines = [x.strip() for x in (done.stdout + done.stderr).splitlines() if x.strip()]
        return lines[0] if lines else ""
    return ""


def cpu_share(before: list[int], after: list[int]) -> dict[str, float]:
    """Busy, idle and stolen shares of all CPU time between two ``cpu_times()`` readings, in %."""
    if len(before) < 8 or len(after) < 8:
        return {}
    delta = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(delta) or 1
    idle = delta[3] + delta[4]
    return {
        "busy_percent": round(100 * (total - idle - delta[7]) / total, 1),
        "idle_percent": round(100 * idle / total, 1),
        "steal_percent": round(100 * delta[7] / total, 1),
    }


# --- Network -------------------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_block(start: int, end: int, size: int) -> int:
    """The first ``size`` consecutive UDP ports in [start, end) that nobody holds."""
    from hotline.telephony.tests.rtp import udp_ports_free

    port = start
    while port + size <= end:
        busy = next((p for p in range(port, port + size) if not udp_ports_free(p, 1)), None)
        if busy is None:
            return port
        port = busy + 1
    raise RuntimeError(f"no {size} free UDP ports between {start} and {end}")


def wait_for_port(port: int, *, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop_process(proc: subprocess.Popen[bytes], *, timeout: float = 15) -> None:
    """Terminate a process this script started (by its own handle), then kill it if it hangs."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


# --- Databases -----------------------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    """``url`` pointing at the database ``name`` on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def pg_connect_params(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "password": parts.password or None,
        "dbname": parts.path.lstrip("/") or "postgres",
    }


def pg_admin(url: str, *statements: str) -> list[Any]:
    """Run statements on the server's ``postgres`` database in autocommit mode (CREATE/DROP
    DATABASE); returns the first column of the last statement's first row, if any."""
    import psycopg

    params = pg_connect_params(url)
    params["dbname"] = "postgres"
    out: list[Any] = []
    with psycopg.connect(**params, autocommit=True) as conn:
        for statement in statements:
            cur = conn.execute(statement)  # type: ignore[call-overload]
            if cur.description:
                row = cur.fetchone()
                out.append(row[0] if row else None)
    return out


def pg_reachable(url: str) -> bool:
    try:
        pg_admin(url, "SELECT 1")
    except Exception:
        return False
    return True


# --- Results -------------------------------------------------------------------------------------


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
