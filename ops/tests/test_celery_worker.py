import json
import time

import pytest
from django.contrib.auth import get_user_model

from ops import stats, tasks
from seendr import celery_app, keys
from seendr.redis_state import state
from seendr.request_id import request_id

pytestmark = pytest.mark.slow


def wait_for(predicate, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_real_worker_runs_the_sweep_and_counts_outcomes(celery_worker_process):
    ghost = "gghost0000002"
    state().sadd(keys.pool_waiting(), ghost)
    # Queued before any worker runs: the Live page's queue depth reads the real broker list.
    # Published while "serving a request": the worker logs the task's lines under that id.
    token = request_id.set("req-from-web-0001")
    try:
        tasks.sweep_pool_task.delay()
    finally:
        request_id.reset(token)
    celery_app.send_task("ops.tasks.sweep_pool_task", args=[1, 2, 3])  # wrong arguments: fails in the worker
    assert stats.celery_queue_depth()["queued"] == 2

    worker = celery_worker_process(LOG_JSON="1")
    wait_for(
        lambda: (
            stats.task_outcomes().get(("ops.tasks.sweep_pool_task", "failure"), 0) == 1
            and stats.task_outcomes().get(("ops.tasks.sweep_pool_task", "success"), 0) == 1
        ),
        what="both outcomes",
    )
    assert not state().sismember(keys.pool_waiting(), ghost)
    # Late acks: the message is acknowledged just after the outcome is counted.
    wait_for(lambda: stats.celery_queue_depth() == {"queued": 0, "unacked": 0}, what="acks")
    failures = stats.recent_failures()
    assert failures[0]["task"] == "ops.tasks.sweep_pool_task"
    assert "TypeError" in failures[0]["error"]
    # The worker logs through the project's logging config: JSON lines in production mode.
    json_lines = [json.loads(line) for line in worker.output().splitlines() if line.startswith("{")]
    assert any("ready." in line["message"] for line in json_lines), worker.output()
    sweep_lines = [line for line in json_lines if line["message"].startswith("pool sweep:")]
    assert [line["request_id"] for line in sweep_lines] == ["req-from-web-0001"], worker.output()
    failed = [line for line in json_lines if "raised unexpected: TypeError" in line["message"]]
    assert failed and failed[0]["request_id"].startswith("task-"), worker.output()


def test_mail_task_retries_with_backoff_when_the_mail_server_is_down(celery_worker_process):
    from seendr.testing.servers import free_port

    get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-123456789")
    # Production settings (the test settings pin the in-memory mail backend), same DB and keys.
    worker = celery_worker_process(
        DJANGO_SETTINGS_MODULE="seendr.settings",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(free_port()),
    )
    tasks.send_moderation_summary_task.delay()
    wait_for(
        lambda: stats.task_outcomes().get(("ops.tasks.send_moderation_summary_task", "retry"), 0) >= 1,
        what="a retry",
    )
    assert "Retry in" in worker.output()
    assert stats.task_outcomes().get(("ops.tasks.send_moderation_summary_task", "failure"), 0) == 0


def test_broker_visibility_timeout_outlasts_every_task_and_retry():
    """With late acks on Redis, a task still running (or waiting for its retry countdown) when the
    visibility timeout passes is handed to a second worker: every limit must stay below it."""
    from django.conf import settings

    from ops.management.commands.install_beat_schedule import registered_tasks

    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_TASK_TIME_LIMIT < visibility
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
    registered_tasks()
    for name, task in celery_app.tasks.items():
        if name.startswith("celery."):
            continue
        assert (task.time_limit or 0) < visibility, name
        if getattr(task, "autoretry_for", ()):
            longest_wait = (
                getattr(task, "retry_backoff_max", 600) if task.retry_backoff else task.default_retry_delay
            )
            assert longest_wait < visibility, name
    # Blocking broker reads must not trip the socket timeout (the redis-py 8 trap in DESIGN.md).
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["socket_timeout"] > 1
