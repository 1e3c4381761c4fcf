"""The outbox rows services record, each driven the way a person or a client does it (API, pages, the
protocol endpoints, the admin): one event per change, ids only, and none when the change rolls back."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from unittest import mock
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_device_grant_model, get_refresh_token_model

from applications.events.models import Event
from applications.models import Application, Grant, Scope
from consent.models import Consent
from consent.services import consent_grant
from identity import services as identity_services
from identity.models import User
from tests.applications.factories import make_application
from tests.identity.factories import RoleFactory, UserFactory
from tests.identity.test_admin import USER_ADD_URL, add_user_data, page_form_data, user_change_url

pytestmark = pytest.mark.django_db

CALLBACK = "https://rp.example.com/callback"
USERS, APPLICATIONS = "/api/users", "/api/applications"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def writer(management_api):
    return management_api("management:write")


@pytest.fixture
def user():
    return UserFactory(email="ada@example.com", name="Ada Lovelace")


def web_app(**fields):
    scopes = list(Scope.objects.filter(name__in=["openid", "profile", "offline_access"]))
    fields.setdefault("name", "Shop")
    return make_application(type="web", redirect_uris=CALLBACK, allowed_scopes=scopes, **fields)


def events(type: str) -> list[Event]:
    return list(Event.objects.filter(type=type).order_by("id"))


def assert_ids_only(event: Event, *never: str) -> None:
    """The payload names things by id: no profile field, secret or token appears in it."""
    text = json.dumps(event.payload)
    for value in never:
        assert value and value not in text, value


def query_of(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def authorize(client, application, scope: str = "openid offline_access") -> str:
    """A trusted application's code for the signed-in user (single sign-on: no consent page)."""
    params = {"response_type": "code", "client_id": application.client_id, "redirect_uri": CALLBACK, "scope": scope}
    response = client.get("/oauth/authorize", params)
    assert response.status_code == 302, response.content
    return query_of(response["Location"])["code"]


def exchange(client, application, secret: str, code: str):
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    return client.post("/oauth/token", {**body, "client_id": application.client_id, "client_secret": secret})


def refresh(client, application, secret: str, refresh_token: str):
    body = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return client.post("/oauth/token", {**body, "client_id": application.client_id, "client_secret": secret})


def tokens_for(client, user, application, secret: str) -> dict:
    client.force_login(user)
    response = exchange(client, application, secret, authorize(client, application))
    assert response.status_code == 200, response.content
    return response.json()


# --- user.signed_in ------------------------------------------------------------------------------------


def test_signed_in_code_issued_records_one_event_with_ids(client, user):
    application, secret = web_app(trusted=True)
    client.force_login(user)

    code = authorize(client, application)

    [event] = events("user.signed_in")
    assert event.application == application
    assert event.payload == {"user_id": str(user.public_id), "client_id": application.client_id, "method": "password"}
    assert_ids_only(event, user.email, user.name, secret, code)


def test_signed_in_consent_page_allow_records_sign_in_and_consent_granted(client, user):
    application, secret = web_app()
    client.force_login(user)
    params = {"response_type": "code", "client_id": application.client_id, "redirect_uri": CALLBACK}
    page = client.get("/oauth/authorize", {**params, "scope": "openid profile"}).content.decode()
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))

    response = client.post("/oauth/authorize/consent", {**fields, "allow": "1"})

    assert response.status_code == 302 and "code" in query_of(response["Location"])
    [signed_in] = events("user.signed_in")
    assert signed_in.application == application
    [granted] = events("consent.granted")
    assert granted.application == application
    assert granted.payload == {
        "user_id": str(user.public_id),
        "client_id": application.client_id,
        "scopes": ["openid", "profile"],
    }
    assert_ids_only(granted, user.email, user.name, secret)


def test_signed_in_event_failing_after_it_rolls_back_the_code_and_the_event(client, user):
    """The code, its audit row and its event are one transaction (save_authorization_code)."""
    application, _ = web_app(trusted=True)
    client.force_login(user)
    real = identity_services.user_signed_in

    def then_fail(**kwargs):
        real(**kwargs)
        raise RuntimeError("the database went away")

    with mock.patch("applications.oauth.validator.user_signed_in", then_fail), pytest.raises(RuntimeError):
        client.get(
            "/oauth/authorize",
            {"response_type": "code", "client_id": application.client_id, "redirect_uri": CALLBACK, "scope": "openid"},
        )

    assert not Grant.objects.exists()
    assert not Event.objects.filter(type="user.signed_in").exists()


def start_device(client, application) -> dict:
    response = client.post(
        "/oauth/device",
        urlencode({"client_id": application.client_id, "scope": "openid"}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_signed_in_device_approval_records_one_event_and_denial_none(client, user):
    application, _ = make_application(type="native", allowed_scopes=list(Scope.objects.filter(name="openid")))
    client.force_login(user)
    approved, denied = start_device(client, application), start_device(client, application)

    assert client.post("/device/confirm", {"user_code": approved["user_code"], "action": "approve"}).status_code == 200
    assert client.post("/device/confirm", {"user_code": denied["user_code"], "action": "deny"}).status_code == 200

    [event] = events("user.signed_in")
    assert event.application == application
    assert event.payload["user_id"] == str(user.public_id)
    assert_ids_only(event, user.email, approved["device_code"], approved["user_code"])


def test_signed_in_device_approval_failing_after_the_event_leaves_the_code_pending(client, user):
    application, _ = make_application(type="native", allowed_scopes=list(Scope.objects.filter(name="openid")))
    client.force_login(user)
    started = start_device(client, application)
    real = identity_services.user_signed_in

    def then_fail(**kwargs):
        real(**kwargs)
        raise RuntimeError("the database went away")

    with mock.patch("applications.oauth.device.user_signed_in", then_fail), pytest.raises(RuntimeError):
        client.post("/device/confirm", {"user_code": started["user_code"], "action": "approve"})

    grant = get_device_grant_model().objects.get(device_code=started["device_code"])
    assert grant.status == grant.AUTHORIZATION_PENDING
    assert not Event.objects.exists()


# --- user.* --------------------------------------------------------------------------------------------


def test_user_created_by_the_api_records_created_with_the_public_id(writer):
    response = writer.post(USERS, {"email": "grace@example.com", "name": "Grace Hopper"}, format="json")

    assert response.status_code == 201
    [event] = events("user.created")
    assert event.application is None
    assert event.payload == {"user_id": str(User.objects.get(email="grace@example.com").public_id)}
    assert_ids_only(event, "grace@example.com", "Grace Hopper")


def test_user_created_in_the_admin_records_created(admin_client):
    response = admin_client.post(USER_ADD_URL, add_user_data(admin_client))

    assert response.status_code == 302
    [event] = events("user.created")
    assert event.payload == {"user_id": str(User.objects.get(email="new.person@example.com").public_id)}


def test_user_password_changed_on_the_account_page_records_updated_password(client, user):
    client.force_login(user)
    new = "a brand new passphrase 42"
    response = client.post(
        "/account/password/change/",
        {"oldpassword": "correct horse battery staple", "password1": new, "password2": new},
    )

    assert response.status_code == 302
    [event] = events("user.updated")
    assert event.payload == {"user_id": str(user.public_id), "fields": ["password"]}
    assert_ids_only(event, new, "correct horse battery staple")


def test_user_updated_by_the_api_names_the_changed_fields_not_their_values(writer, user):
    response = writer.patch(f"{USERS}/{user.pk}", {"name": "Augusta King", "phone_number": "+441234567890"})

    assert response.status_code == 200
    [event] = events("user.updated")
    assert event.payload == {"user_id": str(user.public_id), "fields": ["name", "phone_number"]}
    assert_ids_only(event, "Augusta King", "+441234567890", user.email)


def test_user_updated_with_nothing_changed_records_nothing(writer, user):
    assert writer.patch(f"{USERS}/{user.pk}", {"name": user.name}).status_code == 200
    assert events("user.updated") == []


def test_user_role_assigned_and_removed_each_record_updated_roles(writer, user):
    RoleFactory(name="team:lead")

    assert writer.post(f"{USERS}/{user.pk}/roles", {"role": "team:lead"}).status_code == 200
    assert writer.delete(f"{USERS}/{user.pk}/roles/team:lead").status_code == 204

    assert [e.payload["fields"] for e in events("user.updated")] == [["roles"], ["roles"]]
    assert_ids_only(events("user.updated")[0], "team:lead")


def test_user_updated_roles_for_each_holder_of_a_deleted_role(writer, user):
    role = RoleFactory(name="team:lead")
    identity_services.role_assign(actor=None, user=user, role=role)
    Event.objects.all().delete()

    assert writer.delete(f"/api/roles/{role.pk}").status_code == 204

    [event] = events("user.updated")
    assert event.payload == {"user_id": str(user.public_id), "fields": ["roles"]}


def test_user_deactivated_records_deactivated_and_tokens_revoked_per_application(client, writer, user):
    shop, shop_secret = web_app(trusted=True)
    blog, blog_secret = web_app(trusted=True, name="Blog")
    tokens_for(client, user, shop, shop_secret)
    tokens_for(client, user, shop, shop_secret)  # two sessions: still one event for the pair
    tokens_for(client, user, blog, blog_secret)
    web_app(trusted=True, name="Unused")

    response = writer.post(f"{USERS}/{user.pk}/deactivate")

    assert response.status_code == 200
    [deactivated] = events("user.deactivated")
    assert deactivated.payload == {"user_id": str(user.public_id)}
    revoked = events("tokens.revoked")
    assert sorted((e.application_id, e.payload["reason"]) for e in revoked) == sorted(
        [(shop.pk, "user_deactivated"), (blog.pk, "user_deactivated")]
    )
    assert {e.payload["user_id"] for e in revoked} == {str(user.public_id)}


def test_user_deactivated_twice_records_one_event(writer, user):
    writer.post(f"{USERS}/{user.pk}/deactivate")
    writer.post(f"{USERS}/{user.pk}/deactivate")
    assert len(events("user.deactivated")) == 1
    assert events("tokens.revoked") == []  # nothing was held


def test_user_deactivation_failing_after_its_event_changes_nothing(writer, user):
    with mock.patch.object(identity_services, "user_lost_access_revoke", side_effect=RuntimeError("boom")):
        with pytest.raises(RuntimeError):
            writer.post(f"{USERS}/{user.pk}/deactivate")

    user.refresh_from_db()
    assert user.is_active
    assert not Event.objects.exists()


def test_user_deactivated_in_the_admin_records_updated_and_deactivated(admin_client, user):
    data = page_form_data(admin_client.get(user_change_url(user)))
    data.pop("is_active", None)

    response = admin_client.post(user_change_url(user), data)

    assert response.status_code == 302
    [updated] = events("user.updated")
    assert updated.payload == {"user_id": str(user.public_id), "fields": ["is_active"]}
    assert len(events("user.deactivated")) == 1


def test_user_deleted_in_the_admin_records_deleted_and_the_user_is_gone(admin_client, user):
    response = admin_client.post(reverse("admin:identity_user_delete", args=[user.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists()
    [event] = events("user.deleted")
    assert event.payload == {"user_id": str(user.public_id)}
    assert_ids_only(event, user.email, user.name)


def test_users_deleted_by_the_admin_action_record_one_event_each(admin_client):
    first, second = UserFactory(), UserFactory()
    response = admin_client.post(
        reverse("admin:identity_user_changelist"),
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert sorted(e.payload["user_id"] for e in events("user.deleted")) == sorted(
        [str(first.public_id), str(second.public_id)]
    )


def test_user_registered_on_the_sign_up_page_names_the_application_it_signed_up_for(client, settings):
    settings.LATCHKEY_REGISTRATION = "open"
    application, _ = web_app()
    pending = "/oauth/authorize?" + urlencode(
        {"response_type": "code", "client_id": application.client_id, "redirect_uri": CALLBACK, "scope": "openid"}
    )
    password = "correct horse battery staple"
    client.post(
        "/account/signup/",
        {"email": "new@example.com", "password1": password, "password2": password, "next": pending},
    )

    new = User.objects.get(email="new@example.com")
    [event] = events("user.registered")
    assert event.application is None  # a deployment-wide event
    assert event.payload == {"user_id": str(new.public_id), "client_id": application.client_id}
    assert_ids_only(event, "new@example.com", password)


# --- consent -------------------------------------------------------------------------------------------


def test_consent_granted_again_for_the_same_scopes_records_nothing_more(user):
    application, _ = web_app()
    consent_grant(user=user, application=application, scopes=["openid"])
    consent_grant(user=user, application=application, scopes=["openid"])
    consent_grant(user=user, application=application, scopes=["profile"])

    assert [e.payload["scopes"] for e in events("consent.granted")] == [["openid"], ["openid", "profile"]]


def test_consent_revoked_on_my_apps_records_revoked_and_tokens_revoked(client, user):
    application, secret = web_app(trusted=True)
    tokens_for(client, user, application, secret)
    consent = consent_grant(user=user, application=application, scopes=["openid"])

    response = client.post(reverse("consent:revoke", args=[consent.pk]))

    assert response.status_code == 302
    [revoked] = events("consent.revoked")
    assert revoked.application == application
    assert revoked.payload == {"user_id": str(user.public_id), "client_id": application.client_id}
    [tokens] = events("tokens.revoked")
    assert tokens.payload == {
        "user_id": str(user.public_id),
        "client_id": application.client_id,
        "reason": "consent_revoked",
    }


def test_consent_revoked_without_tokens_records_no_tokens_revoked(client, user):
    application, _ = web_app()
    consent = consent_grant(user=user, application=application, scopes=["openid"])
    client.force_login(user)

    client.post(reverse("consent:revoke", args=[consent.pk]))

    assert len(events("consent.revoked")) == 1
    assert events("tokens.revoked") == []


def test_consent_revoke_failing_after_its_events_keeps_consent_and_records_nothing(client, user):
    application, secret = web_app(trusted=True)
    tokens_for(client, user, application, secret)
    consent = consent_grant(user=user, application=application, scopes=["openid"])
    recorded_before = Event.objects.count()

    with mock.patch("consent.services.user_tokens_revoke", side_effect=RuntimeError("boom")):
        with pytest.raises(RuntimeError):
            client.post(reverse("consent:revoke", args=[consent.pk]))

    assert Consent.objects.filter(pk=consent.pk).exists()
    assert Event.objects.count() == recorded_before


# --- tokens.revoked ------------------------------------------------------------------------------------


def test_tokens_revoked_once_when_a_rotated_refresh_token_is_replayed(client, user):
    application, secret = web_app(trusted=True)
    first = tokens_for(client, user, application, secret)
    assert refresh(client, application, secret, first["refresh_token"]).status_code == 200
    rotated = get_refresh_token_model().objects.filter(revoked__isnull=False)
    rotated.update(revoked=timezone.now() - timedelta(minutes=5))  # not a parallel refresh that lost the race

    replay = refresh(client, application, secret, first["refresh_token"])
    again = refresh(client, application, secret, first["refresh_token"])

    assert replay.status_code == again.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    [event] = events("tokens.revoked")
    assert event.application == application
    assert event.payload == {
        "user_id": str(user.public_id),
        "client_id": application.client_id,
        "reason": "refresh_token_replayed",
    }
    assert_ids_only(event, first["refresh_token"], first["access_token"], secret, user.email)


def test_tokens_revoked_once_when_a_code_is_replayed(client, user):
    application, secret = web_app(trusted=True)
    client.force_login(user)
    code = authorize(client, application)
    assert exchange(client, application, secret, code).status_code == 200
    Grant.objects.update(redeemed_at=timezone.now() - timedelta(minutes=5))  # not a lost race: a replay

    assert exchange(client, application, secret, code).json()["error"] == "invalid_grant"
    assert exchange(client, application, secret, code).json()["error"] == "invalid_grant"

    [event] = events("tokens.revoked")
    assert (event.application, event.payload["reason"]) == (application, "code_replayed")
    assert_ids_only(event, code, secret)


@pytest.mark.parametrize("which", ["refresh_token", "access_token"])
def test_tokens_revoked_by_the_client_at_oauth_revoke_records_one_event(client, user, which):
    application, secret = web_app(trusted=True)
    tokens = tokens_for(client, user, application, secret)

    for _ in range(2):  # the second revocation finds nothing live
        response = client.post(
            "/oauth/revoke",
            {"token": tokens[which], "client_id": application.client_id, "client_secret": secret},
        )
        assert response.status_code == 200

    [event] = events("tokens.revoked")
    assert event.payload == {
        "user_id": str(user.public_id),
        "client_id": application.client_id,
        "reason": "revoked_by_client",
    }
    assert not get_access_token_model().objects.exists()
    assert_ids_only(event, tokens["refresh_token"], tokens["access_token"], secret)


def test_tokens_revoked_at_rp_logout_records_signed_out(client, user):
    application, secret = web_app(trusted=True, post_logout_redirect_uris="https://rp.example.com/bye")
    tokens = tokens_for(client, user, application, secret)

    response = client.get(
        "/oauth/logout",
        {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://rp.example.com/bye"},
    )

    assert response.status_code == 302
    [event] = events("tokens.revoked")
    assert event.payload["reason"] == "signed_out"


# --- application.* -------------------------------------------------------------------------------------


def test_application_updated_by_the_api_names_the_changed_fields(writer):
    application, secret = web_app()

    response = writer.patch(f"{APPLICATIONS}/{application.pk}", {"name": "Shop 2"}, format="json")

    assert response.status_code == 200
    [event] = events("application.updated")
    assert event.application == application
    assert event.payload == {"client_id": application.client_id, "fields": ["name"]}
    assert_ids_only(event, "Shop 2", secret)


def test_application_deactivated_in_the_admin_records_updated_is_active(admin_client):
    application, _ = web_app()

    response = admin_client.post(
        reverse("admin:applications_application_changelist"),
        {"action": "deactivate", "_selected_action": [application.pk]},
    )

    assert response.status_code == 302
    [event] = events("application.updated")
    assert event.payload == {"client_id": application.client_id, "fields": ["is_active"]}


def test_application_secret_rotated_with_grace_names_when_the_old_one_stops(writer):
    application, old_secret = web_app()

    response = writer.post(
        f"{APPLICATIONS}/{application.pk}/regenerate-secret", {"grace_period_seconds": 3600}, format="json"
    )

    assert response.status_code == 200
    [event] = events("application.secret_rotated")
    assert event.application == application
    stops = timezone.datetime.fromisoformat(event.payload["previous_secret_expires_at"])
    assert timedelta(minutes=59) < stops - timezone.now() <= timedelta(hours=1)
    assert_ids_only(event, old_secret, response.json()["client_secret"])


def test_application_secret_rotated_at_once_has_no_expiry(writer):
    application, _ = web_app()
    assert writer.post(f"{APPLICATIONS}/{application.pk}/regenerate-secret", format="json").status_code == 200
    [event] = events("application.secret_rotated")
    assert event.payload == {"client_id": application.client_id, "previous_secret_expires_at": None}


def test_application_deleted_by_the_api_outlives_the_application(writer):
    application, _ = web_app()
    client_id = application.client_id

    assert writer.delete(f"{APPLICATIONS}/{application.pk}").status_code == 204

    assert not Application.objects.filter(client_id=client_id).exists()
    [event] = events("application.deleted")
    assert event.application is None  # SET_NULL: the payload keeps the id
    assert event.payload == {"client_id": client_id}


def test_application_delete_failing_after_its_event_keeps_app_and_records_nothing(writer):
    application, _ = web_app()

    with mock.patch.object(Application, "delete", side_effect=RuntimeError("boom")), pytest.raises(RuntimeError):
        writer.delete(f"{APPLICATIONS}/{application.pk}")

    assert Application.objects.filter(pk=application.pk).exists()
    assert not Event.objects.filter(type="application.deleted").exists()


def test_signed_in_code_issuance_query_budget(client, user, django_assert_max_num_queries):
    """Single sign-on to a trusted app: the request's reads, then the code, its sign-in time, its audit
    row and its event in one transaction (+3 for the outbox: the event and the savepoint pair)."""
    application, _ = web_app(trusted=True)
    client.force_login(user)
    authorize(client, application)
    with django_assert_max_num_queries(15):
        authorize(client, application)
