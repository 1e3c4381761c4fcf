"""decide(): the one authorization decision, case by case."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser

from applications.oauth.authorization import Decision, Outcome, decide
from consent.services import consent_grant
from tests.applications.factories import make_application
from tests.identity.factories import RoleFactory, UserFactory

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


def ask(user, application, *, scopes=("openid", "email"), prompt="", max_age=None, hint="none", auth_time=SIGNED_IN_AT):
    hint_subject = {"none": None, "self": getattr(user, "public_id", None), "other": uuid.uuid4()}[hint]
    return decide(
        user=user,
        session_auth_time=auth_time,
        application=application,
        scopes=list(scopes),
        prompt=prompt.split(),
        max_age=max_age,
        hint_subject=hint_subject,
        now=NOW,
    )


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
