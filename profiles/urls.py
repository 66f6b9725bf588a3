from django.urls import path

from profiles import api, views

urlpatterns = [
    path("profile/", views.edit_profile, name="edit_profile"),
    path("u/<str:username>/", views.public_profile, name="public_profile"),
    path("api/profiles/<str:username>/", api.profile_detail, name="api_profile_detail"),
]
