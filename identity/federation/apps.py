from django.apps import AppConfig


class FederationConfig(AppConfig):
    """Sign-in providers (other identity providers) configured per application."""

    name = "identity.federation"
    label = "federation"
    verbose_name = "Sign-in providers"
