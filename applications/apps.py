from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "applications"
    verbose_name = "Applications"

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled

        from applications import checks  # noqa: F401  (registers latchkey.E006)
        from applications.oauth import cors, memo
        from config import checks as config_checks  # noqa: F401  (registers latchkey.E001–E005)

        # django-cors-headers sends this with sender=None; the receiver decides per-app origins.
        check_request_enabled.connect(cors.request_allowed, dispatch_uid="latchkey.cors.request_allowed")
        # Every change to a client, its secrets, scopes, roles or API resources ends the per-process memo.
        memo.connect()
