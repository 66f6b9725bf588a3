"""The root URLconf: one of the two places (with the ASGI router) where the core names the apps."""

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.decorators.vary import vary_on_cookie
from django.views.i18n import JavaScriptCatalog

from accounts import urls as accounts_urls
from leaderboard import urls as leaderboard_urls
from matching import urls as matching_urls
from matching.views import landing
from moderation import urls as moderation_urls
from ops import urls as ops_urls
from profiles import urls as profiles_urls
from seendr import middleware_db, views

urlpatterns = [
    path("", landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    # The pages' runtime strings (gettext() in static/js) in the request's language, which the
    # switcher's cookie may change at any time: no validators, and Vary: Cookie (LocaleMiddleware
    # adds Accept-Language), so a browser never reuses a catalog of another language.
    path("jsi18n/", vary_on_cookie(JavaScriptCatalog.as_view()), name="javascript-catalog"),
    # Before admin.site.urls, whose catch-all would answer 404 for the Live page.
    path("", include(ops_urls)),
    path("admin/", admin.site.urls),
    path("", include(accounts_urls)),
    path("", include(profiles_urls)),
    path("", include(matching_urls)),
    path("", include(leaderboard_urls)),
    path("", include(moderation_urls)),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# A lost database (raised anywhere, middleware included) answers 503, not 500.
handler500 = middleware_db.server_error
