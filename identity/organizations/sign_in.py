"""The current organisation of a sign-in (scope `organization`, issue 19): which one, what it grants,
what tokens say about it, and revoking what a removed member holds.

One place for these rules: the authorization decision (applications.oauth.authorization), the token
endpoint's code and refresh checks (applications.oauth.validator), the claims and introspection call
it. An organisation is named in tokens by its public id; the authorization request names it by
public id or slug (the `organization` parameter).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from applications.policies import organizations_admitted
from identity.organizations.constants import GRANTABLE_SCOPES, ORGANIZATION_SCOPE
from identity.organizations.models import Membership, Organization
from identity.organizations.selectors import membership_for, organization_scopes_granted, organizations_of


@dataclass(frozen=True)
class Choice:
    """What the authorization request gets: the current organisation, the ones to choose from, or a refusal."""

    organization: Organization | None = None
    choices: tuple[Organization, ...] = ()
    refusal: str = ""


NOT_A_MEMBER = "The organization parameter names no organisation the user is a member of."


def organization_choice(*, user, requested: str | None, application=None) -> Choice:
    """The current organisation for `user`: the one `requested` names (public id or slug) if the user is
    a member of it; otherwise their only organisation; with several, the choices (the picker). Only the
    organisations `application`'s organisation rule admits them in count (applications.policies).

    A user in no organisation gets no current organisation: their tokens carry no organisation claims.
    Unknown and not-a-member are refused alike, so the parameter cannot probe which organisations exist.
    """
    organizations = organizations_of(user) if application is None else organizations_admitted(user, application)
    if requested:
        named = _by_public_id_or_slug(organizations, requested)
        return Choice(organization=named) if named is not None else Choice(refusal=NOT_A_MEMBER)
    mine = list(organizations[:2])
    if len(mine) == 1:
        return Choice(organization=mine[0])
    if not mine:
        return Choice()
    return Choice(choices=tuple(organizations))


def _by_public_id_or_slug(organizations, value: str) -> Organization | None:
    try:
        public_id = uuid.UUID(value)
    except ValueError:
        return organizations.filter(slug=value).first()
    return organizations.filter(public_id=public_id).first()


def scopes_for(*, user, organization: Organization | None, scopes: list[str]) -> list[str]:
    """`scopes` without the organisation scopes (organization:read / :write) the user's roles in the current
    organisation do not grant; with no current organisation, without any of them."""
    asked = [scope for scope in scopes if scope in GRANTABLE_SCOPES]
    if not asked:
        return list(scopes)
    granted = organization_scopes_granted(membership_for(user, organization)) if organization is not None else set()
    return [scope for scope in scopes if scope not in GRANTABLE_SCOPES or scope in granted]


def still_admitted(*, user, application, organization_id: uuid.UUID | str | None) -> bool:
    """May a sign-in in this organisation (public id; None: none) still get tokens: is `user` still a member
    of it, and one `application`'s organisation rule admits? (A deleted organisation: no.)"""
    if organization_id is None:
        return True
    if application.organization_access is not None:
        return organizations_admitted(user, application).filter(public_id=organization_id).exists()
    return Membership.objects.filter(user=user, organization__public_id=organization_id).exists()


def organization_claims(*, user, organization_id: uuid.UUID | str | None, scopes) -> dict[str, Any]:
    """The ID token's and userinfo's claims for the current organisation (scope `organization`): its id, and
    the organisation with the person's roles in it. Nothing when not asked, or no longer a member."""
    if organization_id is None or ORGANIZATION_SCOPE not in scopes:
        return {}
    membership = (
        Membership.objects.select_related("organization")
        .prefetch_related("roles")
        .filter(user=user, organization__public_id=organization_id)
        .first()
    )
    if membership is None:
        return {}
    organization = membership.organization
    return {
        "organization_id": str(organization.public_id),
        "organization": {
            "id": str(organization.public_id),
            "slug": organization.slug,
            "name": organization.name,
            "roles": sorted(role.name for role in membership.roles.all()),
        },
    }


def member_tokens_revoke(*, user, organization: Organization, reason: str) -> None:
    """Revoke at once every token `user` holds as a member of `organization` (the membership already ended):
    each code's access token and refresh family (JWT access tokens through the not-before entry
    code_tokens_revoke writes), and their tokens at applications whose organisation rule now refuses them."""
    from applications.models import Grant
    from applications.services import code_tokens_revoke, organization_access_revoke

    grants = Grant.objects.select_related("application", "user").filter(
        user=user, organization_id=organization.public_id
    )
    for grant in grants:
        if grant.token_family or grant.access_token_id:
            code_tokens_revoke(grant=grant, application=grant.application, reason=reason)
    organization_access_revoke(user=user)


def token_organization_id(access_token) -> uuid.UUID | None:
    """The current organisation of the sign-in an access token row belongs to: its code's, or (issued by a
    refresh) its refresh family's code's. None for a token of no organisation."""
    if access_token is None or access_token.pk is None:
        return None
    from oauth2_provider.models import get_refresh_token_model

    from applications.models import Grant

    if access_token.source_refresh_token_id:
        source = access_token.source_refresh_token_id
        family = get_refresh_token_model().objects.filter(pk=source).values("token_family")
        grants = Grant.objects.filter(token_family__isnull=False, token_family__in=family)
    else:
        grants = Grant.objects.filter(access_token_id=access_token.pk)
    return grants.values_list("organization_id", flat=True).first()


def family_organization_id(token_family) -> uuid.UUID | None:
    """The current organisation of a refresh-token family: its code's."""
    if not token_family:
        return None
    from applications.models import Grant

    return Grant.objects.filter(token_family=token_family).values_list("organization_id", flat=True).first()


# --- the organisation's own sign-in (item 6) ----------------------------------------------------------


def _same_issuer(a: str, b: str) -> bool:
    return bool(a) and a.rstrip("/") == (b or "").rstrip("/")


def routed_domains_taken(organization: Organization) -> list[str]:
    """The organisation's sign-in domains another organisation already routes (each domain goes to one)."""
    mine = set(organization.sign_in_domains or [])
    if not mine:
        return []
    others = Organization.objects.exclude(sign_in_domains=[]).exclude(pk=organization.pk)
    return sorted(mine & {domain for other in others for domain in (other.sign_in_domains or [])})


def organization_for_email(email: str) -> Organization | None:
    """The organisation whose sign-in the address's domain is routed to, if any (a small table: read whole)."""
    domain = (email or "").rpartition("@")[2].strip().lower()
    if not domain:
        return None
    for organization in Organization.objects.exclude(sign_in_domains=[]).exclude(sign_in_issuer=""):
        if domain in (organization.sign_in_domains or []):
            return organization
    return None


def organization_provider(application, organization: Organization):
    """The application's enabled sign-in provider for the organisation's issuer (None: it offers none)."""
    if application is None or not organization.sign_in_issuer:
        return None
    from identity.federation.models import Provider
    from identity.federation.sign_in import enabled_providers

    for provider in enabled_providers(application):
        if provider.type == Provider.Type.OIDC and _same_issuer(provider.issuer, organization.sign_in_issuer):
            return provider
    return None


def sign_in_satisfies(organization: Organization | None, sign_in: dict | None) -> bool:
    """Did the session sign in the way the organisation requires: through an OpenID Connect provider with its
    issuer (any application's: single sign-on across the organisation's applications)? No requirement: yes."""
    if organization is None or not organization.sign_in_issuer:
        return True
    provider_id = (sign_in or {}).get("provider_id")
    if (sign_in or {}).get("method") != "provider" or not isinstance(provider_id, int):
        return False
    from identity.federation.models import Provider

    issuer = Provider.objects.filter(pk=provider_id, type=Provider.Type.OIDC).values_list("issuer", flat=True).first()
    return _same_issuer(issuer or "", organization.sign_in_issuer)


def sign_in_route(*, user, application, requested: str | None, email: str = ""):
    """The provider the sign-in page should send this person to for the organisation's own sign-in, if any:
    the organisation the authorization request names (or, signed in, their only admitted one), else the one
    the typed address's domain is routed to. None: the page's usual choices."""
    organization = None
    if requested or (user is not None and user.is_authenticated):
        if user is not None and user.is_authenticated:
            organization = organization_choice(user=user, requested=requested, application=application).organization
        elif requested:
            organization = _by_public_id_or_slug(Organization.objects.all(), requested)
    if organization is None and email:
        organization = organization_for_email(email)
    if organization is None:
        return None
    return organization_provider(application, organization)
