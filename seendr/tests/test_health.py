import pytest
from django.test import override_settings

from conftest import free_port

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_when_everything_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["down"] == []


def test_readyz_names_a_dead_redis_role(client):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    with override_settings(REDIS_STATE_URL=dead):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["down"] == ["redis_state"]


def test_landing_page_offers_guest_form_and_sign_up(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'action="/guest/"' in html
    assert 'name="adult"' in html
    assert 'data-testid="online-count"' in html
