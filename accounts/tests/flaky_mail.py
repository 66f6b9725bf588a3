"""An email backend for tests that fails like a flaky SMTP server, then delivers to locmem."""

from __future__ import annotations

import smtplib

from django.core.mail.backends.locmem import EmailBackend

failures_left = 0
attempts = 0


class FlakyEmailBackend(EmailBackend):
    def send_messages(self, messages):
        global failures_left, attempts
        attempts += 1
        if failures_left > 0:
            failures_left -= 1
            raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")
        return super().send_messages(messages)
