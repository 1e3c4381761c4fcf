from django.urls import path

from identity import views
from identity.mfa import views as mfa_views

app_name = "identity"

urlpatterns = [
    path("login", views.SignInView.as_view(), name="login"),
    path("logout", views.SignOutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("account/second-factor", mfa_views.second_factor, name="second-factor"),
    path("account/identities/connect/<int:provider_id>", views.identity_connect, name="identity-connect"),
    path("account/identities/<int:account_id>/disconnect", views.identity_disconnect, name="identity-disconnect"),
]
