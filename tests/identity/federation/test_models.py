"""Provider rules (identity.federation.policies) and secrets at rest, through the services."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from applications import services as application_services
from identity.federation import policies, services
from identity.federation.models import Provider
from identity.models import AuditEvent
from tests.applications.factories import make_application
from tests.identity.federation.factories import APPLE_KEY, SECRET, make_provider

pytestmark = pytest.mark.django_db


@pytest.fixture
def app():
    return make_application()[0]


def errors_of(exc: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return exc.value.message_dict


def test_the_secret_is_encrypted_in_the_database_column(app):
    provider = make_provider(app, type="apple")
    github = make_provider(app, client_secret=SECRET)
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret_encrypted, private_key_encrypted FROM federation_provider")
        stored = " ".join(value for row in cursor.fetchall() for value in row)
    assert SECRET not in stored and "apple-test-key" not in stored
    assert github.client_secret() == SECRET
    assert Provider.objects.get(pk=provider.pk).private_key() == APPLE_KEY + "\n"


def test_one_provider_per_type_per_application(app):
    make_provider(app, type="github")
    with pytest.raises(ValidationError) as exc:
        make_provider(app, type="github")
    assert exc.value.error_dict["type"][0].code == "unique"
    make_provider(make_application()[0], type="github")  # another application may


def test_several_oidc_providers_distinct_by_issuer(app):
    make_provider(app, type="oidc", issuer="https://one.example.com")
    make_provider(app, type="oidc", issuer="https://two.example.com/")
    with pytest.raises(ValidationError) as exc:
        make_provider(app, type="oidc", issuer="https://two.example.com")
    assert exc.value.error_dict["issuer"][0].code == "unique"


def test_unknown_type_is_refused(app):
    with pytest.raises(ValidationError) as exc:
        make_provider(app, type="myspace")
    assert "Unknown provider type" in errors_of(exc)["type"][0]


@pytest.mark.parametrize(
    "issuer",
    [
        "http://idp.example.com",
        "https://127.0.0.1",
        "https://169.254.169.254",
        "https://localhost",
        "https://[fd00::1]",
        "https://idp.example.com?x=1",
        "not a url",
    ],
)
def test_issuer_must_pass_the_outbound_guard(app, issuer):
    with pytest.raises(ValidationError) as exc:
        make_provider(app, type="oidc", issuer=issuer)
    assert "issuer" in errors_of(exc)


def test_a_loopback_issuer_is_allowed_in_development(app, settings):
    settings.LATCHKEY_OUTBOUND_ALLOW_PRIVATE = True
    provider = make_provider(app, type="oidc", issuer="http://127.0.0.1:8001/")
    assert provider.issuer == "http://127.0.0.1:8001"
    assert policies.discovery_url(provider) == "http://127.0.0.1:8001/.well-known/openid-configuration"


def test_apple_needs_team_key_id_and_private_key(app):
    with pytest.raises(ValidationError) as exc:
        make_provider(app, type="apple", team_id="", key_id="", private_key="")
    assert set(errors_of(exc)) == {"team_id", "key_id", "private_key"}


def test_fields_of_other_types_are_refused(app):
    with pytest.raises(ValidationError) as exc:
        make_provider(app, type="google", issuer="https://idp.example.com", team_id="T")
    assert set(errors_of(exc)) == {"issuer", "team_id"}


def test_an_enabled_provider_needs_its_secret_but_a_disabled_one_may_wait(app):
    with pytest.raises(ValidationError) as exc:
        make_provider(app, type="discord", client_secret=None)
    assert "client_secret" in errors_of(exc)
    provider = make_provider(app, type="discord", client_secret=None, enabled=False)
    assert not provider.client_secret_set


def test_claim_mapping_defaults_and_overrides(app):
    provider = make_provider(app, type="oidc", claim_mapping={"email": "upn"})
    assert policies.claim_mapping(provider) == {
        "sub": "sub",
        "email": "upn",
        "email_verified": "email_verified",
        "name": "name",
        "picture": "picture",
    }
    with pytest.raises(ValidationError) as exc:
        make_provider(app, type="oidc", issuer="https://b.example.com", claim_mapping={"shoe_size": "x"})
    assert "claim_mapping" in errors_of(exc)


def test_the_type_never_changes(app):
    provider = make_provider(app, type="github")
    with pytest.raises(ValidationError) as exc:
        services.provider_update(actor=None, provider=provider, fields={"type": "discord"})
    assert "type" in errors_of(exc)


def test_an_update_without_a_secret_keeps_it(app):
    provider = make_provider(app)
    services.provider_update(actor=None, provider=provider, fields={"client_id": "new-id"})
    assert Provider.objects.get(pk=provider.pk).client_secret() == SECRET


def test_every_change_is_audited_without_the_secret(app):
    provider = make_provider(app)
    services.provider_update(actor=None, provider=provider, fields={"client_secret": "rotated-secret-x"})
    services.provider_delete(actor=None, provider=provider)
    events = list(AuditEvent.objects.filter(target_type="provider").order_by("pk"))
    assert [e.action for e in events] == ["provider.created", "provider.updated", "provider.deleted"]
    assert events[1].changes == {"client_secret": {"old": "[hidden]", "new": "[hidden]"}}
    assert events[0].changes["client_secret_set"] == {"old": None, "new": True}
    dumped = repr([e.changes for e in events])
    assert SECRET not in dumped and "rotated-secret-x" not in dumped


def test_deleting_the_application_deletes_its_providers(app):
    make_provider(app)
    application_services.application_delete(actor=None, application=app)
    assert not Provider.objects.exists()


def test_apple_takes_a_private_key_not_a_client_secret(app):
    with pytest.raises(ValidationError) as exc:
        make_provider(app, type="apple", client_secret="x")
    assert "private key" in errors_of(exc)["client_secret"][0]
