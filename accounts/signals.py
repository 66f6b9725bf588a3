"""Account events other parts of the site follow."""

from __future__ import annotations

import logging

import redis
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from seendr import networks
from seendr.identity import user_identity_id
from seendr.ratelimit import client_ip

log = logging.getLogger(__name__)


@receiver(user_logged_in, dispatch_uid="accounts.record_network_on_login")
def record_network_on_login(sender, request, user, **kwargs) -> None:
    """Remember the network an account came from, so a ban of it reaches that network too."""
    if request is None:
        return
    try:
        networks.record(identity_id=user_identity_id(user.pk), ip_hash=networks.hash_ip(client_ip(request)))
    except redis.RedisError as exc:  # a log-in never fails for this
        log.warning("log-in of %s: network not recorded: %s", user.pk, exc)
