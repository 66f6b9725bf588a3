"""Signals moderation sends to the floors above it, which act on their own data."""

from django.dispatch import Signal

# A ban was committed. Keyword arguments: identity_id, user_id (None for a guest), until (None:
# forever). Sent with send_robust after commit; a failing receiver is logged, never raised.
ban_issued = Signal()
