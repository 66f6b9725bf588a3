"""A lost database is a 503 with Retry-After (JSON under /api/, a page elsewhere); a bug stays a 500.

The end-to-end proof, with a real PostgreSQL stopped under a real Daphne, is
``tests/faults/test_postgres_restart.py``.
"""

from __future__ import annotations

import json

from django.db import OperationalError
from django.test import RequestFactory

from seendr.middleware_db import DatabaseUnavailableMiddleware, server_error


def _middleware() -> DatabaseUnavailableMiddleware:
    return DatabaseUnavailableMiddleware(lambda request: None)


def test_view_error_on_api_path_is_json_503() -> None:
    request = RequestFactory().get("/api/profiles/someone/")
    response = _middleware().process_exception(request, OperationalError("connection refused"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert json.loads(response.content)["error"]["code"] == "database_unavailable"


def test_view_error_on_page_is_html_503_without_details() -> None:
    request = RequestFactory().get("/u/someone/")
    response = _middleware().process_exception(request, OperationalError("password=secret host=db"))
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "Back in a moment" in body
    assert "secret" not in body and "OperationalError" not in body


def test_other_errors_are_left_to_django() -> None:
    request = RequestFactory().get("/")
    assert _middleware().process_exception(request, ValueError("a bug")) is None


def test_handler500_turns_a_middleware_database_error_into_503() -> None:
    request = RequestFactory().get("/profile/")
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_handler500_keeps_real_bugs_a_500() -> None:
    request = RequestFactory().get("/profile/")
    try:
        raise KeyError("a bug")
    except KeyError:
        response = server_error(request)
    assert response.status_code == 500
