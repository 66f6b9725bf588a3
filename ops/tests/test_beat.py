import subprocess
import sys
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from ops import services, stats
from seendr import keys
from seendr.redis_state import state
from seendr.testing.servers import ROOT, ServerProcess, server_env

pytestmark = pytest.mark.django_db


def install(*args: str) -> str:
    out = StringIO()
    call_command("install_beat_schedule", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_install_creates_every_entry_once_and_is_idempotent():
    first = install()
    assert f"{len(services.BEAT_SCHEDULE)} created" in first
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert {entry.name for entry in services.BEAT_SCHEDULE} <= names
    second = install()
    assert "0 created, 0 updated" in second
    assert PeriodicTask.objects.filter(name__startswith="ops: ").count() == len(services.BEAT_SCHEDULE)
    sweep = PeriodicTask.objects.get(task="ops.tasks.sweep_pool_task")
    assert sweep.interval.every == 15 and sweep.enabled
    summary = PeriodicTask.objects.get(task="ops.tasks.send_moderation_summary_task")
    assert (summary.crontab.minute, summary.crontab.hour) == ("0", "7")


def test_admin_edits_survive_a_reinstall_unless_reset():
    install()
    sweep = PeriodicTask.objects.get(task="ops.tasks.sweep_pool_task")
    sweep.interval, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
    sweep.enabled = False
    sweep.save()
    install()
    sweep.refresh_from_db()
    assert (sweep.interval.every, sweep.enabled) == (60, False)
    install("--reset")
    sweep.refresh_from_db()
    assert (sweep.interval.every, sweep.enabled) == (15, True)


def test_entries_of_tasks_no_worker_knows_are_installed_disabled():
    result = services.install_beat_schedule(known_tasks={"ops.tasks.sweep_pool_task"})
    assert "ops: sweep matching pool" not in result.disabled
    assert "ops: reconcile leaderboards" in result.disabled
    assert not PeriodicTask.objects.get(name="ops: reconcile leaderboards").enabled
    assert PeriodicTask.objects.get(name="ops: sweep matching pool").enabled


@pytest.mark.slow
def test_real_beat_sends_the_sweep_and_a_real_worker_runs_it(
    transactional_db, celery_worker_process, tmp_path
):
    install()
    # Every second instead of every 15 s, as an operator could set it in the admin.
    sweep = PeriodicTask.objects.get(task="ops.tasks.sweep_pool_task")
    sweep.interval, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    sweep.save()
    PeriodicTask.objects.exclude(pk=sweep.pk).update(enabled=False)
    ghost = "gghost0000001"
    state().sadd(keys.pool_waiting(), ghost)  # a pool member without a ticket: what the sweep removes

    celery_worker_process()
    log = tmp_path / "beat.log"
    beat = ServerProcess(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "seendr",
                "beat",
                "--loglevel=INFO",
                "--schedule",
                str(tmp_path / "beat-schedule"),
                "--pidfile",
                str(tmp_path / "beat.pid"),
            ],
            cwd=ROOT,
            env=server_env(),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        ),
        None,
        log,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = stats.task_outcomes().get(("ops.tasks.sweep_pool_task", "success"), 0)
            if done >= 2 and not state().sismember(keys.pool_waiting(), ghost):
                break
            time.sleep(0.25)
        else:
            raise AssertionError(f"beat/worker did not run the sweep:\n{beat.output()}")
    finally:
        beat.stop()
    assert "Sending due task ops: sweep matching pool" in beat.output()
