from django.urls import path
from django.views.generic import RedirectView

from identity import views
from identity.mfa import views as mfa_views
from identity.user_sessions import views as session_views

app_name = "identity"

urlpatterns = [
    path("login", views.SignInView.as_view(), name="login"),
    path("logout", views.SignOutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("account/second-factor", mfa_views.second_factor, name="second-factor"),
    path("account/verify-email", mfa_views.verification_send, name="verification-send"),
    path("account/sessions/<int:session_id>/end", session_views.session_end, name="session-end"),
    path("account/sessions/end-all", session_views.sessions_end_all, name="sessions-end-all"),
    # allauth's own sessions page signs sessions out without revoking what they handed out: the account page's.
    path("account/sessions/", RedirectView.as_view(pattern_name="identity:account")),
    path("account/identities/connect/<int:provider_id>", views.identity_connect, name="identity-connect"),
    path("account/identities/<int:account_id>/disconnect", views.identity_disconnect, name="identity-disconnect"),
]
