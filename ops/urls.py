from django.urls import path

from ops import dashboard, metrics

urlpatterns = [
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/live/", dashboard.live_page_view, name="admin-live"),
    path("admin/live.json", dashboard.live_data_view, name="admin-live-data"),
]
