"""django.contrib.admin, with our site as the default one (identity.mfa.admin_site)."""

from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    default_site = "identity.mfa.admin_site.AdminSite"

    def ready(self) -> None:
        super().ready()  # discovers every app's admin module
        from allauth.mfa.models import Authenticator
        from django.contrib import admin

        # allauth's own page edits and deletes factors unaudited; admins reset them from the user's page
        # (identity.mfa.services.second_factors_reset).
        if admin.site.is_registered(Authenticator):
            admin.site.unregister(Authenticator)
