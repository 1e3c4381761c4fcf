"""The authorization decision: what a valid authorization request gets for the user in front of it.

One function for every path that lets a client act for a user: GET and POST /oauth/authorize
(single sign-on and `prompt=none` included) and the /device pages. Views parse and validate the
request, call `decide`, and translate its Decision into a response; the rules themselves live in
applications.policies (access) and consent.services (consent coverage).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from applications import policies
from applications.models import Application
from applications.oauth.claims import ACR_MFA
from consent.services import consent_new_scopes, consent_required
from identity.mfa.factors import second_factor_shown
from identity.organizations.constants import ORGANIZATION_SCOPE
from identity.organizations.sign_in import organization_choice, organization_provider, scopes_for, sign_in_satisfies

ORGANIZATION_PROVIDER_MISSING = (
    "The organisation signs in with its own identity provider, which this application does not offer."
)


class Outcome(enum.Enum):
    ISSUE = "issue"  # answer the client now (a code; the device approved)
    SIGN_IN = "sign_in"  # to the sign-in page, then back to the same request without `login` in prompt
    SECOND_FACTOR = "second_factor"  # show a second factor (or enrol one), then back to the same request
    ERROR = "error"  # an OAuth error at the redirect URI: prompt=none must not show a page
    NO_ACCESS = "no_access"  # the no-access page: the user may not use this application
    CONSENT = "consent"  # ask the user, the scopes not yet granted marked as new
    CHOOSE_ORGANIZATION = "choose_organization"  # the picker: the user is in several organisations


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    error: str = ""
    description: str = ""
    new_scopes: tuple[str, ...] = ()
    # ISSUE and CONSENT: the scopes to grant (the request's, without organisation scopes the user's
    # organisation roles do not grant; None: the request's) and the current organisation, if any.
    scopes: tuple[str, ...] | None = None
    organization: Any = None
    organizations: tuple = ()  # CHOOSE_ORGANIZATION: the ones to choose from


SIGN_IN = Decision(Outcome.SIGN_IN)
SECOND_FACTOR = Decision(Outcome.SECOND_FACTOR)
NO_ACCESS = Decision(Outcome.NO_ACCESS)


def decide(
    *,
    user,
    session_auth_time: datetime | None,
    sign_in: dict | None,
    application: Application,
    scopes: Sequence[str],
    prompt: Iterable[str],
    max_age: int | None,
    hint_subject: uuid.UUID | None,
    now: datetime,
    organization: str | None = None,
    with_organization: bool = True,
    acr_values: Sequence[str] = (),
) -> Decision:
    """Signed in, as the hinted user, recently enough, by a method the app accepts, allowed, consented:
    the first that fails decides.

    `sign_in` is how the session signed in (identity.auth_time.session_sign_in_method; None before
    methods were recorded, which counts as password). `hint_subject` is the `sub` of a verified
    id_token_hint (None without one); `prompt=none` turns every question for the user into an error
    (OIDC Core §3.1.2.6). With scope `organization` the sign-in has a current organisation
    (identity.organizations.sign_in): the one `organization` (the request's parameter) names, the user's
    only one, or the user's choice on the picker; `with_organization=False` (the device flow, which has
    no authorization code to carry one) leaves it out. An application that requires a second factor (or
    `acr_values` naming the multi-factor policy) steps up a sign-in that has shown only one.
    """
    prompt = set(prompt)
    silent = "none" in prompt
    if not (user is not None and user.is_authenticated and user.is_active):
        return _ask_or_fail(silent, SIGN_IN, "login_required", "The user is not signed in.")
    if hint_subject is not None and hint_subject != user.public_id:
        return _ask_or_fail(silent, SIGN_IN, "login_required", "The signed-in user is not the one id_token_hint names.")
    too_old = max_age is not None and (
        session_auth_time is None or now.timestamp() - session_auth_time.timestamp() > max_age
    )
    if "login" in prompt or too_old:
        return _ask_or_fail(silent, SIGN_IN, "login_required", "Sign-in is too old.")
    if not policies.sign_in_method_accepted(application, sign_in):
        return _ask_or_fail(
            silent, SIGN_IN, "login_required", "The user signed in with a method this application does not accept."
        )
    if (policies.second_factor_required(application) or ACR_MFA in acr_values) and not second_factor_shown(sign_in):
        return _ask_or_fail(silent, SECOND_FACTOR, "interaction_required", "The application requires a second factor.")
    if not policies.access_allowed(user, application):
        return _ask_or_fail(silent, NO_ACCESS, "access_denied", "The user may not use this application.")
    current = None
    if with_organization and ORGANIZATION_SCOPE in scopes:
        choice = organization_choice(user=user, requested=organization, application=application)
        if choice.refusal:
            return Decision(Outcome.ERROR, "access_denied", choice.refusal)
        if choice.choices:
            if silent:
                return Decision(Outcome.ERROR, "interaction_required", "The user must choose an organisation.")
            return Decision(Outcome.CHOOSE_ORGANIZATION, organizations=choice.choices)
        current = choice.organization
        if not sign_in_satisfies(current, sign_in):
            # The organisation signs in with its own identity provider (issue 19, item 6).
            if organization_provider(application, current) is None:
                return Decision(Outcome.ERROR, "access_denied", ORGANIZATION_PROVIDER_MISSING)
            return _ask_or_fail(silent, SIGN_IN, "login_required", "The organisation requires its own sign-in.")
    scopes = tuple(scopes_for(user=user, organization=current, scopes=list(scopes)))
    new_scopes = consent_new_scopes(user=user, application=application, scopes=scopes)
    if consent_required(user=user, application=application, scopes=scopes, prompt=prompt, new_scopes=new_scopes):
        if silent:
            return Decision(Outcome.ERROR, "consent_required", "The user has not consented.")
        return Decision(Outcome.CONSENT, new_scopes=tuple(new_scopes), scopes=scopes, organization=current)
    return Decision(Outcome.ISSUE, scopes=scopes, organization=current)


def _ask_or_fail(silent: bool, ask: Decision, error: str, description: str) -> Decision:
    return Decision(Outcome.ERROR, error, description) if silent else ask
