from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from seendr import dashboard, metrics, views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    # Before admin.site.urls, whose catch-all would answer 404 for these.
    path("admin/live/", dashboard.live_page_view, name="admin-live"),
    path("admin/live.json", dashboard.live_data_view, name="admin-live-data"),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("profiles.urls")),
    path("", include("matching.urls")),
    path("", include("leaderboard.urls")),
    path("", include("moderation.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# A lost database (raised anywhere, middleware included) answers 503, not 500.
handler500 = "seendr.middleware_db.server_error"
