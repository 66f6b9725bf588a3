from django.urls import path

from matching import views

urlpatterns: list = [
    path("chat/", views.chat, name="chat"),
]
