"""Assessment schemes and monthly report recipients in the admin: validated, audited, and the
assessment ranks with the scheme's weights."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from hotline.audit.models import AuditEvent
from hotline.reports.models import AssessmentScheme, ReportRecipient
from hotline.reports.orders import scheme_weights, score

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db: Any) -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "x-Pass-2026!")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", ["assessmentscheme", "reportrecipient"])
def test_changelists_open(admin_client: Client, model: str) -> None:
    assert admin_client.get(f"/admin/reports/{model}/").status_code == 200


@pytest.mark.parametrize(
    ("weights", "problem"),
    [
        ({}, "required"),  # the form field refuses an empty object itself
        (["satisfaction_rate"], "at least one rate"),  # a list, not rate → weight
        ({"received": 1}, "received is not a rate"),
        ({"satisfaction_rate": -1}, "zero or more"),
        ({"satisfaction_rate": "much"}, "zero or more"),
        ({"satisfaction_rate": 0}, "above zero"),
    ],
)
def test_a_scheme_with_unusable_weights_is_refused(admin_client: Client, weights: Any, problem: str) -> None:
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the switcher's choice
    form = {"name": "2026 考核", "weights": json.dumps(weights), "active": "on"}
    response = admin_client.post("/admin/reports/assessmentscheme/add/", form)
    assert response.status_code == 200
    assert not AssessmentScheme.objects.exists()
    errors = " ".join(str(e) for e in response.context["adminform"].form.errors["weights"])
    assert problem.lower() in errors.lower(), errors


def test_a_saved_scheme_is_audited_and_weights_the_ranking(admin_client: Client) -> None:
    weights = {"satisfaction_rate": 3, "sign_rate": 1}
    form = {"name": "2026 考核", "weights": json.dumps(weights), "active": "on"}
    assert admin_client.post("/admin/reports/assessmentscheme/add/", form).status_code == 302
    scheme = AssessmentScheme.objects.get()
    assert scheme.updated_by is not None and scheme.updated_by.username == "root"
    assert AuditEvent.objects.filter(object_type="reports.assessmentscheme", action="create").count() == 1
    assert scheme_weights(None) == {"satisfaction_rate": 3.0, "sign_rate": 1.0}
    # 100 × (3 × 0.8 + 1 × 0.4) / 4; a rate without a denominator leaves its weight out
    assert score({"satisfaction_rate": 0.8, "sign_rate": 0.4}, scheme_weights(scheme)) == pytest.approx(70.0)
    assert score({"satisfaction_rate": 0.8, "sign_rate": None}, scheme_weights(scheme)) == pytest.approx(80.0)


def test_a_recipient_needs_an_address(admin_client: Client) -> None:
    refused = admin_client.post("/admin/reports/reportrecipient/add/", {"email": "", "active": "on"})
    assert refused.status_code == 200 and not ReportRecipient.objects.exists()
    saved = admin_client.post(
        "/admin/reports/reportrecipient/add/", {"email": "leader@binjiang.gov.cn", "active": "on"}
    )
    assert saved.status_code == 302
    assert ReportRecipient.objects.get().email == "leader@binjiang.gov.cn"
    assert AuditEvent.objects.filter(object_type="reports.reportrecipient").count() == 1
