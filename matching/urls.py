from django.urls import path, re_path

from matching import api, translate, views

urlpatterns: list = [
    path("chat/", views.chat, name="chat"),
    path("api/online/", api.online, name="api-online"),
    path("api/translate/", translate.translate_line, name="api-translate"),
    re_path(r"^api/matches/(?P<match_id>[A-Za-z0-9_-]{1,32})/like/$", api.like, name="api-match-like"),
    path("api/matches/<str:match_id>/report/", api.report, name="report_match"),
    path("api/friends/", api.friend_list, name="api-friends"),
    path("api/friends/<str:username>/", api.friend_detail, name="api-friend"),
    path("friends/", views.friends_page, name="friends"),
]
