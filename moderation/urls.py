from django.urls import path

from moderation import views

urlpatterns = [
    path("api/matches/<str:match_id>/report/", views.report_match, name="report_match"),
]
