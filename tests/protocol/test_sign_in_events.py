"""`user.signed_in` in the audit log: one per code issued or device code approved, naming the application."""

from __future__ import annotations

import json

import pytest
from authlib.integrations.requests_client import OAuth2Session

from applications.models import Scope
from identity.models import AuditEvent
from tests.applications.factories import make_application
from tests.identity.federation.factories import make_provider
from tests.protocol.conftest import query_of
from tests.protocol.test_device import approve, native_app, start
from tests.protocol.test_sign_in_methods import session_signed_in_with

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "https://rp.example.com/callback"


def web_app(**fields):
    return make_application(
        type="web",
        name="Shop",
        redirect_uris=CALLBACK,
        allowed_scopes=list(Scope.objects.filter(name="openid")),
        **fields,
    )


def authorization_url(server, application, secret, **params) -> str:
    client = OAuth2Session(application.client_id, secret, scope="openid", redirect_uri=CALLBACK)
    return client.create_authorization_url(server.url("/oauth/authorize"), **params)[0]


def sign_ins(application) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(action="user.signed_in", target_type="application", target_id=str(application.pk))
    )


def test_a_code_after_consent_and_again_by_single_sign_on_each_record_a_sign_in(server, browser, user):
    application, secret = web_app()
    assert browser.sign_in(user.email).status_code == 302
    url = authorization_url(server, application, secret)

    code = query_of(browser.authorize(url))["code"]  # the consent page's Allow

    [event] = sign_ins(application)
    assert (event.actor_type, event.actor_id, event.target_label) == ("user", str(user.public_id), "Shop")
    assert event.changes == {
        "client_id": {"old": None, "new": application.client_id},
        "method": {"old": None, "new": "password"},
    }
    assert code not in json.dumps(event.changes) and secret not in json.dumps(event.changes)

    assert "code" in query_of(browser.get(url))  # consent remembered: single sign-on
    assert len(sign_ins(application)) == 2


def test_a_code_by_single_sign_on_to_a_trusted_app_records_the_provider_sign_in(server, browser, user):
    application, secret = web_app(trusted=True)
    provider = make_provider(application, type="github")
    assert browser.sign_in(user.email).status_code == 302
    session_signed_in_with(browser, provider.pk)

    assert "code" in query_of(browser.get(authorization_url(server, application, secret, prompt="none")))

    [event] = sign_ins(application)
    assert event.changes["method"]["new"] == "provider"
    assert event.changes["provider_id"]["new"] == provider.pk


def test_prompt_none_error_and_denied_consent_record_no_sign_in(server, browser, user):
    application, secret = web_app()
    silent = query_of(browser.get(authorization_url(server, application, secret, prompt="none")))
    assert silent["error"] == "login_required"

    assert browser.sign_in(user.email).status_code == 302
    denied = query_of(browser.authorize(authorization_url(server, application, secret), approve=False))
    assert denied["error"] == "access_denied"

    assert sign_ins(application) == []


def test_a_device_approval_records_a_sign_in_and_a_denial_none(server, browser, user):
    application = native_app(name="TV")
    approved = start(server, application).json()
    assert approve(browser, user, approved["user_code"]).status_code == 200

    [event] = sign_ins(application)
    assert (event.actor_id, event.target_label) == (str(user.public_id), "TV")
    assert event.changes["client_id"]["new"] == application.client_id
    assert approved["device_code"] not in json.dumps(event.changes)

    denied = start(server, application).json()
    assert approve(browser, user, denied["user_code"], action="deny").status_code == 200
    assert len(sign_ins(application)) == 1
