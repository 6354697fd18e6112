"""Every API operation and every HTML view declares its permission (or says it is public)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from hotline.core import api as api_module
from hotline.core import permissions

# URL namespaces that are not ours and guard themselves (Django's admin checks staff and model
# permissions; set_language only stores a preference).
FOREIGN = ("admin:", "set_language")


def _patterns(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from _patterns(entry, ns)
        else:
            yield prefix + (entry.name or str(entry.pattern)), entry


def test_every_api_operation_declares_a_permission() -> None:
    undeclared = []
    count = 0
    for bound in api_module.api._get_bound_routers():
        for path, path_view in bound.path_operations.items():
            for operation in path_view.operations:
                count += 1
                if not hasattr(operation.view_func, api_module.PERMISSION_ATTR):
                    undeclared.append(f"{operation.methods} {bound.prefix}{path}")
    assert count > 10
    assert undeclared == []


def test_every_html_view_declares_a_permission() -> None:
    undeclared: list[str] = []
    for name, pattern in _patterns(get_resolver()):
        if name.startswith("api:") or name.startswith(FOREIGN) or "static" in name or "media" in name:
            continue
        view: Any = pattern.callback
        if not hasattr(view, permissions.PERMISSION_ATTR):
            undeclared.append(name)
    assert undeclared == []
