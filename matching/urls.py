from django.urls import path

from matching import api, views

urlpatterns: list = [
    path("chat/", views.chat, name="chat"),
    path("api/online/", api.online, name="api-online"),
]
