"""Device authorization grant (RFC 8628) against a running server: a device polls, a browser approves at /device."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.db.models import F
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_device_grant_model

from applications import services
from applications.models import Scope
from tests.applications.factories import make_application
from tests.identity.factories import RoleFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DeviceGrant = get_device_grant_model()


def native_app(scopes=("openid", "profile", "email", "offline_access"), **fields):
    application, _ = make_application(
        type="native", allowed_scopes=list(Scope.objects.filter(name__in=scopes)), **fields
    )
    return application


def start(server, application, scope: str | None = "openid profile offline_access", **extra) -> requests.Response:
    data = {"client_id": application.client_id, **extra}
    if scope is not None:
        data["scope"] = scope
    return requests.post(server.url("/oauth/device"), data=data, timeout=10)


def poll(server, client_id: str, device_code: str) -> requests.Response:
    return requests.post(
        server.url("/oauth/token"),
        data={"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client_id},
        timeout=10,
    )


def rewind_last_poll(device_code: str, seconds: int) -> None:
    DeviceGrant.objects.filter(device_code=device_code).update(
        last_checked=F("last_checked") - timedelta(seconds=seconds)
    )


def csrf_of(page: requests.Response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def enter_code(browser, user_code: str) -> requests.Response:
    """Type `user_code` on the /device page of a signed-in browser."""
    page = browser.get(browser.server.url("/device"))
    assert page.status_code == 200
    return browser.session.post(
        browser.server.url("/device"),
        data={"user_code": user_code, "csrfmiddlewaretoken": csrf_of(page)},
        allow_redirects=False,
        timeout=10,
    )


def decide(browser, confirm_page: requests.Response, action: str) -> requests.Response:
    hidden = re.search(r'name="user_code" value="([^"]+)"', confirm_page.text).group(1)
    return browser.session.post(
        browser.server.url("/device/confirm"),
        data={"user_code": hidden, "action": action, "csrfmiddlewaretoken": csrf_of(confirm_page)},
        allow_redirects=False,
        timeout=10,
    )


def approve(browser, user, user_code: str, action: str = "approve") -> requests.Response:
    browser.sign_in(user.email)
    confirm = enter_code(browser, user_code)
    assert 'data-testid="device-approve"' in confirm.text, confirm.text
    return decide(browser, confirm, action)


# --- the whole flow ------------------------------------------------------------------------------
def test_device_flow_user_signs_in_and_approves_device_gets_tokens_once(server, browser, user):
    application = native_app(access_token_ttl=900)
    meta = server.discovery()
    response = requests.post(
        meta["device_authorization_endpoint"],
        data={"client_id": application.client_id, "scope": "openid profile offline_access"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    started = response.json()
    assert set(started) >= {"device_code", "user_code", "verification_uri", "expires_in", "interval"}
    assert started["interval"] == 5
    assert started["verification_uri"].endswith("/device")
    assert re.fullmatch(r"[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}", started["user_code"])
    complete = urlsplit(started["verification_uri_complete"])
    assert complete.path == "/device"
    assert complete.query == urlencode({"user_code": started["user_code"]})

    # The device polls before the user has done anything.
    pending = poll(server, application.client_id, started["device_code"])
    assert pending.status_code == 400
    assert pending.json()["error"] == "authorization_pending"
    assert pending.headers["Cache-Control"] == "no-store"

    # The user opens verification_uri_complete, signs in, and confirms the prefilled code.
    link = server.url(f"{complete.path}?{complete.query}")
    to_login = browser.get(link)
    assert to_login.status_code == 302
    login_target = urlsplit(to_login.headers["Location"])
    assert login_target.path == "/login"
    next_url = f"{complete.path}?{complete.query}"
    assert parse_qs(login_target.query) == {"next": [next_url]}
    before = int(time.time())
    signed_in = browser.sign_in(user.email, next_url=next_url)
    assert signed_in.status_code == 302
    page = browser.get(server.url(signed_in.headers["Location"]))
    assert page.status_code == 200
    assert f'value="{started["user_code"]}"' in page.text
    assert 'data-testid="device-code-input"' in page.text
    # Typed in lower case with a space instead of the dash: still the same code.
    typed = started["user_code"].lower().replace("-", " ")
    confirm = browser.session.post(
        server.url("/device"), data={"user_code": typed, "csrfmiddlewaretoken": csrf_of(page)}, timeout=10
    )
    assert confirm.status_code == 200
    assert started["user_code"] in confirm.text
    assert application.name in confirm.text
    done = decide(browser, confirm, "approve")
    assert done.status_code == 200
    assert "Device connected" in done.text

    rewind_last_poll(started["device_code"], 5)  # the device waited its interval
    tokens = poll(server, application.client_id, started["device_code"])
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["Cache-Control"] == "no-store"
    body = tokens.json()
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] == 900
    assert set(body["scope"].split()) == {"openid", "profile", "offline_access"}
    assert body["refresh_token"]
    claims = server.decode_id_token(body["id_token"], client_id=application.client_id)
    assert claims["sub"] == str(user.public_id)
    assert before - 1 <= claims["auth_time"] <= int(time.time())
    digest = hashlib.sha256(body["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")

    info = requests.get(
        server.url("/oauth/userinfo"), headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=10
    )
    assert info.status_code == 200
    assert info.json()["sub"] == claims["sub"]

    # A device code is redeemed once.
    again = poll(server, application.client_id, started["device_code"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"

    refreshed = requests.post(
        server.url("/oauth/token"),
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": application.client_id,
        },
        timeout=10,
    )
    assert refreshed.status_code == 200, refreshed.text


def test_device_flow_without_openid_or_offline_access_issues_only_an_access_token(server, browser, user):
    application = native_app()
    started = start(server, application, scope="profile").json()
    approve(browser, user, started["user_code"])
    body = poll(server, application.client_id, started["device_code"]).json()
    assert body["scope"] == "profile"
    assert "refresh_token" not in body
    assert "id_token" not in body


def test_device_authorization_without_scope_gets_the_apps_allowed_scopes(server, browser, user):
    application = native_app(scopes=("openid", "email"))
    started = start(server, application, scope=None).json()
    approve(browser, user, started["user_code"])
    body = poll(server, application.client_id, started["device_code"]).json()
    assert set(body["scope"].split()) == {"openid", "email"}


# --- polling ---------------------------------------------------------------------------------------
def test_device_poll_faster_than_interval_is_slow_down_and_interval_grows(server):
    application = native_app()
    code = start(server, application).json()["device_code"]
    assert poll(server, application.client_id, code).json()["error"] == "authorization_pending"

    fast = poll(server, application.client_id, code)
    assert fast.status_code == 400
    assert fast.json()["error"] == "slow_down"
    assert fast.headers["Cache-Control"] == "no-store"

    # After a slow_down the device owes 5 + 5 seconds (RFC 8628 §3.5): six are not enough.
    rewind_last_poll(code, 6)
    assert poll(server, application.client_id, code).json()["error"] == "slow_down"
    rewind_last_poll(code, 16)
    assert poll(server, application.client_id, code).json()["error"] == "authorization_pending"


def test_device_poll_after_user_denies_is_access_denied(server, browser, user):
    application = native_app()
    started = start(server, application).json()
    done = approve(browser, user, started["user_code"], action="deny")
    assert done.status_code == 200
    assert "Request denied" in done.text
    response = poll(server, application.client_id, started["device_code"])
    assert response.status_code == 400
    assert response.json()["error"] == "access_denied"


def test_device_poll_after_expiry_is_expired_token(server):
    application = native_app()
    code = start(server, application).json()["device_code"]
    DeviceGrant.objects.filter(device_code=code).update(expires=timezone.now() - timedelta(seconds=1))
    response = poll(server, application.client_id, code)
    assert response.status_code == 400
    assert response.json()["error"] == "expired_token"


def test_device_code_redeemed_by_another_client_is_invalid_grant(server, browser, user):
    application = native_app()
    other = native_app()
    started = start(server, application).json()
    # Pending or approved, the code says nothing to a client it was not issued to.
    assert poll(server, other.client_id, started["device_code"]).json()["error"] == "invalid_grant"
    approve(browser, user, started["user_code"])
    stolen = poll(server, other.client_id, started["device_code"])
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    assert "access_token" not in stolen.json()
    assert poll(server, application.client_id, started["device_code"]).status_code == 200


@pytest.mark.parametrize(
    ("device_code", "error"),
    [("not-a-code-we-issued", "invalid_grant"), ("x" * 5000, "invalid_grant"), ("", "invalid_request")],
)
def test_device_poll_unknown_or_missing_code_is_rfc6749_json_400(server, device_code, error):
    application = native_app()
    response = poll(server, application.client_id, device_code)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"] == error


def test_device_code_of_deactivated_app_stops_working(server, browser, user):
    application = native_app()
    approved = start(server, application).json()
    waiting = start(server, application).json()
    approve(browser, user, approved["user_code"])
    services.application_deactivate(actor=None, application=application)

    response = poll(server, application.client_id, approved["device_code"])
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    page = enter_code(browser, waiting["user_code"])
    assert page.status_code == 400
    assert "That code isn&#x27;t valid" in page.text


# --- the device authorization endpoint ----------------------------------------------------------
@pytest.mark.parametrize("app_type", ["web", "spa", "m2m"])
def test_device_authorization_non_native_app_is_unauthorized_client(server, app_type):
    application, secret = make_application(type=app_type)
    response = requests.post(
        server.url("/oauth/device"),
        data={"client_id": application.client_id},
        auth=(application.client_id, secret) if secret else None,
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    assert not DeviceGrant.objects.exists()


@pytest.mark.parametrize("scope", ["openid phone", "stream:live", "openid offline_access roles"])
def test_device_authorization_scope_not_allowed_is_invalid_scope(server, scope):
    application = native_app(scopes=("openid", "offline_access"))
    response = start(server, application, scope=scope)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_device_authorization_unknown_or_inactive_client_is_invalid_client(server):
    application = native_app(is_active=False)
    for client_id in (application.client_id, "no-such-client"):
        response = requests.post(server.url("/oauth/device"), data={"client_id": client_id}, timeout=10)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"


def test_device_authorization_bad_requests_are_invalid_request(server):
    application = native_app()
    missing = requests.post(server.url("/oauth/device"), data={"scope": "openid"}, timeout=10)
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    as_json = requests.post(server.url("/oauth/device"), json={"client_id": application.client_id}, timeout=10)
    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")
    with_charset = requests.post(
        server.url("/oauth/device"),
        data=urlencode({"client_id": application.client_id}),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
        timeout=10,
    )
    assert with_charset.status_code == 200
    assert requests.get(server.url("/oauth/device"), timeout=10).status_code == 405


# --- the /device page ---------------------------------------------------------------------------
def test_device_page_signed_out_redirects_to_login(server):
    response = requests.get(server.url("/device?user_code=BCDF-GHJK"), allow_redirects=False, timeout=10)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/device?user_code=BCDF-GHJK"]}


@pytest.mark.parametrize("typed", ["BCDF-GHJK", "hello", "", "ZZZZ-ZZZZ-ZZZZ"])
def test_device_page_wrong_code_shows_message(server, browser, user, typed):
    native_app()
    browser.sign_in(user.email)
    page = enter_code(browser, typed)
    assert page.status_code == 400
    assert 'data-testid="device-error"' in page.text
    assert "That code isn&#x27;t valid" in page.text
    assert 'data-testid="device-approve"' not in page.text


def test_device_page_expired_or_used_code_says_so(server, browser, user):
    application = native_app()
    expired = start(server, application).json()
    DeviceGrant.objects.filter(device_code=expired["device_code"]).update(expires=timezone.now())
    used = start(server, application).json()
    approve(browser, user, used["user_code"])
    assert "That code has expired" in enter_code(browser, expired["user_code"]).text
    assert "That code has already been used" in enter_code(browser, used["user_code"]).text


def test_device_page_user_without_required_role_sees_no_access_and_cannot_approve(server, browser):
    role = RoleFactory(name="tv:viewer")
    application = native_app(required_roles=[role])
    outsider = UserFactory(email="outsider@example.com")
    started = start(server, application).json()
    browser.sign_in(outsider.email)
    page = enter_code(browser, started["user_code"])
    assert page.status_code == 403
    assert 'data-testid="access-denied"' in page.text
    assert 'data-testid="device-approve"' not in page.text

    # Posting the decision directly is refused the same way.
    form = browser.get(server.url("/device"))
    forced = browser.session.post(
        server.url("/device/confirm"),
        data={"user_code": started["user_code"], "action": "approve", "csrfmiddlewaretoken": csrf_of(form)},
        allow_redirects=False,
        timeout=10,
    )
    assert forced.status_code == 403
    assert poll(server, application.client_id, started["device_code"]).json()["error"] == "authorization_pending"


def test_device_page_without_csrf_token_is_rejected(server, browser, user):
    application = native_app()
    started = start(server, application).json()
    browser.sign_in(user.email)
    for path, data in (
        ("/device", {"user_code": started["user_code"]}),
        ("/device/confirm", {"user_code": started["user_code"], "action": "approve"}),
    ):
        response = browser.session.post(server.url(path), data=data, allow_redirects=False, timeout=10)
        assert response.status_code == 403
    assert DeviceGrant.objects.get(device_code=started["device_code"]).status == DeviceGrant.AUTHORIZATION_PENDING


def test_device_confirm_twice_records_only_the_first_decision(server, browser, user):
    application = native_app()
    started = start(server, application).json()
    browser.sign_in(user.email)
    confirm = enter_code(browser, started["user_code"])
    assert decide(browser, confirm, "deny").status_code == 200
    second = decide(browser, confirm, "approve")
    assert second.status_code == 400
    assert "That code has already been used" in second.text
    assert poll(server, application.client_id, started["device_code"]).json()["error"] == "access_denied"


# --- query budgets ------------------------------------------------------------------------------


def _device_authorization(client, application, scope: str):
    return client.post(
        "/oauth/device",
        urlencode({"client_id": application.client_id, "scope": scope}),
        content_type="application/x-www-form-urlencoded",
    )


def _poll(client, application, device_code: str):
    return client.post(
        "/oauth/token",
        urlencode({"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": application.client_id}),
        content_type="application/x-www-form-urlencoded",
    )


def test_device_authorization_query_budget(client, django_assert_max_num_queries):
    application = native_app()
    with django_assert_max_num_queries(3):  # client, its scopes, the grant
        response = _device_authorization(client, application, "openid profile offline_access")
    assert response.status_code == 200, response.content


def test_device_pages_query_budget(client, django_assert_max_num_queries):
    application = native_app()
    user = UserFactory()
    started = _device_authorization(client, application, "openid profile").json()
    client.force_login(user)
    # 7 each: one of them reads the user's consent for the authorization decision (the new scopes marked).
    with django_assert_max_num_queries(7):
        page = client.post("/device", {"user_code": started["user_code"]})
    assert page.status_code == 200
    # +1: the approval's `user.signed_in` audit event; +3: its outbox event, and the savepoint that
    # makes the approval and its events one transaction.
    with django_assert_max_num_queries(11):
        done = client.post("/device/confirm", {"user_code": started["user_code"], "action": "approve"})
    assert done.status_code == 200


def test_device_token_poll_query_budget(client, django_assert_max_num_queries, warm_keys):
    application = native_app()
    user = UserFactory()
    started = _device_authorization(client, application, "openid profile offline_access").json()
    with django_assert_max_num_queries(5):  # BEGIN, client, grant, poll stamp, COMMIT
        pending = _poll(client, application, started["device_code"])
    assert pending.json()["error"] == "authorization_pending"
    client.force_login(user)
    client.post("/device/confirm", {"user_code": started["user_code"], "action": "approve"})
    rewind_last_poll(started["device_code"], 5)
    with django_assert_max_num_queries(13):  # 1 for the app's access rule (policies.access_allowed) at redemption
        tokens = _poll(client, application, started["device_code"])
    assert tokens.status_code == 200, tokens.content
    assert {"access_token", "refresh_token", "id_token"} <= set(tokens.json())


def test_device_code_polled_in_parallel_after_approval_issues_exactly_one_token_set(server, browser, user):
    application = native_app()
    started = start(server, application).json()
    approve(browser, user, started["user_code"])
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: poll(server, application.client_id, started["device_code"]), range(6)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [400] * 5, [response.text for response in responses]
    assert {r.json()["error"] for r in responses if r.status_code == 400} <= {"slow_down", "invalid_grant"}
    assert get_access_token_model().objects.filter(application=application).count() == 1


def test_device_poll_with_a_resource_the_client_may_not_use_is_invalid_target_and_keeps_the_approval(
    server, browser, user
):
    # RFC 8707 §2: refused before the approval is used up, so the device can poll again without it.
    application = native_app()
    started = start(server, application).json()
    approve(browser, user, started["user_code"])

    refused = requests.post(
        server.url("/oauth/token"),
        data={
            "grant_type": DEVICE_GRANT,
            "device_code": started["device_code"],
            "client_id": application.client_id,
            "resource": "https://attacker.example.com",
        },
        timeout=10,
    )

    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_target"
    assert not get_access_token_model().objects.exists()
    rewind_last_poll(started["device_code"], 60)
    assert poll(server, application.client_id, started["device_code"]).status_code == 200
