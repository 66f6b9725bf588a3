"""The broker keeps queued mail across a crash of its Redis (production's broker config, AOF).

docs/deploy.md ("Where the task queue stands"): mail is the one job whose only copy is the queued
task, so the broker runs with ``deploy/redis/broker.conf`` (append-only file, ``noeviction``) and
tasks are acknowledged late. This starts a Redis of its own from that very file, queues a
verification mail with no worker running, kills the server with SIGKILL (nothing gets to save on
the way out), starts it again from the same directory, and a real worker then delivers the mail.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model

from accounts.tests.test_tasks import _wait_for_mail
from seendr.testing.servers import ROOT, free_port, redis_server_binary, server_env, wait_for_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BROKER_CONF = ROOT / "deploy" / "redis" / "broker.conf"


class BrokerRedis:
    def __init__(self, directory) -> None:
        self.dir = directory
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                redis_server_binary(),
                str(BROKER_CONF),
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)),
            ],
            stdout=(self.dir / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, timeout=10)

    def crash(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def test_a_queued_mail_survives_a_broker_crash(celery_worker_process, tmp_path):
    user = get_user_model().objects.create_user(
        username="durable", email="durable@example.com", password="a long password 93"
    )
    broker = BrokerRedis(tmp_path)
    broker.start()
    try:
        # Queued by another process (as a web process would), onto this broker only.
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup()\n"
                "from accounts import tasks\n"
                f"tasks.send_verification_code_task.delay({user.pk})\n",
            ],
            cwd=ROOT,
            env=server_env(CELERY_BROKER_URL=broker.url),
            check=True,
            timeout=60,
        )
        broker.crash()
        broker.start()

        outbox = tmp_path / "mail"
        worker = celery_worker_process(
            CELERY_BROKER_URL=broker.url,
            TEST_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            EMAIL_FILE_PATH=str(outbox),
        )
        (message,) = _wait_for_mail(outbox, 1)
        assert "To: durable@example.com" in message
        assert re.search(r"Subject: Your Seendr code: \d{6}", message)
        worker.stop()
    finally:
        broker.stop()
