from __future__ import annotations

import pytest
from django.utils import timezone

from applications.events.models import Delivery, Event
from applications.events.relay import events_relay
from applications.events.services import event_record
from tests.applications.events.factories import make_event, make_receiving_webhook
from tests.applications.factories import make_application


def delivered_to(webhook) -> set[str]:
    return set(Delivery.objects.filter(webhook=webhook).values_list("event__type", flat=True))


@pytest.mark.django_db
def test_events_relay_fans_out_by_application_and_type():
    app, _ = make_application(type="web")
    other_app, _ = make_application(type="web")
    own, _ = make_receiving_webhook(url="https://a.example.com/", application=app, event_types=["user.signed_in"])
    other, _ = make_receiving_webhook(url="https://b.example.com/", application=other_app)
    wide, _ = make_receiving_webhook(url="https://c.example.com/", event_types=["user.signed_in", "user.created"])
    consent_only, _ = make_receiving_webhook(url="https://d.example.com/", event_types=["consent.granted"])
    make_event(application=app)
    make_event()

    assert events_relay() == 2

    assert delivered_to(own) == {"user.signed_in"}
    assert delivered_to(other) == set()
    assert delivered_to(wide) == {"user.signed_in", "user.created"}
    assert delivered_to(consent_only) == set()
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()


@pytest.mark.django_db
def test_events_relay_disabled_webhook_gets_no_delivery():
    make_receiving_webhook(url="https://a.example.com/", enabled=False)
    make_event()

    assert events_relay() == 1

    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_events_relay_ping_is_never_fanned_out_by_subscription():
    app, _ = make_application(type="web")
    webhook, _ = make_receiving_webhook(url="https://a.example.com/", application=app, event_types=["webhook.ping"])
    event_record(type="webhook.ping", application=app, payload={"webhook_id": str(webhook.pk)})

    assert events_relay() == 1

    assert not Delivery.objects.exists()
    assert Event.objects.get().dispatched_at is not None


@pytest.mark.django_db
def test_events_relay_run_again_after_a_crash_creates_no_second_delivery():
    webhook, _ = make_receiving_webhook(url="https://a.example.com/")
    event = make_event()
    events_relay()
    # A relay that created the deliveries but died before dispatched_at was written (the same state).
    Event.objects.filter(pk=event.pk).update(dispatched_at=None)

    assert events_relay() == 1

    assert Delivery.objects.filter(webhook=webhook, event=event).count() == 1


@pytest.mark.django_db
def test_events_relay_takes_oldest_first_in_batches():
    webhook, _ = make_receiving_webhook(url="https://a.example.com/")
    events = [make_event(user_id=f"usr_{n}") for n in range(5)]

    assert events_relay(batch_size=2) == 2

    dispatched = set(Event.objects.filter(dispatched_at__isnull=False).values_list("pk", flat=True))
    assert dispatched == {events[0].pk, events[1].pk}
    assert events_relay(batch_size=10) == 3
    assert events_relay() == 0
    assert Delivery.objects.filter(webhook=webhook).count() == 5


@pytest.mark.django_db
def test_events_relay_queries_do_not_grow_with_the_batch(django_assert_max_num_queries):
    app, _ = make_application(type="web")
    for n in range(3):
        make_receiving_webhook(url=f"https://{n}.example.com/", application=app if n else None)
    for n in range(30):
        make_event(application=app, user_id=f"usr_{n}")

    # exists, savepoint-free atomic: select events, select webhooks, insert deliveries, update events.
    with django_assert_max_num_queries(7):
        assert events_relay(now=timezone.now()) == 30

    assert Delivery.objects.count() == 90
