"""decide(): the one authorization decision, case by case."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser

from applications import policies
from applications.models import Application
from applications.oauth.authorization import Decision, Outcome, decide
from consent.services import consent_grant
from identity.federation.models import Provider
from tests.applications.factories import make_application
from tests.identity.factories import RoleFactory, UserFactory
from tests.identity.federation.factories import make_provider

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SIGNED_IN_AT = NOW - timedelta(minutes=10)
ERROR, SIGN_IN, NO_ACCESS, CONSENT, ISSUE = (
    Outcome.ERROR,
    Outcome.SIGN_IN,
    Outcome.NO_ACCESS,
    Outcome.CONSENT,
    Outcome.ISSUE,
)


PASSWORD_SESSION = {"method": "password", "provider_id": None}


def situation(
    *,
    signed_in: bool = True,
    active: bool = True,
    trusted: bool = False,
    consented: tuple[str, ...] = (),
    has_role: bool = True,
    role_required: bool = False,
):
    role = RoleFactory(name="streaming:subscriber") if role_required else None
    user = UserFactory(is_active=active)
    if role and has_role:
        user.roles.add(role)
    application = make_application(type="web", trusted=trusted, required_roles=[role] if role else [])[0]
    if consented:
        consent_grant(user=user, application=application, scopes=consented)
    return (user if signed_in else AnonymousUser()), application


def ask(
    user,
    application,
    *,
    scopes=("openid", "email"),
    prompt="",
    max_age=None,
    hint="none",
    auth_time=SIGNED_IN_AT,
    sign_in=PASSWORD_SESSION,
    **organization,
):
    hint_subject = {"none": None, "self": getattr(user, "public_id", None), "other": uuid.uuid4()}[hint]
    decision = decide(
        user=user,
        session_auth_time=auth_time,
        sign_in=sign_in,
        application=application,
        scopes=list(scopes),
        prompt=prompt.split(),
        max_age=max_age,
        hint_subject=hint_subject,
        now=NOW,
        **organization,
    )
    # The scopes granted (the request's, here: no organisation scopes) are checked in the organisation tests.
    return replace(decision, scopes=None) if decision.scopes == tuple(scopes) else decision


@pytest.mark.parametrize(
    ("setup", "request_", "expected"),
    [
        # sign-in
        ({"signed_in": False, "trusted": True}, {}, Decision(SIGN_IN)),
        ({"signed_in": False}, {"prompt": "none"}, Decision(ERROR, "login_required", "The user is not signed in.")),
        ({"active": False, "trusted": True}, {}, Decision(SIGN_IN)),
        ({"trusted": True}, {"prompt": "login"}, Decision(SIGN_IN)),
        ({"trusted": True}, {"max_age": 60}, Decision(SIGN_IN)),
        ({"trusted": True}, {"max_age": 600}, Decision(ISSUE)),
        ({"trusted": True}, {"max_age": 600, "auth_time": None}, Decision(SIGN_IN)),
        (
            {"trusted": True},
            {"max_age": 60, "prompt": "none"},
            Decision(ERROR, "login_required", "Sign-in is too old."),
        ),
        # id_token_hint
        ({"trusted": True}, {"hint": "self", "prompt": "none"}, Decision(ISSUE)),
        ({"trusted": True}, {"hint": "other"}, Decision(SIGN_IN)),
        (
            {"trusted": True},
            {"hint": "other", "prompt": "none"},
            Decision(ERROR, "login_required", "The signed-in user is not the one id_token_hint names."),
        ),
        (
            {"signed_in": False},
            {"hint": "other", "prompt": "none"},
            Decision(ERROR, "login_required", "The user is not signed in."),
        ),
        # access
        ({"trusted": True, "role_required": True, "has_role": False}, {}, Decision(NO_ACCESS)),
        (
            {"trusted": True, "role_required": True, "has_role": False},
            {"prompt": "none"},
            Decision(ERROR, "access_denied", "The user may not use this application."),
        ),
        ({"trusted": True, "role_required": True}, {}, Decision(ISSUE)),
        # consent
        ({}, {}, Decision(CONSENT, new_scopes=("openid", "email"))),
        ({"consented": ("openid",)}, {}, Decision(CONSENT, new_scopes=("email",))),
        ({"consented": ("openid", "email")}, {}, Decision(ISSUE)),
        ({"consented": ("openid", "email")}, {"prompt": "none"}, Decision(ISSUE)),
        ({"consented": ("openid", "email")}, {"prompt": "consent"}, Decision(CONSENT)),
        (
            {"consented": ("openid",)},
            {"prompt": "none"},
            Decision(ERROR, "consent_required", "The user has not consented."),
        ),
        ({"trusted": True}, {}, Decision(ISSUE)),
        ({"trusted": True}, {"prompt": "consent"}, Decision(CONSENT, new_scopes=("openid", "email"))),
        # the first that fails decides: sign-in before access before consent
        ({"signed_in": False, "role_required": True, "has_role": False}, {}, Decision(SIGN_IN)),
        ({"role_required": True, "has_role": False}, {"prompt": "consent"}, Decision(NO_ACCESS)),
    ],
)
def test_decide(setup, request_, expected):
    user, application = situation(**setup)
    assert ask(user, application, **request_) == expected


def test_decide_prompt_login_is_asked_even_with_a_fresh_session():
    user, application = situation(trusted=True)
    assert ask(user, application, prompt="login", auth_time=NOW).outcome is SIGN_IN


def test_decide_device_always_asks_and_marks_only_new_scopes():
    """The /device pages decide with prompt=consent: the user confirms every typed code."""
    user, application = situation(trusted=True, consented=("openid",))
    assert ask(user, application, prompt="consent") == Decision(CONSENT, new_scopes=("email",))


# --- sign-in methods (auth_methods) -----------------------------------------------------------------
NOT_ACCEPTED = "The user signed in with a method this application does not accept."


@pytest.fixture
def federation():
    """An app with its own GitHub and OIDC (issuer A) providers; another app with GitHub, Google, OIDC A and B."""
    user, application = situation(trusted=True)
    own = {"github": make_provider(application, type="github"), "oidc-a": make_provider(application, type="oidc")}
    elsewhere = make_application(type="web", name="Elsewhere")[0]
    other = {
        "github": make_provider(elsewhere, type="github"),
        "google": make_provider(elsewhere, type="google"),
        "oidc-a": make_provider(elsewhere, type="oidc"),
        "oidc-b": make_provider(elsewhere, type="oidc", issuer="https://other-idp.example.com"),
    }
    return user, application, own, other


def _session(own: dict, other: dict, name: str | None) -> dict | None:
    if name is None or name == "password":
        return None if name is None else PASSWORD_SESSION
    if name == "gone":
        return {"method": "provider", "provider_id": 999_999}
    if name == "bogus":
        return {"method": "magic-link", "provider_id": None}
    where, kind = name.split(":")
    return {"method": "provider", "provider_id": (own if where == "own" else other)[kind].pk}


@pytest.mark.parametrize(
    ("methods", "session", "prompt", "expected"),
    [
        # password sessions, and sessions from before methods were recorded (they count as password)
        ([], "password", "", Decision(ISSUE)),
        (["password"], "password", "none", Decision(ISSUE)),
        (["password"], None, "", Decision(ISSUE)),
        (["github"], "password", "", Decision(SIGN_IN)),
        (["github"], "password", "none", Decision(ERROR, "login_required", NOT_ACCEPTED)),
        (["github"], None, "none", Decision(ERROR, "login_required", NOT_ACCEPTED)),
        # this app's own provider
        (["github"], "own:github", "none", Decision(ISSUE)),
        ([], "own:github", "", Decision(ISSUE)),
        (["password"], "own:github", "", Decision(SIGN_IN)),
        (["oidc-a"], "own:github", "none", Decision(ERROR, "login_required", NOT_ACCEPTED)),
        # single sign-on from another app's provider of the same upstream (type; issuer for OIDC)
        (["github"], "other:github", "none", Decision(ISSUE)),
        ([], "other:github", "", Decision(ISSUE)),
        ([], "other:google", "", Decision(SIGN_IN)),
        ([], "other:oidc-a", "none", Decision(ISSUE)),
        ([], "other:oidc-b", "none", Decision(ERROR, "login_required", NOT_ACCEPTED)),
        (["github"], "other:oidc-a", "", Decision(SIGN_IN)),
        # a provider since deleted, an unknown method
        ([], "gone", "", Decision(SIGN_IN)),
        ([], "bogus", "none", Decision(ERROR, "login_required", NOT_ACCEPTED)),
    ],
)
def test_decide_sign_in_method(federation, methods, session, prompt, expected):
    user, application, own, other = federation
    Application.objects.filter(pk=application.pk).update(
        auth_methods=[m if m == "password" else str(own[m].pk) for m in methods]
    )
    application.refresh_from_db()
    assert ask(user, application, prompt=prompt, sign_in=_session(own, other, session)) == expected


def test_decide_sign_in_method_disabled_provider_is_not_accepted(federation):
    user, application, own, other = federation
    Provider.objects.filter(pk=own["github"].pk).update(enabled=False)
    assert ask(user, application, sign_in=_session(own, other, "own:github")) == Decision(SIGN_IN)
    assert ask(user, application, sign_in=_session(own, other, "other:github")) == Decision(SIGN_IN)


def test_decide_sign_in_method_costs_no_query_for_a_password_session(django_assert_num_queries):
    for methods in ([], ["password"]):
        application = Application(auth_methods=methods)
        with django_assert_num_queries(0):
            assert policies.sign_in_method_accepted(application, PASSWORD_SESSION)
            assert policies.sign_in_method_accepted(application, None)
