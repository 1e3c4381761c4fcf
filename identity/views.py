from __future__ import annotations

from django.contrib.auth import views as auth_views


class SignInView(auth_views.LoginView):
    """The sign-in page. `next` is followed only to local paths (Django checks the host)."""

    template_name = "identity/login.html"
    redirect_authenticated_user = False


class SignOutView(auth_views.LogoutView):
    template_name = "identity/logged_out.html"
