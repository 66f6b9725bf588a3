from django.urls import path

from leaderboard import api, views

urlpatterns = [
    path("leaderboard/", views.leaderboard_page, name="leaderboard"),
    path("api/leaderboard/<str:board>/", api.leaderboard, name="api-leaderboard"),
]
