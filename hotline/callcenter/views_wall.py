"""The supervisor wall (班长监控墙) and the test phone (测试话机). See docs/desktop.md."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from hotline.core.permissions import view_requires


@view_requires("callcenter.supervise_agents")
def wall(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")


@view_requires("callcenter.supervise_agents")
def wall_stats(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")


@view_requires("callcenter.supervise_agents")
def phone(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")
