"""Taking orders in: the rows intake writes, the statements it sends, and tracking numbers when
several agents take orders in at the same moment.

Intake writes its rows as column values through one cursor of its own (``_take_in``), so the
first tests check that what it writes is what the single-row services write (``citizen_create``,
``_event``, ``audit_record``) and pin the statements of one intake. The others take 200 orders in
at once — four threads through the service, then four HTTP clients against a real uvicorn with
two worker processes — and check that the tracking numbers are distinct and gapless for the day,
the first order of the day included (the day's sequence row does not exist yet when they start).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from hotline.accounts.services import token_create
from hotline.audit.context import acting_as
from hotline.audit.models import AuditEvent
from hotline.audit.services import snapshot
from hotline.citizens.models import Citizen
from hotline.citizens.services import citizen_create
from hotline.workorders.models import DailySequence, OrderEvent, WorkOrder
from hotline.workorders.services import Intake, order_create

ROOT = Path(__file__).resolve().parents[3]
THREADS = 4
PER_THREAD = 50
DAY = dt.datetime(2031, 5, 6, 2, 30, tzinfo=dt.UTC)  # 2031-05-06 in Asia/Shanghai, a day of its own


def _statements(run: Callable[[], Any]) -> list[str]:
    """The statements ``run`` sends, without transaction control (the test's own transaction
    turns the service's into a savepoint)."""
    with CaptureQueriesContext(connection) as captured:
        run()
    control = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(control)]


def _kinds(statements: list[str]) -> list[str]:
    """Each statement as its verb, and the table of an INSERT (``INSERT workorders_workorder``)."""
    kinds = []
    for sql in statements:
        words = sql.replace('"', "").split()
        kinds.append(f"{words[0]} {words[2]}" if words[0] == "INSERT" else words[0])
    return kinds


@pytest.mark.django_db
def test_a_new_caller_gets_the_rows_citizen_create_writes(take: Any, people: Any, city: Any) -> None:
    with acting_as(people.li, ip="10.1.2.3", request_id="req-1"):
        order = take(citizen_phone="13900001111", citizen_name="李四", citizen_id_number="11010519491231002x")
        other = citizen_create(
            name="张五", phone="13900002222", id_number="", address="西一街道", region=city.west1
        )
    citizen = Citizen.objects.get(phone="13900001111")
    assert order.citizen_id == citizen.pk
    assert (citizen.name, citizen.id_number, citizen.address, citizen.region_id) == (
        "李四", "11010519491231002X", "东一街道建设路12号", city.east1.pk,
    )  # fmt: skip
    mine = AuditEvent.objects.get(object_type="citizens.citizen", object_id=str(citizen.pk))
    theirs = AuditEvent.objects.get(object_type="citizens.citizen", object_id=str(other.pk))
    assert mine.after == snapshot(citizen)
    assert theirs.after == snapshot(other)
    assert list(mine.after) == list(theirs.after)
    for row in (mine, theirs):  # the profile's audit row takes actor and address from the request
        assert (row.action, row.actor_id, row.actor_name, row.ip, row.request_id) == (
            "create", people.li.pk, "li", "10.1.2.3", "req-1",
        )  # fmt: skip
    assert mine.object_repr == "李四"

    written = AuditEvent.objects.get(object_type="workorders.workorder", object_id=str(order.pk))
    assert (written.action, written.actor_id, written.object_repr, written.note) == (
        "create", people.li.pk, str(order), "",
    )  # fmt: skip
    assert written.after == {"number": order.number, "channel": "phone", "state": "pending_dispatch"}
    event = OrderEvent.objects.get(order=order)
    assert (event.action, event.from_state, event.to_state, event.round, event.reason) == (
        "intake", "", "pending_dispatch", 1, "",
    )  # fmt: skip
    assert (event.actor_id, event.actor_unit_id, event.data, event.visible_to_units) == (
        people.li.pk, people.li.unit_id, {}, True,
    )  # fmt: skip
    assert event.at == order.created_at
    stored = WorkOrder.objects.get(pk=order.pk)
    assert (stored.number, stored.citizen_id, stored.created_by_id, stored.title) == (
        order.number, citizen.pk, people.li.pk, order.title,
    )  # fmt: skip


@pytest.mark.django_db
def test_a_refused_profile_refuses_the_order_and_writes_nothing(take: Any) -> None:
    from hotline.core.errors import ValidationFailed

    before = (WorkOrder.objects.count(), AuditEvent.objects.count(), DailySequence.objects.count())
    with pytest.raises(ValidationFailed) as refused:
        take(citizen_phone="not a phone")
    assert "phone" in refused.value.fields
    assert (WorkOrder.objects.count(), AuditEvent.objects.count(), DailySequence.objects.count()) == before


@pytest.mark.django_db
def test_one_intake_sends_one_statement_per_table_it_writes(take: Any) -> None:
    new = _statements(lambda: take(citizen_phone="13900003333"))
    known = _statements(lambda: take(citizen_phone="13900003333"))
    if connection.vendor == "postgresql":  # the lookup takes the number and the new rows' keys
        start = ["WITH"]
        assert "workorders_dailysequence" in new[0] and "nextval" in new[0]
    else:
        start = ["SELECT", "INSERT workorders_dailysequence"]
    rows = ["INSERT workorders_workorder", "INSERT workorders_orderevent", "INSERT audit_auditevent"]
    assert _kinds(new) == [*start, "INSERT citizens_citizen", *rows]
    assert _kinds(known) == [*start, *rows]
    assert AuditEvent.objects.filter(object_type="citizens.citizen").count() == 1
    numbers = list(WorkOrder.objects.order_by("id").values_list("number", flat=True))
    assert int(numbers[1]) == int(numbers[0]) + 1


@pytest.mark.django_db
def test_a_letter_without_phone_or_category_writes_no_profile(take: Any, people: Any) -> None:
    first = take(channel="letter", citizen_phone="", citizen_name="", category=None)
    second = take(channel="letter", citizen_phone="", citizen_name="", category=None)
    assert int(second.number) == int(first.number) + 1
    assert not Citizen.objects.exists()
    for order in (first, second):
        stored = WorkOrder.objects.get(pk=order.pk)
        assert (stored.citizen_id, stored.category_id, stored.number) == (None, None, order.number)
        assert OrderEvent.objects.filter(order=order, action="intake").count() == 1
    assert AuditEvent.objects.filter(object_type="workorders.workorder", actor=people.li).count() == 2
    assert not AuditEvent.objects.filter(object_type="citizens.citizen").exists()


@pytest.mark.django_db
def test_intake_statements_are_prepared_on_postgresql(take: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's; SQLite caches compiled statements itself")
    take(citizen_phone="13900004444")
    take(citizen_phone="13900004444")
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = [row[0] for row in cursor.fetchall()]
    for table in ("citizens_citizen", "workorders_dailysequence", "workorders_workorder", "audit_auditevent"):
        assert any(f"INSERT INTO {table}" in s.replace('"', "") for s in prepared), table


def _intake(tree: Any, city: Any, *, thread: int, i: int) -> Intake:
    return Intake(
        channel="phone",
        request_type=tree.complaint,
        category=tree.enforcement,
        region=city.east1,
        title=f"噪音扰民 {thread}-{i}",
        content="夜间施工噪音，请尽快处理。",
        citizen_name="王小明",
        citizen_phone=f"1380{thread}{i // 2:06d}",  # each caller twice: a new profile, then a known one
        address="东一街道建设路12号",
    )


def _gapless(numbers: list[str]) -> dict[str, list[int]]:
    """The sequence numbers handed out per day."""
    days: dict[str, list[int]] = {}
    for number in numbers:
        days.setdefault(number[:8], []).append(int(number[8:]))
    return {day: sorted(seqs) for day, seqs in days.items()}


@pytest.mark.django_db(transaction=True)
def test_four_agents_at_once_get_distinct_gapless_numbers(people: Any, tree: Any, city: Any) -> None:
    assert not DailySequence.objects.exists()  # the first order of the day is among the racers
    barrier = threading.Barrier(THREADS)
    numbers: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def agent(thread: int) -> None:
        mine = []
        try:
            barrier.wait(timeout=30)
            for i in range(PER_THREAD):
                order = order_create(
                    actor=people.li, intake=_intake(tree, city, thread=thread, i=i), received_at=DAY
                )
                mine.append(order.number)
        except Exception as exc:  # every failure is reported by the assertion below
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()
        with lock:
            numbers.extend(mine)

    threads = [threading.Thread(target=agent, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(numbers) == len(set(numbers)) == THREADS * PER_THREAD
    assert _gapless(numbers) == {"20310506": list(range(1, THREADS * PER_THREAD + 1))}
    assert DailySequence.objects.get(day=dt.date(2031, 5, 6)).last == THREADS * PER_THREAD
    assert WorkOrder.objects.count() == OrderEvent.objects.count() == THREADS * PER_THREAD
    assert Citizen.objects.count() == THREADS * PER_THREAD // 2
    audited = AuditEvent.objects.filter(action="create")
    assert audited.filter(object_type="workorders.workorder").count() == THREADS * PER_THREAD
    assert audited.filter(object_type="citizens.citizen").count() == THREADS * PER_THREAD // 2


# --- The HTTP API on a real server --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """uvicorn with two worker processes on the test database, as production runs several."""
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": _database_url()}
    env.pop("REDIS_URL", None)
    log = tmp_path / "web.log"
    with log.open("w") as sink:
        server = subprocess.Popen(  # noqa: S603 (fixed arguments)
            [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--port",
                str(port),
                "--workers",
                "2",
            ],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while log.read_text().count("Application startup complete") < 2:
            if time.monotonic() > deadline or server.poll() is not None:
                raise AssertionError("the web process did not start:\n" + log.read_text())
            time.sleep(0.2)
        yield port, log
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_four_clients_at_once_through_the_api_get_distinct_gapless_numbers(
    web: tuple[int, Path], people: Any, tree: Any, city: Any
) -> None:
    port, log = web
    _, key = token_create(user=people.li, name="intake test")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    numbers: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client(thread: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            barrier.wait(timeout=30)
            for i in range(PER_THREAD):
                intake = _intake(tree, city, thread=thread, i=i)
                body = {
                    "channel": "phone", "request_type": "complaint", "title": intake.title,
                    "content": intake.content, "category": tree.enforcement.code, "region": "990101",
                    "citizen_name": intake.citizen_name, "citizen_phone": intake.citizen_phone,
                }  # fmt: skip
                conn.request("POST", "/api/v1/workorders", body=json.dumps(body), headers=headers)
                response = conn.getresponse()
                data = response.read()
                with lock:
                    statuses.append(response.status)
                    if response.status == 201:
                        numbers.append(json.loads(data)["number"])
                    else:
                        failures.append(f"{response.status} {data[:300]!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert failures == [], log.read_text()[-3000:]
    assert statuses == [201] * (THREADS * PER_THREAD)
    assert len(set(numbers)) == THREADS * PER_THREAD
    # a fresh database: every day's numbers start at 1 (the run may cross midnight in Shanghai)
    for day, seqs in _gapless(numbers).items():
        assert seqs == list(range(1, len(seqs) + 1)), day
    assert WorkOrder.objects.count() == THREADS * PER_THREAD
    assert Citizen.objects.count() == THREADS * PER_THREAD // 2
    assert "Traceback" not in log.read_text()
