from django.apps import AppConfig


class UsageConfig(AppConfig):
    """Usage per application per day: sign-ins, unique users, tokens by grant type, failures."""

    name = "applications.usage"
    label = "usage"
    verbose_name = "Usage"
