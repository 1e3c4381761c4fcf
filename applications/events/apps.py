from django.apps import AppConfig


class EventsConfig(AppConfig):
    """Application events (a transactional outbox) and the webhooks they are delivered to."""

    name = "applications.events"
    label = "events"
    verbose_name = "Events and webhooks"

    def ready(self) -> None:
        from applications.events import checks  # noqa: F401  (registers latchkey.W003)
