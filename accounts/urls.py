from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import language, views

urlpatterns = [
    path("guest/", views.guest_start, name="guest"),
    path("i18n/setlang/", language.set_language, name="set_language"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/verify/", views.verify_email, name="verify_email"),
    path("accounts/verify/resend/", views.resend_code, name="resend_code"),
    path("accounts/password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password_reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
