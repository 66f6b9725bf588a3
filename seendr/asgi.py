"""ASGI entry point: Django for HTTP, Channels for the chat WebSocket."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seendr.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from matching.routing import websocket_urlpatterns  # noqa: E402
from seendr.metrics import WebSocketMetricsMiddleware  # noqa: E402
from seendr.request_id import ConnectionIdMiddleware  # noqa: E402
from seendr.send_buffer import SendBufferLimit  # noqa: E402
from seendr.translation import detection  # noqa: E402
from seendr.ws_auth import auth_middleware_stack  # noqa: E402

# The chat's language detector loads before the server serves (about 1 s and 90 MiB, once per
# process), so the first chat lines already say which language they are in and no request or
# socket ever waits for it.
detection.load()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origin is checked inside the consumer so a refusal can carry close code 4403.
        # Outer layers: a connection id for the logs, the bound on what a socket that does not
        # read may hold (it needs the server's own send), and the open-sockets gauge of /metrics.
        "websocket": ConnectionIdMiddleware(
            SendBufferLimit(
                WebSocketMetricsMiddleware(auth_middleware_stack(URLRouter(websocket_urlpatterns)))
            )
        ),
    }
)
