from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Identity"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from identity import checks  # noqa: F401  (registers latchkey.W002)
        from identity.auth_time import record_sign_in

        user_logged_in.connect(record_sign_in, dispatch_uid="latchkey.record_sign_in")
