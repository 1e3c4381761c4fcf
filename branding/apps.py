from django.apps import AppConfig


class BrandingConfig(AppConfig):
    name = "branding"
    verbose_name = "Branding"

    def ready(self) -> None:
        from branding import checks  # noqa: F401  (registers latchkey.E007)
