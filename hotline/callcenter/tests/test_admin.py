"""The contact-centre admin pages open, and saving a flow there goes through validation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from hotline.callcenter import services
from hotline.callcenter.demo import DIRECT_FLOW
from hotline.callcenter.models import IvrFlow, Queue

pytestmark = pytest.mark.django_db

MODELS = [
    "ivrflow", "hotlinenumber", "queue", "queuemembership", "seat", "agentprofile", "pausereason",
    "emergencynumber", "centresettings", "listentry", "callrecord", "callleg", "agentstatelog",
    "queueeventlog", "voicemail", "callbackrequest",
]  # fmt: skip


@pytest.fixture
def admin_client(db: Any) -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "x-Pass-2026!")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", MODELS)
def test_changelists_open(admin_client: Client, model: str) -> None:
    assert admin_client.get(f"/admin/callcenter/{model}/").status_code == 200


def test_flow_saved_in_the_admin_is_validated(admin_client: Client) -> None:
    services.queue_save(actor=None, queue=Queue(code="GENERAL", name="综合"))
    bad = {"start": "q", "nodes": {"q": {"type": "queue", "queue": "NOPE"}}}
    form = {"code": "F1", "name": "流程", "definition": json.dumps(bad), "active": "on"}
    refused = admin_client.post("/admin/callcenter/ivrflow/add/", form)
    assert refused.status_code == 200 and "unknown_queue" in refused.content.decode()
    assert not IvrFlow.objects.exists()
    saved = admin_client.post(
        "/admin/callcenter/ivrflow/add/", {**form, "definition": json.dumps(DIRECT_FLOW)}
    )
    assert saved.status_code == 302
    assert IvrFlow.objects.get(code="F1").version == 1
