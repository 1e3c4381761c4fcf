from django.apps import AppConfig


class FederationConfig(AppConfig):
    """Sign-in providers (other identity providers) configured per application."""

    name = "identity.federation"
    label = "federation"
    verbose_name = "Sign-in providers"

    def ready(self) -> None:
        from allauth.account.signals import user_logged_in
        from allauth.socialaccount.signals import social_account_added

        from identity.federation.signals import record_identity_linked, record_provider_sign_in

        user_logged_in.connect(record_provider_sign_in, dispatch_uid="latchkey.record_provider_sign_in")
        social_account_added.connect(record_identity_linked, dispatch_uid="latchkey.record_identity_linked")
        self.hide_allauth_credentials_admin()

    @staticmethod
    def hide_allauth_credentials_admin() -> None:
        """allauth's "Social applications" and "Social application tokens" would store credentials and
        tokens in plain text, and we read neither (providers live on the application; tokens are never
        stored). Connected accounts stay visible."""
        from allauth.socialaccount.models import SocialApp, SocialToken
        from django.contrib import admin

        for model in (SocialApp, SocialToken):
            if admin.site.is_registered(model):
                admin.site.unregister(model)
