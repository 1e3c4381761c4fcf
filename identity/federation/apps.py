from django.apps import AppConfig


class FederationConfig(AppConfig):
    """Sign-in providers (other identity providers) configured per application."""

    name = "identity.federation"
    label = "federation"
    verbose_name = "Sign-in providers"

    def ready(self) -> None:
        from allauth.account.signals import user_logged_in

        from identity.federation.signals import record_provider_sign_in

        user_logged_in.connect(record_provider_sign_in, dispatch_uid="latchkey.record_provider_sign_in")
