"""The work-order loop through the services: every branch, the history and the audit trail."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hotline.audit.models import AuditEvent
from hotline.core.errors import Conflict, Forbidden, ValidationFailed
from hotline.workorders import services as s
from hotline.workorders.choices import OrderState
from hotline.workorders.models import Extension, Supervision, WorkOrder

pytestmark = pytest.mark.django_db


def actions(order: WorkOrder) -> list[str]:
    return list(order.events.exclude(action="deadline").values_list("action", flat=True))


def test_tracking_number_is_day_and_sequence(take: Any) -> None:
    first, second = take(), take()
    assert re.fullmatch(r"\d{8}\d{5}", first.number)
    assert int(second.number) == int(first.number) + 1
    assert first.state == OrderState.PENDING_DISPATCH
    assert first.citizen is not None and first.citizen.phone == "13812345678"


def test_the_whole_loop(take: Any, people: Any, city: Any) -> None:
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office, assist_units=[city.housing])
    assert order.state == OrderState.PENDING_SIGN
    assert order.lead_unit == city.east1_office
    assert order.due_at is not None and order.answer_due_at is not None
    assert order.due_at < order.answer_due_at

    s.order_sign(order=order, actor=people.wang)
    assert order.state == OrderState.HANDLING
    assert order.due_at == order.answer_due_at

    s.order_note(order=order, actor=people.wang, text="已联系施工方，责令停止夜间施工。")
    s.order_note(order=order, actor=people.hu, text="协办：已核查施工许可。")  # the assisting unit

    extension = s.extension_request(order=order, actor=people.wang, working_days=3, reason="需要联合执法")
    old_due = order.answer_due_at
    s.extension_decide(extension=extension, actor=people.zhou, approve=True)
    order.refresh_from_db()
    assert order.answer_due_at > old_due
    assert order.due_at == order.answer_due_at

    s.order_answer(order=order, actor=people.wang, result="resolved", answer="已停止夜间施工。")
    assert order.state == OrderState.PENDING_REVIEW
    s.order_review(order=order, actor=people.zhou, accept=False, reason="请补充处罚情况。")
    assert order.state == OrderState.HANDLING
    s.order_answer(order=order, actor=people.wang, result="resolved", answer="已停工并罚款五千元。")
    s.order_review(order=order, actor=people.zhou, accept=True)
    assert order.state == OrderState.PENDING_REVISIT
    s.order_revisit(order=order, actor=people.zhou, method="phone", resolved=True, satisfaction="satisfied")
    order.refresh_from_db()
    assert order.state == OrderState.CLOSED
    assert order.satisfaction == "satisfied"
    assert order.closed_at is not None

    assert actions(order) == [
        "intake", "dispatch", "sign", "note", "note", "extension_request", "extension_approve",
        "answer", "review_reject", "answer", "review_accept", "revisit",
    ]  # fmt: skip
    states = AuditEvent.objects.filter(object_type="workorders.workorder", object_id=str(order.pk))
    assert states.filter(action="update").count() == 7  # every state change


def test_history_rows_are_immutable(take: Any) -> None:
    event = take().events.get()
    event.reason = "changed"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        type(event).objects.filter(pk=event.pk).update(reason="x")


def test_return_accepted_and_redispatched(take: Any, people: Any, city: Any) -> None:
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east2_office)
    s.order_return(order=order, actor=people.qian, reason="地址属于东一街道")
    assert order.state == OrderState.RETURN_REQUESTED
    assert order.clock_paused_at is not None
    s.order_return_decide(order=order, actor=people.zhou, accept=True, new_lead_unit=city.east1_office)
    assert order.state == OrderState.PENDING_SIGN
    assert order.lead_unit == city.east1_office
    assert list(order.assignments.values_list("unit__code", "state")) == [
        ("ST-EAST2", "returned"),
        ("ST-EAST1", "pending_sign"),
    ]
    # the old unit can no longer act
    with pytest.raises(Forbidden):
        s.order_sign(order=order, actor=people.qian)
    s.order_sign(order=order, actor=people.wang)


def test_return_refused_goes_back_to_the_unit(take: Any, people: Any, city: Any) -> None:
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    s.order_sign(order=order, actor=people.wang)
    s.order_return(order=order, actor=people.wang, reason="不归我们管")
    with pytest.raises(ValidationFailed):
        s.order_return_decide(order=order, actor=people.zhou, accept=False, reason="")
    s.order_return_decide(order=order, actor=people.zhou, accept=False, reason="权责清单明确属街道")
    assert order.state == OrderState.HANDLING
    assert order.clock_paused_at is None
    s.order_answer(order=order, actor=people.wang, result="explained", answer="已解释。")


def test_return_accepted_without_new_unit_goes_back_to_dispatch(take: Any, people: Any, city: Any) -> None:
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east2_office)
    s.order_return(order=order, actor=people.qian, reason="非本辖区")
    s.order_return_decide(order=order, actor=people.zhou, accept=True)
    assert order.state == OrderState.PENDING_DISPATCH
    assert order.lead_unit is None and order.due_at is None


def test_unsatisfied_revisit_reopens_a_new_round(take: Any, people: Any, city: Any) -> None:
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    s.order_sign(order=order, actor=people.wang)
    s.order_answer(order=order, actor=people.wang, result="resolved", answer="已处理。")
    s.order_review(order=order, actor=people.zhou, accept=True)
    revisit = s.order_revisit(
        order=order, actor=people.zhou, method="phone", resolved=False, satisfaction="unsatisfied",
        comment="晚上仍有施工",
    )  # fmt: skip
    assert revisit.reopened
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_DISPATCH
    assert order.round == 2
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    assert order.assignments.filter(round=2).count() == 1


def test_unsatisfied_but_closed_by_the_centre(take: Any, people: Any, city: Any) -> None:
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    s.order_sign(order=order, actor=people.wang)
    s.order_answer(order=order, actor=people.wang, result="explained", answer="政策不支持。")
    s.order_review(order=order, actor=people.zhou, accept=True)
    s.order_revisit(
        order=order,
        actor=people.zhou,
        method="phone",
        resolved=False,
        satisfaction="unsatisfied",
        reopen=False,
    )
    order.refresh_from_db()
    assert order.state == OrderState.CLOSED
    assert order.round == 1


def test_answer_at_intake_closes_the_order(people: Any, tree: Any, city: Any) -> None:
    intake = s.Intake(
        channel="phone", request_type=tree.consultation, title="居住证办理", content="居住证怎么办？",
        citizen_phone="13900001111",
    )  # fmt: skip
    order = s.order_create(actor=people.li, intake=intake, direct_answer="携带身份证到社区服务中心办理。")
    order.refresh_from_db()
    assert order.state == OrderState.CLOSED
    assert order.closed_directly
    assert actions(order) == ["intake", "direct_close"]


def test_cancel_and_reopen(take: Any, people: Any, city: Any) -> None:
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    s.order_cancel(order=order, actor=people.zhou, reason="市民撤回诉求")
    assert order.state == OrderState.CANCELLED
    assert not order.assignments.filter(state="pending_sign").exists()
    with pytest.raises(Conflict) as exc:
        s.order_reopen(order=order, actor=people.zhou, reason="x")
    assert exc.value.code == "invalid_state"

    closed = take()
    s.order_dispatch(order=closed, actor=people.zhou, lead_unit=city.east1_office)
    s.order_sign(order=closed, actor=people.wang)
    s.order_answer(order=closed, actor=people.wang, result="resolved", answer="ok")
    s.order_review(order=closed, actor=people.zhou, accept=True)
    s.order_close(order=closed, actor=people.zhou, reason="市民要求不回访")
    s.order_reopen(order=closed, actor=people.zhou, reason="市民再次来电反映未解决")
    assert closed.state == OrderState.PENDING_DISPATCH
    assert closed.round == 2


def test_merge_keeps_both_histories(take: Any, people: Any, city: Any) -> None:
    main, dup = take(), take(citizen_phone="13700000000")
    s.order_dispatch(order=main, actor=people.zhou, lead_unit=city.east1_office)
    s.order_merge(order=dup, into=main, actor=people.zhou, reason="同一工地")
    dup.refresh_from_db()
    assert dup.state == OrderState.MERGED
    assert dup.merged_into == main
    assert actions(dup) == ["intake", "merge"]
    assert actions(main)[-1] == "merged_in"


def test_third_report_raises_a_reminder(take: Any, people: Any, city: Any) -> None:
    first = take()
    s.order_dispatch(order=first, actor=people.zhou, lead_unit=city.east1_office)
    take()
    assert not Supervision.objects.exists()
    third = take()
    reminder = Supervision.objects.get()
    assert reminder.order == first
    assert reminder.kind == "remind" and reminder.automatic
    assert "3" in reminder.message and third.number in reminder.message


def test_supervision_escalation_and_instruction(take: Any, people: Any, city: Any) -> None:
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    supervision = s.order_supervise(
        order=order, actor=people.zhou, kind="supervise", message="请三日内办结", working_days=3,
        escalate_to=people.zhao,
    )  # fmt: skip
    assert supervision.due_at is not None
    order.refresh_from_db()
    assert order.supervised
    s.order_instruct(order=order, actor=people.zhao, text="请东一街道高度重视，限期整改。")
    assert order.instructions.get().leader == people.zhao
    # a leader of another district cannot instruct on it
    west_leader_order = take(region=city.west1)
    with pytest.raises(Forbidden):
        s.order_instruct(order=west_leader_order, actor=people.zhao, text="x")
    with pytest.raises(ValidationFailed):
        s.order_supervise(
            order=order, actor=people.zhou, kind="supervise", message="x", escalate_to=people.wang
        )


def test_extension_limits(take: Any, people: Any, city: Any) -> None:
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    s.order_sign(order=order, actor=people.wang)
    with pytest.raises(ValidationFailed):
        s.extension_request(order=order, actor=people.wang, working_days=11, reason="x")
    ext = s.extension_request(order=order, actor=people.wang, working_days=8, reason="x")
    with pytest.raises(Conflict):
        s.extension_request(order=order, actor=people.wang, working_days=1, reason="y")
    s.extension_decide(extension=ext, actor=people.zhou, approve=True)
    with pytest.raises(ValidationFailed):
        s.extension_request(order=order, actor=people.wang, working_days=3, reason="again")
    refused = s.extension_request(order=order, actor=people.wang, working_days=2, reason="again")
    due = WorkOrder.objects.get(pk=order.pk).answer_due_at
    s.extension_decide(extension=refused, actor=people.zhou, approve=False, note="不同意")
    assert WorkOrder.objects.get(pk=order.pk).answer_due_at == due
    with pytest.raises(Conflict):
        s.extension_decide(extension=Extension.objects.get(pk=refused.pk), actor=people.zhou, approve=True)


def test_units_act_only_on_their_own_orders(take: Any, people: Any, city: Any) -> None:
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office, assist_units=[city.housing])
    with pytest.raises(Forbidden):
        s.order_sign(order=order, actor=people.qian)  # another street
    with pytest.raises(Forbidden):
        s.order_sign(order=order, actor=people.hu)  # the assisting unit does not sign for the lead
    with pytest.raises(Forbidden):
        s.order_dispatch(order=order, actor=people.wang, lead_unit=city.east1_office)  # not the centre
    with pytest.raises(Forbidden):
        s.order_create(actor=people.wang, intake=s.Intake(channel="web", request_type=order.request_type,
                                                          title="x", content="y"))  # fmt: skip


def test_invalid_steps_are_conflicts(take: Any, people: Any, city: Any) -> None:
    order = take()
    with pytest.raises(Conflict) as exc:
        s.order_review(order=order, actor=people.zhou, accept=True)
    assert exc.value.code == "invalid_state"
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    with pytest.raises(Conflict):
        s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)


def test_two_signatures_at_once_only_one_wins(take: Any, people: Any, city: Any) -> None:
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    seen_by_wang = WorkOrder.objects.get(pk=order.pk)
    seen_by_sun = WorkOrder.objects.get(pk=order.pk)
    s.order_sign(order=seen_by_wang, actor=people.wang)
    with pytest.raises(Conflict) as exc:
        s.order_sign(order=seen_by_sun, actor=people.sun)
    assert exc.value.code == "state_changed"
    assert order.events.filter(action="sign").count() == 1


def test_bad_intake_saves_nothing(people: Any, tree: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        s.order_create(
            actor=people.li,
            intake=s.Intake(channel="pigeon", request_type=tree.complaint, title="", content="", urgency="x"),
        )
    assert set(exc.value.fields) >= {"channel", "title", "content", "urgency"}
    assert not WorkOrder.objects.exists()


def test_retired_category_cannot_be_used_for_new_orders(take: Any, tree: Any) -> None:
    from hotline.taxonomy.services import category_retire

    old = take()
    category_retire(category=tree.enforcement)
    tree.enforcement.refresh_from_db()  # as the forms and the API load it
    with pytest.raises(ValidationFailed):
        take()
    old.refresh_from_db()
    assert old.category == tree.enforcement


def test_citizen_submits_on_the_portal_and_rates_the_answer(people: Any, tree: Any, city: Any) -> None:
    intake = s.Intake(
        channel="web", request_type=tree.complaint, title="小区垃圾未清运", content="三天没有清运。",
        citizen_name="赵敏", citizen_phone="13500001111", region=city.east1, category=tree.enforcement,
    )  # fmt: skip
    order = s.order_submit_by_citizen(intake=intake, address_ip="10.0.0.9")
    assert order.state == OrderState.PENDING_DISPATCH
    assert order.created_by is None
    assert actions(order) == ["intake"]
    with pytest.raises(ValidationFailed):
        s.order_submit_by_citizen(intake=s.Intake(**{**intake.__dict__, "citizen_phone": ""}))
    with pytest.raises(Conflict):
        s.order_rate_by_citizen(order=order, resolved=True, satisfaction="satisfied")

    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    s.order_sign(order=order, actor=people.wang)
    s.order_answer(order=order, actor=people.wang, result="resolved", answer="已清运。")
    s.order_review(order=order, actor=people.zhou, accept=True)
    revisit = s.order_rate_by_citizen(order=order, resolved=True, satisfaction="basically", comment="还行")
    assert revisit.method == "web"
    order.refresh_from_db()
    assert order.state == OrderState.CLOSED
    assert order.satisfaction == "basically"
