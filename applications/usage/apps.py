from django.apps import AppConfig


class UsageConfig(AppConfig):
    """Usage per application per day: sign-ins, unique users, tokens by grant type, failures."""

    name = "applications.usage"
    label = "usage"
    verbose_name = "Usage"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from applications.usage.hooks import sign_in_failed

        user_login_failed.connect(sign_in_failed, dispatch_uid="latchkey.usage.sign_in_failed")
