"""Production settings refuse to start without their secrets, and pass Django's deploy checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from hotline.accounts.models import User

ROOT = Path(__file__).resolve().parents[3]


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "DATABASE_URL", "REDIS_URL"))
    }
    base.update(env)
    base["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    return subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )


def test_production_without_secret_key_refuses_to_start() -> None:
    result = _run({}, "check")
    assert result.returncode != 0
    assert "HOTLINE_SECRET_KEY" in result.stderr


def test_production_passes_deploy_checks() -> None:
    env = {
        "HOTLINE_SECRET_KEY": "x" * 20 + "-production-secret-key-for-check-only-1234567890",
        "HOTLINE_ALLOWED_HOSTS": "hotline.example.gov.cn",
        "DATABASE_URL": "postgres://hotline:pw@127.0.0.1:1/hotline",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    result = _run(env, "check", "--deploy")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # No security warning; the only warning allowed is the calendar's notice that next year's
    # official holidays are not loaded yet (workcalendar.W001), which depends on today's date.
    warnings = [line for line in output.splitlines() if ": (" in line]
    assert all("workcalendar.W001" in line for line in warnings), output


@pytest.mark.django_db
def test_createadmin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ADMIN_PASSWORD", "Admin-pass-2026!")
    call_command("createadmin", username="root_admin")
    user = User.objects.get(username="root_admin")
    assert user.role == "admin"
    assert user.is_staff
    assert user.check_password("Admin-pass-2026!")
