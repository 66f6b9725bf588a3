"""The root URLconf: one of the two places (with the ASGI router) where the core names the apps."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from matching.views import landing
from seendr import middleware_db, views

urlpatterns = [
    path("", landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    # Before admin.site.urls, whose catch-all would answer 404 for the Live page.
    path("", include("ops.urls")),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("profiles.urls")),
    path("", include("matching.urls")),
    path("", include("leaderboard.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# A lost database (raised anywhere, middleware included) answers 503, not 500.
handler500 = middleware_db.server_error
