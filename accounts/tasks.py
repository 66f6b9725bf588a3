"""Account mail, sent by workers. Thin: each task calls one service.

Mail is retried on network errors with exponential backoff and jitter (celery's
``retry_backoff``/``retry_jitter``), so a flaky SMTP server does not lose a code or a reset link.

Each task imports its service in its body: the services import this module at the top to enqueue
(``x_task.delay_on_commit``), so imports between the two run one way.
"""

from __future__ import annotations

from celery import shared_task

MAIL_RETRY = {
    "autoretry_for": (OSError,),  # smtplib.SMTPException and socket errors are OSErrors
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 6,
    "acks_late": True,
}


@shared_task(**MAIL_RETRY)
def send_verification_code_task(user_id: int) -> bool:
    from accounts import services

    return services.send_verification_code(user_id=user_id)


@shared_task(**MAIL_RETRY)
def send_password_reset_task(
    *,
    email: str,
    domain: str,
    site_name: str,
    protocol: str,
    subject_template_name: str,
    email_template_name: str,
    from_email: str | None = None,
    html_email_template_name: str | None = None,
    language: str = "",
) -> int:
    from accounts import services

    return services.send_password_reset(
        email=email,
        domain=domain,
        site_name=site_name,
        protocol=protocol,
        subject_template_name=subject_template_name,
        email_template_name=email_template_name,
        from_email=from_email,
        language=language,
        html_email_template_name=html_email_template_name,
    )
