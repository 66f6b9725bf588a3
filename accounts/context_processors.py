from django.http import HttpRequest

from seendr import identity as identities


def identity(request: HttpRequest) -> dict:
    """``identity`` in every template: the account or guest behind the request, or None."""
    try:
        return {"identity": identities.from_request(request)}
    except Exception:  # noqa: BLE001 - a Redis outage must not break every page
        return {"identity": None}
