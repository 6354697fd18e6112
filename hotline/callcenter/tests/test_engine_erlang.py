"""A small Erlang C check of the routing engine (the full one is ``make bench-acd``).

10 agents at 85 % occupancy, 4,000 calls after a 1,000-call warm-up, Poisson arrivals and
exponential handle times (mean 180 s), through the real engine on the simulated switch.

Two checks with different jobs:

- **Bias**: every caller's wait must equal, to the microsecond the clock keeps, the wait a plain
  FIFO M/M/c queue gives for the same arrival times and handle times. Any routing fault — an
  agent left idle while a caller waits, callers served out of order, time lost between a hang-up
  and the next offer — shows up here exactly, with no statistical tolerance.
- **Theory**: the service level within 20 s must be within 15 points of Erlang C. Over runs of
  this size the simulated service level spreads with a standard deviation of about 5.5 points
  (measured over seeds), so 15 points is about three standard deviations: a different seed
  would not fail it, while a wrong model (for instance ring time or wrap-up left on) moves the
  figure by far more. The seed is fixed, so the run is the same every time.
"""

from __future__ import annotations

import erlanglib

from hotline.callcenter.engine.simulation import run_erlang


def test_engine_waits_match_a_fifo_mmc_queue_and_erlang_c() -> None:
    agents, occupancy, aht = 10, 0.85, 180.0
    run = run_erlang(agents=agents, occupancy=occupancy, calls=4000, aht_s=aht, seed=7, warmup=1000)
    assert len(run.waits) == 4000
    assert run.max_difference_from_reference() < 1e-5
    load = agents * occupancy
    queued = erlanglib.erlang_c(agents, load)
    theory = erlanglib.service_level(agents, load, queued, 20, aht)
    assert abs(run.service_level(20) - theory) < 0.15
    theory_wait = erlanglib.average_speed_of_answer(agents, load, queued, aht)
    assert 0.5 * theory_wait < run.average_wait() < 1.5 * theory_wait
