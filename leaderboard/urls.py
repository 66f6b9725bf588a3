from django.urls import path, re_path

from leaderboard import api, views

urlpatterns = [
    path("leaderboard/", views.leaderboard_page, name="leaderboard"),
    path("api/leaderboard/<str:board>/", api.leaderboard, name="api-leaderboard"),
    re_path(r"^api/matches/(?P<match_id>[A-Za-z0-9_-]{1,32})/like/$", api.like, name="api-match-like"),
]
