"""The agent desktop (坐席工作台). See docs/desktop.md."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from hotline.core.permissions import view_requires


@view_requires("callcenter.take_calls")
def desk(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")


@view_requires("callcenter.take_calls")
def desk_callbacks(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")


@view_requires("callcenter.take_calls", "workorders.intake_workorder")
def desk_intake(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")
