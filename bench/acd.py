"""ACD benchmark: the contact-centre engine on the simulated switch, against Erlang C, under a big
centre's routing load, and through a whole day of a city hotline.

    make bench-acd                        # every part, the sizes of docs/acd.md (about 20 minutes)
    .venv/bin/python bench/acd.py --help  # sizes, parts, output

Parts:

- ``erlang``: agents ∈ {10, 50, 300} × occupancy ∈ {0.70, 0.85, 0.95}; Poisson arrivals,
  exponential handle times (mean 180 s), the engine configured as Erlang C assumes (one FIFO
  queue, infinite patience, no wrap-up, no ring time, no IVR). The service level within 20 s is
  compared with Erlang C from ``erlanglib``; every caller's wait is also compared with a plain FIFO
  M/M/c queue fed the same arrivals and handle times (a bias check with no statistics in it).
- ``route``: one routing decision with 2,000 logged-in agents in 50 queues and 10,000 waiting calls.
- ``day``: 65,000 calls with an hourly profile, 700 agents on shifts, IVR → queues, transfers,
  abandons, wrap-up; ``--recorder django`` writes through ``DjangoRecorder`` to a fresh SQLite file.

The script prints its figures and writes ``bench/results/acd.json``.
"""

# ruff: noqa: S311, S603, S607

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import gc
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import RESULTS, cpu_share, cpu_times, log, machine_info, percentile, write_json  # noqa: E402

TARGETS = {
    "erlang_c_max_sl_error_pts": "<= 2.0",
    "route_p99_us_2000_agents_10000_waiting": "< 1000",
    "beijing_day_sim_s": "< 120",
}
AGENTS = (10, 50, 300)
OCCUPANCY = (0.70, 0.85, 0.95)
AHT_S = 180.0
SL_WITHIN_S = 20.0
ENGINE_PATHS = ("hotline/callcenter/engine", "hotline/telephony")


# ==================================================================================================
# Erlang C
# ==================================================================================================


def erlang_rep(agents: int, occupancy: float, calls: int, seed: int, warmup: int) -> dict[str, Any]:
    from hotline.callcenter.engine.simulation import run_erlang

    run = run_erlang(agents=agents, occupancy=occupancy, calls=calls, aht_s=AHT_S, seed=seed, warmup=warmup)
    batch = 10_000
    batches = [
        sum(1 for w in run.waits[i : i + batch] if w <= SL_WITHIN_S + 1e-9) / len(run.waits[i : i + batch])
        for i in range(0, len(run.waits) - batch + 1, batch)
    ]
    return {
        "calls": len(run.waits),
        "answered_within": sum(1 for w in run.waits if w <= SL_WITHIN_S + 1e-9),
        "wait_sum": sum(run.waits),
        "batches": batches,
        "max_diff_vs_fifo_s": run.max_difference_from_reference(),
        "seconds": run.seconds,
        "events": run.events,
    }


def erlang_theory(agents: int, occupancy: float) -> tuple[float, float, float]:
    import erlanglib

    load = agents * occupancy
    queued = erlanglib.erlang_c(agents, load)
    level = erlanglib.service_level(agents, load, queued, SL_WITHIN_S, AHT_S)
    asa = erlanglib.average_speed_of_answer(agents, load, queued, AHT_S)
    return float(queued), float(level), float(asa)


def measure_erlang(args: argparse.Namespace) -> dict[str, Any]:
    """Each point runs replications (different seeds) until its 95 % confidence interval (batch
    means over 10,000-call batches) is narrower than ``--ci-pts`` or it reached ``--max-calls``."""
    points = [(n, rho) for rho in OCCUPANCY for n in AGENTS]
    state: dict[tuple[int, float], list[dict[str, Any]]] = {p: [] for p in points}
    seeds = {p: 1000 * i for i, p in enumerate(points)}

    def done(point: tuple[int, float]) -> bool:
        reps = state[point]
        calls = sum(r["calls"] for r in reps)
        if calls < args.min_calls:
            return False
        batches = [b for r in reps for b in r["batches"]]
        half = 1.96 * statistics.stdev(batches) / math.sqrt(len(batches)) if len(batches) > 1 else 1.0
        return half * 100 <= args.ci_pts or calls >= args.max_calls

    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        while True:
            todo = [p for p in points if not done(p)]
            if not todo:
                break
            futures = {}
            for point in todo:
                seeds[point] += 1
                calls = args.min_calls if not state[point] else args.rep_calls
                futures[point] = pool.submit(erlang_rep, point[0], point[1], calls, seeds[point], args.warmup)
            for point, future in futures.items():
                state[point].append(future.result())
            log(
                "erlang: "
                + ", ".join(f"{n}@{rho}: {sum(r['calls'] for r in state[(n, rho)])}" for n, rho in todo)
            )

    table = []
    for n, rho in points:
        reps = state[(n, rho)]
        calls = sum(r["calls"] for r in reps)
        level = sum(r["answered_within"] for r in reps) / calls
        wait = sum(r["wait_sum"] for r in reps) / calls
        batches = [b for r in reps for b in r["batches"]]
        half = (
            1.96 * statistics.stdev(batches) / math.sqrt(len(batches)) if len(batches) > 1 else float("nan")
        )
        queued, theory, asa = erlang_theory(n, rho)
        table.append(
            {
                "agents": n,
                "occupancy": rho,
                "calls": calls,
                "replications": len(reps),
                "sl_sim": round(level * 100, 2),
                "sl_erlang_c": round(theory * 100, 2),
                "sl_error_pts": round((level - theory) * 100, 2),
                "sl_ci95_pts": round(half * 100, 2),
                "asa_sim_s": round(wait, 2),
                "asa_erlang_c_s": round(asa, 2),
                "p_wait_erlang_c": round(queued, 4),
                "max_wait_diff_vs_fifo_mmc_s": max(r["max_diff_vs_fifo_s"] for r in reps),
                "engine_calls_per_s": round(
                    sum(r["calls"] for r in reps) / sum(r["seconds"] for r in reps), 0
                ),
            }
        )
    return {"points": table, "seconds": round(time.perf_counter() - started, 1)}


# ==================================================================================================
# Routing cost
# ==================================================================================================


def measure_route(
    args: argparse.Namespace, *, agents_n: int = 2000, queues_n: int = 50, waiting_n: int = 0
) -> dict[str, Any]:
    """2,000 agents in 50 queues (each in 3 queues, levels 1–5), 10,000 callers waiting in the 40
    busy queues; 10 quiet queues have ready agents of their own. Timed: a caller arriving in a quiet
    queue and being offered to an agent (IVR-less flow, routing, offer), a caller arriving in a
    busy queue (routing finds nobody), and an agent becoming ready and taking the best of the
    callers waiting in their queues."""
    from hotline.callcenter.engine.config import AgentConfig, CentreConfig, QueueConfig
    from hotline.callcenter.engine.simulation import SimCentre
    from hotline.telephony.boundary import CallOffered
    from hotline.telephony.simswitch import CallerScript

    rng = random.Random(5)
    waiting_n = waiting_n or args.waiting
    busy_n = agents_n * 9 // 10  # agents of the busy queues; the rest serve the quiet ones
    busy_queues = [f"B{i:02d}" for i in range(queues_n * 4 // 5)]
    quiet_queues = [f"Q{i:02d}" for i in range(queues_n - len(busy_queues))]
    queues = tuple(
        QueueConfig(code, wrap_up_s=3600, ring_timeout_s=30, tiers=((0, 3), (20, 1)), vip_priority=10)
        for code in busy_queues + quiet_queues
    )
    agents = []
    for agent_id in range(1, agents_n + 1):
        pool = quiet_queues if agent_id > busy_n else busy_queues
        skills = {code: rng.randint(1, 5) for code in rng.sample(pool, min(3, len(pool)))}
        agents.append(AgentConfig(agent_id, "", str(20000 + agent_id), skills))
    flows = {f"f{q.code}": {"start": "q", "nodes": {"q": {"type": "queue", "queue": q.code}}} for q in queues}
    config = CentreConfig(
        queues=queues,
        agents=tuple(agents),
        flows=flows,
        hotlines={f"123{q.code}": f"f{q.code}" for q in queues},
        default_flow=f"f{busy_queues[0]}",
        last_agent_wait_s=0,
    )
    sim = SimCentre.lean(config)
    centre = sim.centre
    for agent in agents:
        centre.agent_login(agent_id=agent.agent_id)
    n = 0

    def caller(code: str, talk: float = 10**7) -> str:
        nonlocal n
        n += 1
        _call_id, leg = sim.switch.incoming(
            f"1{n:010d}", called=f"123{code}", script=CallerScript(talk_s=talk)
        )
        return leg

    for _ in range(busy_n):  # every busy-queue agent gets a long call
        caller(rng.choice(busy_queues))
    sim.run(1)
    for _ in range(waiting_n):
        caller(rng.choice(busy_queues))
        sim.run(0.01)
    sim.run(1)
    waiting = sum(centre.queues[code].waiting for code in busy_queues)
    talking = sum(1 for a in centre.agents.values() if a.state == "talking")
    log(f"route: {talking} agents talking, {waiting} callers waiting")
    gc.collect()
    gc.freeze()
    arrive_match: list[float] = []
    arrive_busy: list[float] = []
    ready_match: list[float] = []
    talking_ids = [
        a.agent_id for a in centre.agents.values() if a.state == "talking" and a.agent_id <= busy_n
    ]
    perf = time.perf_counter_ns
    for i in range(args.samples):
        # a caller arrives in a quiet queue: matched to a ready agent at once
        code = quiet_queues[i % len(quiet_queues)]
        n += 1
        event = CallOffered(f"X{n}", f"X{n}-0", f"1{n:010d}", f"123{code}", "trunk-1", sim.switch.now())
        sim.switch.legs[event.leg_id] = _sim_leg(sim, event, CallerScript(talk_s=1.0))
        t0 = perf()
        centre.on_event(event)
        arrive_match.append((perf() - t0) / 1000)
        # a caller arrives in a busy queue: routing finds nobody
        code = busy_queues[i % len(busy_queues)]
        n += 1
        event = CallOffered(f"X{n}", f"X{n}-0", f"1{n:010d}", f"123{code}", "trunk-1", sim.switch.now())
        sim.switch.legs[event.leg_id] = _sim_leg(sim, event, CallerScript(talk_s=10**7))
        t0 = perf()
        centre.on_event(event)
        arrive_busy.append((perf() - t0) / 1000)
        # an agent of the busy queues ends a call, wraps up, then becomes ready: takes a caller
        agent_id = talking_ids[i % len(talking_ids)]
        session = centre.agents[agent_id]
        if session.state == "talking":
            call = centre.calls[session.call_id]
            sim.switch.party_hangup(call.caller_leg)
            sim.run(0)
        if session.state == "wrap_up":
            t0 = perf()
            centre.agent_ready(agent_id=agent_id)
            ready_match.append((perf() - t0) / 1000)
        sim.run(0.5)  # offers answered, quiet calls end
    gc.unfreeze()
    waiting_after = sum(centre.queues[code].waiting for code in busy_queues)

    def stats(values: list[float]) -> dict[str, float]:
        return {
            "n": len(values),
            "p50_us": round(percentile(values, 50), 1),
            "p99_us": round(percentile(values, 99), 1),
            "max_us": round(max(values), 1),
        }

    return {
        "agents_logged_in": len(agents),
        "queues": len(queues),
        "waiting_before": waiting,
        "waiting_after": waiting_after,
        "arrival_matched": stats(arrive_match),
        "arrival_all_busy": stats(arrive_busy),
        "agent_ready_matched": stats(ready_match),
    }


def _sim_leg(sim: Any, event: Any, script: Any) -> Any:
    """The switch's side of a caller injected straight into the engine (the timed part is the
    engine's handling of ``CallOffered``, not the switch's event queue)."""
    from hotline.telephony.simswitch import LEG_OFFERED, SimLeg

    return SimLeg(event.leg_id, event.call_id, event.caller, True, LEG_OFFERED, sim.clock.t, script=script)


# ==================================================================================================
# A day of the city hotline
# ==================================================================================================

# share of the day's calls per hour (Beijing time): quiet at night, peaks 9–11 and 14–16
HOURLY = (
    0.4, 0.3, 0.2, 0.2, 0.2, 0.3, 0.8, 2.5, 5.5, 8.0, 8.4, 7.6,
    5.6, 6.0, 7.6, 8.0, 7.4, 6.4, 4.6, 3.8, 3.2, 2.4, 1.6, 0.9,
)  # fmt: skip
SHIFTS = ((0, 8, 45), (7, 15, 250), (9, 17, 150), (13, 21, 170), (16, 24, 85))  # start h, end h, agents
DAY_FLOW: dict[str, Any] = {
    "start": "welcome",
    "human": "q_general",
    "nodes": {
        "welcome": {"type": "play", "prompts": ["welcome"], "next": "menu"},
        "menu": {
            "type": "menu",
            "prompts": ["main_menu"],
            "options": {
                "1": "q_general",
                "2": "status",
                "3": "q_business",
                "4": "q_policy",
                "9": "q_english",
                "8": "vm",
            },
            "timeout_s": 5,
            "retries": 1,
            "invalid_prompts": ["invalid"],
            "on_fail": "q_general",
        },
        "status": {
            "type": "order_status",
            "prompts": ["enter_number"],
            "retries": 1,
            "next": "menu",
            "on_fail": "q_general",
        },
        "vm": {"type": "voicemail", "prompts": ["leave_message"], "max_seconds": 120, "next": "bye"},
        "q_general": {"type": "queue", "queue": "GEN"},
        "q_business": {"type": "queue", "queue": "BIZ"},
        "q_policy": {"type": "queue", "queue": "POLICY"},
        "q_english": {"type": "queue", "queue": "EN"},
        "bye": {"type": "hangup", "prompts": ["goodbye"]},
    },
}


class TransferringRecorder:
    """Wraps the recorder: when a caller connects, decides (by the caller's script) whether the
    agent transfers the call, and schedules it."""

    def __init__(self, inner: Any, plan: dict[str, tuple[float, str]], sim_ref: list[Any]) -> None:
        self.inner = inner
        self.plan = plan
        self.sim_ref = sim_ref
        self.transfers = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def queue_event(self, event: Any) -> None:
        self.inner.queue_event(event)
        if event.kind == "connect" and event.call_id in self.plan:
            after, target = self.plan.pop(event.call_id)
            sim = self.sim_ref[0]
            agent_id = event.agent_id

            def transfer() -> None:
                agent = sim.centre.agents[agent_id]
                if agent.call_id == event.call_id and agent.state == "talking":
                    sim.centre.call_transfer(agent_id=agent_id, target=target)
                    self.transfers += 1

            sim.clock.call_later(after, transfer)


def measure_day(args: argparse.Namespace, recorder_kind: str) -> dict[str, Any]:
    from hotline.callcenter.engine.config import AgentConfig, CentreConfig, QueueConfig
    from hotline.callcenter.engine.memory import MemoryDirectory, MemoryRecorder
    from hotline.callcenter.engine.observer import NullObserver
    from hotline.callcenter.engine.simulation import SimCentre
    from hotline.callcenter.records import CallerInfo
    from hotline.telephony.simswitch import CallerScript, Endpoint, PromptLengths

    started = time.perf_counter()
    rng = random.Random(2026)
    django_recorder = None
    if recorder_kind == "django":
        django_recorder = _django_recorder()
        inner: Any = django_recorder
    else:
        inner = MemoryRecorder(keep_legs=False)
    calls_total = args.day_calls
    weights = [w / sum(HOURLY) for w in HOURLY]
    hours = rng.choices(range(24), weights=weights, k=calls_total)
    arrivals = sorted(hour * 3600 + rng.random() * 3600 for hour in hours)
    queues = (
        QueueConfig("GEN", tiers=((0, 3), (20, 1)), wrap_up_s=30, announce_every_s=45, max_wait_s=600,
                    max_wait_action="callback", ring_timeout_s=15, record_calls=True),
        QueueConfig("BIZ", wrap_up_s=30, overflow_queue="GEN", overflow_after_s=90, ring_timeout_s=15),
        QueueConfig("POLICY", wrap_up_s=30, overflow_queue="GEN", overflow_after_s=120, ring_timeout_s=15),
        QueueConfig("EN", wrap_up_s=30, max_wait_s=300, max_wait_action="voicemail", ring_timeout_s=15),
        QueueConfig("CY", region_code="110105", wrap_up_s=30, overflow_queue="GEN", overflow_after_s=60),
    )  # fmt: skip
    agents = []
    shifts: list[tuple[int, int, int]] = []
    agent_id = 0
    for start_h, end_h, count in SHIFTS:
        for _ in range(count):
            agent_id += 1
            skills = {"GEN": rng.randint(1, 5)}
            if rng.random() < 0.3:
                skills["BIZ"] = rng.randint(2, 5)
            if rng.random() < 0.3:
                skills["POLICY"] = rng.randint(2, 5)
            if rng.random() < 0.05:
                skills["EN"] = 4
            if rng.random() < 0.08:
                skills["CY"] = 4
            agents.append(AgentConfig(agent_id, f"agent {agent_id}", str(30000 + agent_id), skills))
            shifts.append((agent_id, start_h, end_h))
    callers = {}
    numbers = [f"13{rng.randint(100000000, 999999999)}" for _ in range(45_000)]
    for number in rng.sample(numbers, 600):
        callers[number] = CallerInfo(number, vip=True)
    for number in rng.sample(numbers, 2500):
        callers[number] = CallerInfo(number, region_code="110105")
    for number in rng.sample(numbers, 50):
        callers[number] = CallerInfo(number, blacklisted=True, blacklist_action="refuse")
    config = CentreConfig(
        queues=queues,
        agents=tuple(agents),
        flows={"main": DAY_FLOW},
        default_flow="main",
        hotlines={"12345": "main"},
    )
    plan: dict[str, tuple[float, str]] = {}
    sim_ref: list[Any] = []
    recorder = TransferringRecorder(inner, plan, sim_ref)
    sim = SimCentre(
        config,
        directory=MemoryDirectory(callers=callers, orders={"2026112300001": "status_handling"}),
        recorder=recorder,  # type: ignore[arg-type]
        observer=NullObserver(),
        prompts=PromptLengths({"welcome": 6, "main_menu": 9, "enter_number": 4, "goodbye": 2}),
        default_endpoint=Endpoint(answer_after_s=3),
        keep_commands=False,
    )
    sim_ref.append(sim)
    for agent in agents:
        sim.switch.endpoint(
            f"ext:{agent.extension}",
            lambda _cmd: (
                Endpoint(answer_after_s=rng.uniform(1.5, 5))
                if rng.random() > 0.01
                else Endpoint(behaviour="no_answer")
            ),
        )
    centre = sim.centre

    def shift_start(agent_id: int) -> None:
        centre.agent_login(agent_id=agent_id)

    def shift_end(agent_id: int) -> None:
        agent = centre.agents[agent_id]
        if agent.state in ("ready", "paused", "wrap_up", "locked", "off_hook"):
            centre.agent_logout(agent_id=agent_id)
        else:
            sim.clock.call_later(30, lambda: shift_end(agent_id))

    def take_break(agent_id: int) -> None:
        agent = centre.agents[agent_id]
        if agent.state in ("ready", "wrap_up"):
            centre.agent_pause(agent_id=agent_id, reason="rest")
            sim.clock.call_later(rng.uniform(300, 900), lambda: back(agent_id))

    def back(agent_id: int) -> None:
        agent = centre.agents[agent_id]
        if agent.state in ("paused", "off_hook"):
            centre.agent_ready(agent_id=agent_id)
        elif agent.state == "locked":
            centre.agent_unlock(agent_id=agent_id)

    for agent_id, start_h, end_h in shifts:
        login_at = start_h * 3600 + rng.uniform(-300, 300) if start_h else 0.0
        sim.clock.call_later(login_at, lambda a=agent_id: shift_start(a))  # type: ignore[misc]
        sim.clock.call_later(end_h * 3600 + rng.uniform(0, 300), lambda a=agent_id: shift_end(a))  # type: ignore[misc]
        for _ in range(2):
            when = rng.uniform(start_h + 1, end_h - 1) * 3600
            sim.clock.call_later(when, lambda a=agent_id: take_break(a))  # type: ignore[misc]
        sim.clock.call_later((start_h + 4) * 3600, lambda a=agent_id: back(a))  # type: ignore[misc]

    choice = ["1"] * 60 + ["2"] * 6 + ["3"] * 12 + ["4"] * 12 + ["9"] * 1 + ["8"] * 2 + ["0"] * 6 + [""] * 1
    index = iter(range(len(arrivals)))

    def arrive() -> None:
        i = next(index)
        key = rng.choice(choice)
        talk = rng.lognormvariate(math.log(200), 0.6)
        on_prompt = {"main_menu": key} if key else {}
        if key == "2":
            on_prompt["enter_number"] = "2026112300001#" if rng.random() < 0.7 else "2026112399999#"
        if rng.random() < 0.3:
            on_prompt["callback_offer"] = "1"
        patience = rng.expovariate(1 / 150) if rng.random() < 0.6 else None
        talks: tuple[float, ...] = (talk,)
        if rng.random() < 0.05:
            talks = (talk, rng.lognormvariate(math.log(150), 0.5))
            plan[f"C{i + 1}"] = (talk * 0.6, rng.choice(["queue:POLICY", "queue:BIZ", "queue:GEN"]))
        # a caller who asked for an order's state hangs up after hearing it (the flow returns to the menu)
        hangup = rng.uniform(30, 50) if key == "2" else None
        script = CallerScript(
            on_prompt=on_prompt,
            patience_s=patience,
            talk_s=talks,
            message_s=rng.uniform(10, 60),
            hangup_after_s=hangup,
        )
        sim.switch.incoming(rng.choice(numbers), script=script)
        if i + 1 < len(arrivals):
            sim.clock.call_later(arrivals[i + 1] - arrivals[i], arrive)

    sim.clock.call_later(arrivals[0], arrive)
    setup_s = time.perf_counter() - started
    sim.clock.run(limit_s=26 * 3600)
    run_s = time.perf_counter() - started - setup_s
    flushed = 0
    if django_recorder is not None:
        flushed = django_recorder.flush()
    seconds = time.perf_counter() - started
    records = inner.calls if isinstance(inner, MemoryRecorder) else []
    result: dict[str, Any] = {
        "calls_offered": len(arrivals),
        "agents": len(agents),
        "recorder": recorder_kind,
        "setup_s": round(setup_s, 1),
        "run_s": round(run_s, 1),
        "seconds": round(seconds, 1),
        "switch_events": sim.clock.events_run,
        "transfers": recorder.transfers,
    }
    if django_recorder is not None:
        result["rows_written_at_flush"] = flushed
        result.update(_django_counts())
    if records:
        result.update(_day_figures(records, inner, centre))
    return result


def _day_figures(records: list[Any], recorder: Any, centre: Any) -> dict[str, Any]:
    outcomes = Counter(r.outcome for r in records)
    queued = [r for r in records if r.queued_at is not None]
    answered = [r for r in queued if r.answered_at is not None]
    within = sum(1 for r in answered if (r.answered_at - r.queued_at).total_seconds() <= 15)
    abandons = [e for e in recorder.queue_events if e.kind == "abandon"]
    time_in: Counter[str] = Counter()
    last: dict[int, tuple[str, dt.datetime]] = {}
    for change in recorder.agent_states:
        previous = last.get(change.agent_id)
        if previous is not None:
            time_in[previous[0]] += (change.at - previous[1]).total_seconds()
        last[change.agent_id] = (change.state, change.at)
    busy = sum(time_in[s] for s in ("ringing", "talking", "hold", "wrap_up"))
    available = busy + time_in["ready"]
    return {
        "calls_ended": len(records),
        "outcomes": dict(outcomes),
        "queued": len(queued),
        "service_level_15s_pct": round(100 * within / max(1, len(queued)), 1),
        "answered_pct_of_queued": round(100 * len(answered) / max(1, len(queued)), 1),
        "abandoned": len(abandons),
        "short_abandons": sum(1 for e in abandons if e.data.get("short")),
        "average_wait_s": round(statistics.mean(r.wait_s for r in queued), 1) if queued else 0.0,
        "average_talk_s": round(statistics.mean(r.talk_s for r in answered), 1) if answered else 0.0,
        "occupancy_pct": round(100 * busy / max(1.0, available), 1),
        "voicemails": len(recorder.voicemails),
        "callbacks": len(recorder.callbacks),
        "locked_agents_at_end": sum(1 for a in centre.agents.values() if a.state == "locked"),
        "queue_events": len(recorder.queue_events),
        "agent_state_changes": len(recorder.agent_states),
    }


def _django_recorder() -> Any:
    """Django against a fresh SQLite file, migrated; the product's recorder (or a clear error)."""
    path = Path(tempfile.mkdtemp(prefix="hotline-acd-")) / "acd.sqlite3"
    atexit.register(shutil.rmtree, path.parent, True)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["HOTLINE_DEBUG"] = "false"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from hotline.callcenter.recorder import DjangoRecorder  # type: ignore[import-not-found,unused-ignore]

    log(f"day: DjangoRecorder on {path}")
    return DjangoRecorder()


def _django_counts() -> dict[str, int]:
    from django.apps import apps

    counts = {}
    for model in apps.get_app_config("callcenter").get_models():
        count = model._default_manager.count()
        if count:
            counts[f"rows_{model.__name__}"] = count
    return counts


# ==================================================================================================
# Main
# ==================================================================================================


def git_state() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--", *ENGINE_PATHS],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None}
    return {"commit": commit, "uncommitted_engine_files": [line[3:] for line in status.splitlines()]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parts", default="erlang,route,day", help="comma-separated: erlang, route, day")
    parser.add_argument("--min-calls", type=int, default=50_000, help="first replication per Erlang point")
    parser.add_argument("--rep-calls", type=int, default=100_000, help="each further replication")
    parser.add_argument("--max-calls", type=int, default=1_200_000, help="stop a point at this many calls")
    parser.add_argument(
        "--ci-pts", type=float, default=0.6, help="stop a point when its 95 %% CI is this narrow"
    )
    parser.add_argument(
        "--warmup", type=int, default=5_000, help="calls discarded at the start of a replication"
    )
    parser.add_argument("--jobs", type=int, default=2, help="processes for the Erlang points")
    parser.add_argument("--waiting", type=int, default=10_000, help="callers waiting in the routing test")
    parser.add_argument("--samples", type=int, default=2_000, help="timed decisions of each kind")
    parser.add_argument("--day-calls", type=int, default=65_000)
    parser.add_argument(
        "--recorder",
        choices=("memory", "django", "both"),
        default="both",
        help="the day's recorder: in memory, DjangoRecorder on a fresh SQLite file, or one run of each",
    )
    parser.add_argument("--out", default=str(RESULTS / "acd.json"))
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    started = time.perf_counter()
    cpu_before = cpu_times()
    result: dict[str, Any] = {
        "benchmark": "acd",
        "date": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "code": git_state(),
        "machine": machine_info(),
        "parameters": {
            "aht_s": AHT_S,
            "service_level_within_s": SL_WITHIN_S,
            "erlang_points": [[n, rho] for rho in OCCUPANCY for n in AGENTS],
            "erlang_min_calls": args.min_calls,
            "erlang_rep_calls": args.rep_calls,
            "erlang_max_calls": args.max_calls,
            "erlang_ci_pts": args.ci_pts,
            "erlang_warmup_calls": args.warmup,
            "erlang_model": "one FIFO queue, infinite patience, no wrap-up, zero ring time, no IVR",
            "route_agents": 2000,
            "route_queues": 50,
            "route_waiting": args.waiting,
            "route_samples": args.samples,
            "day_calls": args.day_calls,
            "day_agents": sum(c for *_h, c in SHIFTS),
            "day_recorder": args.recorder,
        },
        "targets": TARGETS,
        "figures": {},
        "details": {},
    }
    figures = result["figures"]
    details = result["details"]
    if "erlang" in parts:
        log("erlang: start")
        erlang = measure_erlang(args)
        details["erlang"] = erlang
        figures["erlang_c_max_sl_error_pts"] = max(abs(p["sl_error_pts"]) for p in erlang["points"])
        figures["erlang_max_wait_diff_vs_fifo_mmc_s"] = max(
            p["max_wait_diff_vs_fifo_mmc_s"] for p in erlang["points"]
        )
    if "route" in parts:
        log("route: start")
        route = measure_route(args)
        details["route"] = route
        log("route: the same at a tenth of the size")
        small = measure_route(args, agents_n=200, queues_n=10, waiting_n=args.waiting // 10)
        details["route_small"] = small
        figures["route_p99_us_200_agents_1000_waiting"] = max(
            small["arrival_matched"]["p99_us"], small["agent_ready_matched"]["p99_us"]
        )
        figures["route_p99_us_2000_agents_10000_waiting"] = max(
            route["arrival_matched"]["p99_us"], route["agent_ready_matched"]["p99_us"]
        )
        figures["route_arrival_all_busy_p99_us"] = route["arrival_all_busy"]["p99_us"]
    if "day" in parts:
        for recorder in ("memory", "django") if args.recorder == "both" else (args.recorder,):
            log(f"day: start ({recorder} recorder)")
            day = measure_day(args, recorder)
            details[f"day_{recorder}"] = day
            key = "beijing_day_sim_s" if recorder == "memory" else "beijing_day_sim_s_django_sqlite"
            figures[key] = day["seconds"]
            for name in ("service_level_15s_pct", "abandoned", "occupancy_pct"):
                if name in day:
                    figures[f"day_{name}"] = day[name]
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["machine"]["cpu_during_run"] = cpu_share(cpu_before, cpu_times())
    result["seconds"] = round(time.perf_counter() - started, 1)
    write_json(Path(args.out), result)
    print()
    if "erlang" in details:
        heads = ("agents", "occ", "calls", "SL sim", "Erlang C", "error", "±95%", "ASA sim", "ASA th")
        print(" ".join(f"{h:>{w}}" for h, w in zip(heads, (6, 5, 9, 7, 8, 6, 5, 8, 7), strict=True)))
        for p in details["erlang"]["points"]:
            print(
                f"{p['agents']:>6} {p['occupancy']:>5} {p['calls']:>9} {p['sl_sim']:>7} "
                f"{p['sl_erlang_c']:>8} {p['sl_error_pts']:>6} {p['sl_ci95_pts']:>5} "
                f"{p['asa_sim_s']:>8} {p['asa_erlang_c_s']:>7}"
            )
        print()
    width = max(len(k) for k in figures) if figures else 10
    for key, value in figures.items():
        print(f"{key:<{width}}  {value!s:>10}  {TARGETS.get(key, '')}")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
