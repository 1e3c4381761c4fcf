from __future__ import annotations

import pytest
from django.db import transaction

from applications.events.models import Event
from applications.events.services import event_record
from tests.applications.factories import make_application


@pytest.mark.django_db
def test_event_record_type_not_in_catalogue_is_refused():
    with pytest.raises(ValueError, match="not in the event catalogue"):
        event_record(type="user.teleported", payload={"user_id": "u"})


@pytest.mark.django_db
def test_event_record_undocumented_payload_key_is_refused():
    with pytest.raises(ValueError, match="undocumented \\['email'\\]"):
        event_record(type="user.created", payload={"user_id": "u", "email": "a@example.com"})


@pytest.mark.django_db
def test_event_record_application_event_without_application_is_refused():
    with pytest.raises(ValueError, match="belongs to an application"):
        event_record(type="consent.granted", payload={"user_id": "u", "client_id": "c", "scopes": []})


@pytest.mark.django_db(transaction=True)
def test_event_record_rolled_back_transaction_leaves_no_event():
    application, _ = make_application(type="web")
    with pytest.raises(RuntimeError), transaction.atomic():
        event_record(type="application.updated", application=application, payload={"client_id": "c", "fields": []})
        raise RuntimeError("the change failed")
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_event_record_has_a_stable_public_id():
    event = event_record(type="user.created", payload={"user_id": "u"})
    assert event.public_id.startswith("evt_") and len(event.public_id) > 20
    assert Event.objects.get(pk=event.pk).public_id == event.public_id
