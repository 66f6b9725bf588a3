from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from seendr import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("profiles.urls")),
    path("", include("matching.urls")),
    path("", include("leaderboard.urls")),
    path("", include("moderation.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
