from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from config import health, metrics
from identity import views as identity_views
from identity.mfa import views as mfa_views

# An uncaught exception: JSON on the OAuth and API endpoints, a branded page elsewhere (config.errors).
handler500 = "config.errors.server_error"

admin.site.site_header = "Latchkey"
admin.site.site_title = "Latchkey admin"
admin.site.index_title = "Identity provider administration"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/", include(("config.api_urls", "api"), namespace="api")),
    path("", include("applications.oauth.urls")),
    path("", include("identity.urls")),
    path("", include("identity.organizations.urls")),
    path("", include("consent.urls")),
    # Registration, email verification, password reset and change (allauth), under our CSP and brand;
    # its own sign-in and sign-out pages are ours at /login and /logout.
    path("account/login/", RedirectView.as_view(pattern_name="identity:login", query_string=True)),
    path("account/logout/", RedirectView.as_view(pattern_name="identity:logout", query_string=True)),
    # Not offered: adding or switching addresses would move `email` and `email_verified` under
    # applications' feet; an admin changes a user's email.
    path("account/email/", identity_views.not_offered),
    path("account/password/reset/", identity_views.PasswordResetView.as_view()),
    # Connected identities are listed and disconnected on the account page (never the last way to sign in).
    path("account/3rdparty/", RedirectView.as_view(pattern_name="identity:account")),
    # Second factors: allauth's pages, but enrolment and passkey sign-in come back to `next` (identity.mfa).
    path("account/2fa/totp/activate/", mfa_views.activate_totp, name="mfa_activate_totp"),
    path("account/2fa/webauthn/add/", mfa_views.add_webauthn, name="mfa_add_webauthn"),
    path("account/2fa/webauthn/login/", mfa_views.passkey_sign_in, name="mfa_login_webauthn"),
    path("account/", include("allauth.urls")),
    # allauth's flows reverse these names (Django's reverse takes the last pattern of a name).
    path("login", identity_views.SignInView.as_view(), name="account_login"),
    path("logout", identity_views.SignOutView.as_view(), name="account_logout"),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
