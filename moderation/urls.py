from django.urls import path

from moderation import pages

urlpatterns = [
    path("rules/", pages.rules, name="rules"),
    path("privacy/", pages.privacy, name="privacy"),
]
