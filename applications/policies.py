"""The one place that decides what an Application may be and do.

Type rules (confidentiality, grants, PKCE, which URIs and origins), URI rules and lifetime
bounds are read from here by the model's clean(), the admin, the commands and, later, the
API and the protocol. Functions return errors keyed by field so every caller reports them
the same way.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

if TYPE_CHECKING:
    from applications.models import Application

FieldErrors = dict[str, list[str]]

GRANT_AUTHORIZATION_CODE = "authorization-code"
GRANT_CLIENT_CREDENTIALS = "client-credentials"
GRANT_DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
CLIENT_CONFIDENTIAL = "confidential"
CLIENT_PUBLIC = "public"

DEFAULT_ACCESS_TOKEN_TTL = 3600
ACCESS_TOKEN_TTL_MIN, ACCESS_TOKEN_TTL_MAX = 60, 86400
DEFAULT_ID_TOKEN_TTL = 3600
ID_TOKEN_TTL_MIN, ID_TOKEN_TTL_MAX = 60, 86400
DEFAULT_REFRESH_TOKEN_TTL = 2592000
REFRESH_TOKEN_TTL_MIN, REFRESH_TOKEN_TTL_MAX = 300, 31536000

MAX_GRACE_PERIOD_SECONDS = 7 * 24 * 3600
MAX_URI_LENGTH = 2000

# Sign-in methods an application can accept: "password" and the ids of its own sign-in providers
# (identity.federation Provider pk, as a string: "12"). An empty auth_methods means every method the
# app has enabled: password and its enabled providers.
AUTH_METHOD_PASSWORD = "password"
AUTH_METHODS = (AUTH_METHOD_PASSWORD,)
# Not a method but a requirement beside them: "mfa" listed means a second factor as well, whichever method
# signed the person in (identity.mfa); listed alone, every enabled method with a second factor.
AUTH_METHOD_MFA = "mfa"
# The names auth_methods may list besides provider ids.
AUTH_METHOD_NAMES = (AUTH_METHOD_PASSWORD, AUTH_METHOD_MFA)
PROVIDER_ID_PATTERN = re.compile(r"[1-9][0-9]{0,18}")

# Scopes that describe a signed-in user; meaningless for a machine-to-machine client.
USER_SCOPES = frozenset(
    {"openid", "profile", "email", "phone", "offline_access", "roles"}
    | {"organization", "organization:read", "organization:write"}  # identity.organizations.constants
)

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Schemes a native app may never register, even as "custom": they run code or reach
# something other than the app (RFC 8252 §7.1 asks for a private-use scheme).
FORBIDDEN_SCHEMES = frozenset(
    {
        "javascript",
        "data",
        "file",
        "vbscript",
        "about",
        "blob",
        "filesystem",
        "view-source",
        "ftp",
        "ws",
        "wss",
        "mailto",
        "tel",
        "sms",
        "chrome",
        "chrome-extension",
        "intent",
    }
)
SCHEME_PATTERN = re.compile(r"^[a-z][a-z0-9+.-]*$")


class ApplicationType(models.TextChoices):
    WEB = "web", "Web application"
    SPA = "spa", "Single-page application"
    NATIVE = "native", "Native (mobile, desktop, TV) application"
    M2M = "m2m", "Machine-to-machine"


@dataclass(frozen=True)
class TypeRule:
    description: str
    confidential: bool
    grants: frozenset[str]
    pkce_always: bool  # PKCE S256 on every authorization, whatever the app says
    pkce_optional: bool  # the app may opt in (web)
    redirect_uris: bool  # registers (and needs) redirect URIs
    custom_schemes: bool  # RFC 8252 private-use URI schemes
    cors_origins: str  # "required", "allowed" or "forbidden"
    # Fields an admin edits for this type, in form order (common fields come first).
    fields: tuple[str, ...]


_USER_FACING_FIELDS = (
    "redirect_uris",
    "post_logout_redirect_uris",
    "allowed_origins",
    "allowed_scopes",
    "access_token_ttl",
    "refresh_token_ttl",
    "id_token_ttl",
    "algorithm",
    "refresh_token_rotation",
    "auth_methods",
    "required_roles",
    "trusted",
)

TYPE_RULES: dict[ApplicationType, TypeRule] = {
    ApplicationType.WEB: TypeRule(
        description="A server-side web application that can keep a client secret. "
        "Authorization code flow, with PKCE if you opt in; refresh tokens.",
        confidential=True,
        grants=frozenset({GRANT_AUTHORIZATION_CODE}),
        pkce_always=False,
        pkce_optional=True,
        redirect_uris=True,
        custom_schemes=False,
        cors_origins="allowed",
        fields=_USER_FACING_FIELDS + ("pkce_required",),
    ),
    ApplicationType.SPA: TypeRule(
        description="A browser application with no secret. Authorization code + PKCE (S256); "
        "its browser origins must be listed for CORS.",
        confidential=False,
        grants=frozenset({GRANT_AUTHORIZATION_CODE}),
        pkce_always=True,
        pkce_optional=False,
        redirect_uris=True,
        custom_schemes=False,
        cors_origins="required",
        fields=_USER_FACING_FIELDS,
    ),
    ApplicationType.NATIVE: TypeRule(
        description="A mobile, desktop or TV application with no secret. Authorization code + "
        "PKCE (S256) with custom-scheme or loopback redirects (RFC 8252), or device code.",
        confidential=False,
        grants=frozenset({GRANT_AUTHORIZATION_CODE, GRANT_DEVICE_CODE}),
        pkce_always=True,
        pkce_optional=False,
        redirect_uris=True,
        custom_schemes=True,
        cors_origins="allowed",
        fields=_USER_FACING_FIELDS,
    ),
    ApplicationType.M2M: TypeRule(
        description="A backend service calling APIs as itself. Client credentials only, with a "
        "secret; its scopes come from its allowed scopes and its roles.",
        confidential=True,
        grants=frozenset({GRANT_CLIENT_CREDENTIALS}),
        pkce_always=False,
        pkce_optional=False,
        redirect_uris=False,
        custom_schemes=False,
        cors_origins="forbidden",
        fields=("allowed_scopes", "m2m_roles", "access_token_ttl"),
    ),
}


def default_auth_methods() -> list[str]:
    """Empty: every method the application has enabled (password and its enabled providers)."""
    return []


def rule_for(app_type: str) -> TypeRule:
    return TYPE_RULES[ApplicationType(app_type)]


def dot_client_fields(app_type: str) -> tuple[str, str]:
    """django-oauth-toolkit's (client_type, authorization_grant_type) for one of our types."""
    rule = rule_for(app_type)
    grant = GRANT_CLIENT_CREDENTIALS if app_type == ApplicationType.M2M else GRANT_AUTHORIZATION_CODE
    return (CLIENT_CONFIDENTIAL if rule.confidential else CLIENT_PUBLIC), grant


def pkce_required(application: Application) -> bool:
    rule = application.rule
    return rule.pkce_always or (rule.pkce_optional and application.pkce_required)


# RFC 7636 §4.1 and §4.2: a code_verifier, and the code_challenge sent at authorize, are 43 to 128
# unreserved characters.
PKCE_VALUE = re.compile(r"[A-Za-z0-9._~-]{43,128}")


def code_verifier_error(verifier: str) -> str | None:
    """A `code_verifier` outside RFC 7636 §4.1's syntax is a malformed request, whatever it hashes to."""
    if PKCE_VALUE.fullmatch(verifier):
        return None
    return "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)."


def is_loopback_host(host: str | None) -> bool:
    return (host or "").lower() in LOOPBACK_HOSTS


def split_uris(value: str | Iterable[str] | None) -> list[str]:
    """Accepts a list or django-oauth-toolkit's whitespace-separated text."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return [item.strip() for item in value if item and item.strip()]


def join_uris(value: str | Iterable[str] | None) -> str:
    """The stored form: one URI per line, which django-oauth-toolkit reads with str.split()."""
    return "\n".join(split_uris(value))


def _parse(uri: str) -> tuple[object | None, str | None]:
    if not uri:
        return None, "is empty."
    if len(uri) > MAX_URI_LENGTH:
        return None, f"is longer than {MAX_URI_LENGTH} characters."
    if any(ch.isspace() for ch in uri):
        return None, "contains whitespace."
    if "*" in uri:
        return None, "contains a wildcard; register every URI exactly."
    if "#" in uri:
        return None, "has a fragment (#...), which RFC 6749 §3.1.2 forbids."
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        return None, "is not a valid URI."
    if not parts.scheme:
        return None, "is not an absolute URI (it needs a scheme such as https://)."
    if "@" in parts.netloc:
        return None, "carries credentials (user@host), which are not allowed."
    return parts, None


def redirect_uri_error(uri: str, app_type: str) -> str | None:
    """Why `uri` cannot be registered as a redirect or post-logout URI, or None."""
    rule = rule_for(app_type)
    parts, problem = _parse(uri)
    if problem:
        return f"{uri!r} {problem}" if uri else f"A URI {problem}"
    scheme = parts.scheme.lower()
    if scheme == "https":
        if not parts.hostname:
            return f"{uri!r} has no host."
        return None
    if scheme == "http":
        if not parts.hostname:
            return f"{uri!r} has no host."
        if is_loopback_host(parts.hostname):
            return None
        return f"{uri!r} uses http, which is only allowed for loopback (localhost, 127.0.0.1, [::1]); use https."
    if not rule.custom_schemes:
        return f"{uri!r} uses the custom scheme {scheme!r}; custom schemes are only for native apps."
    if not SCHEME_PATTERN.match(scheme) or scheme in FORBIDDEN_SCHEMES:
        return f"{uri!r} uses the scheme {scheme!r}, which cannot be a redirect URI."
    if not (parts.netloc or parts.path.strip("/")):
        return f"{uri!r} has nothing after the scheme; use e.g. com.example.app:/callback."
    return None


def cors_origin_error(origin: str) -> str | None:
    parts, problem = _parse(origin)
    if problem:
        return f"{origin!r} {problem}" if origin else f"An origin {problem}"
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        return f"{origin!r} is not a web origin (https://host[:port])."
    if scheme == "http" and not is_loopback_host(parts.hostname):
        return f"{origin!r} uses http, which is only allowed for loopback; use https."
    if parts.path or parts.query:
        return f"{origin!r} is not an origin: remove the path (an origin is scheme://host[:port])."
    return None


def _list_errors(values: list[str], check) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for value in values:
        if value in seen:
            problems.append(f"{value!r} is listed twice.")
            continue
        seen.add(value)
        problem = check(value)
        if problem:
            problems.append(problem)
    return problems


def application_errors(app: Application) -> FieldErrors:
    """Rules on one Application row (its own columns), keyed by field."""
    from applications.models import Application as ApplicationModel
    from applications.models import SigningAlgorithm

    errors: FieldErrors = defaultdict(list)
    name = (app.name or "").strip()
    if not name:
        errors["name"].append("An application needs a name.")
    elif ApplicationModel.objects.filter(name__iexact=name).exclude(pk=app.pk).exists():
        errors["name"].append("An application with this name already exists.")
    if app.type not in ApplicationType.values:
        errors["type"].append(f"Choose one of: {', '.join(ApplicationType.values)}.")
        return dict(errors)
    rule = rule_for(app.type)
    label = ApplicationType(app.type).label

    redirect_uris = split_uris(app.redirect_uris)
    post_logout_uris = split_uris(app.post_logout_redirect_uris)
    origins = split_uris(app.allowed_origins)
    if rule.redirect_uris:
        if not redirect_uris:
            errors["redirect_uris"].append(f"A {label.lower()} needs at least one redirect URI.")
        errors["redirect_uris"] += _list_errors(redirect_uris, lambda u: redirect_uri_error(u, app.type))
        errors["post_logout_redirect_uris"] += _list_errors(post_logout_uris, lambda u: redirect_uri_error(u, app.type))
    else:
        if redirect_uris:
            errors["redirect_uris"].append(f"A {label.lower()} has no redirect URIs; remove them.")
        if post_logout_uris:
            errors["post_logout_redirect_uris"].append(f"A {label.lower()} has no sign-out redirect URIs; remove them.")

    if rule.cors_origins == "forbidden" and origins:
        errors["allowed_origins"].append(f"A {label.lower()} makes no browser calls; remove the CORS origins.")
    else:
        if rule.cors_origins == "required" and not origins:
            errors["allowed_origins"].append(
                f"A {label.lower()} calls the token endpoint from the browser: list its origins "
                "(e.g. https://app.example.com)."
            )
        errors["allowed_origins"] += _list_errors(origins, cors_origin_error)

    if app.pkce_required and not rule.pkce_optional and not rule.pkce_always:
        errors["pkce_required"].append(f"PKCE does not apply to a {label.lower()}.")

    # The ID token signing algorithm: blank (the deployment's) or one we keep keys for. Never HS256,
    # which signs with the client secret (stored only as a hash here).
    if app.algorithm and app.type == ApplicationType.M2M:
        errors["algorithm"].append("A machine-to-machine app gets no ID tokens; leave its signing algorithm blank.")
    elif app.algorithm and app.algorithm not in SigningAlgorithm.values:
        errors["algorithm"].append(
            f"{app.algorithm!r} is not an ID token signing algorithm Latchkey offers; choose "
            f"{' or '.join(SigningAlgorithm.values)}, or leave it blank for the deployment's "
            "LATCHKEY_SIGNING_ALGORITHM."
        )

    methods = app.auth_methods
    if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
        errors["auth_methods"].append("Give a list of sign-in method names.")
    else:
        unknown = [m for m in methods if m not in AUTH_METHOD_NAMES and not PROVIDER_ID_PATTERN.fullmatch(m)]
        if unknown:
            errors["auth_methods"].append(
                f"Unknown sign-in method(s): {', '.join(unknown)}. Give {AUTH_METHOD_PASSWORD!r}, the "
                "provider_id of one of this application's sign-in providers, or "
                f"{AUTH_METHOD_MFA!r} to require a second factor too; leave empty for every enabled method."
            )
        if len(set(methods)) != len(methods):
            errors["auth_methods"].append("A sign-in method is listed twice.")
        if not rule.redirect_uris and methods:
            errors["auth_methods"].append(
                f"A {label.lower()} has no users to sign in; leave its sign-in methods empty."
            )

    errors["organization_access"] += organization_access_errors(app.organization_access, app.type)

    for field, low, high in (
        ("access_token_ttl", ACCESS_TOKEN_TTL_MIN, ACCESS_TOKEN_TTL_MAX),
        ("id_token_ttl", ID_TOKEN_TTL_MIN, ID_TOKEN_TTL_MAX),
        ("refresh_token_ttl", REFRESH_TOKEN_TTL_MIN, REFRESH_TOKEN_TTL_MAX),
    ):
        value = getattr(app, field)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors[field].append(f"Give a whole number of seconds from {low} to {high}.")
    return {field: problems for field, problems in errors.items() if problems}


def application_relation_errors(
    *,
    app_type: str,
    allowed_scopes: Iterable = (),
    required_roles: Iterable = (),
    m2m_roles: Iterable = (),
    auth_methods: object = (),
    provider_ids: Iterable[int] = (),
) -> FieldErrors:
    """Rules on an Application's many-to-many choices and other rows, which exist only beside the row.

    `provider_ids` are the pks of this application's own sign-in providers (none for a new one): the
    provider ids in `auth_methods` must name one of them.
    """
    errors: FieldErrors = {}
    if app_type not in ApplicationType.values:
        return errors
    if isinstance(auth_methods, list) and all(isinstance(m, str) for m in auth_methods):
        own = {str(pk) for pk in provider_ids}
        foreign = [m for m in auth_methods if PROVIDER_ID_PATTERN.fullmatch(m) and m not in own]
        if foreign:
            errors["auth_methods"] = [
                f"Not a sign-in provider of this application: {', '.join(foreign)}. List its providers' provider_id."
            ]
    if app_type == ApplicationType.M2M:
        allowed_scopes, m2m_roles = list(allowed_scopes), list(m2m_roles)
        user_scopes = sorted(s.name for s in allowed_scopes if s.name in USER_SCOPES)
        if user_scopes:
            errors["allowed_scopes"] = [
                f"{', '.join(user_scopes)}: user scopes mean nothing to a machine-to-machine app, which has no user."
            ]
        elif not allowed_scopes and not any(role.scopes.exists() for role in m2m_roles):
            # Its tokens carry its allowed scopes and its roles' scopes: with none they would say `"scope": ""`.
            errors["allowed_scopes"] = [
                "A machine-to-machine app needs at least one scope: allow one, or give it a role that has scopes."
            ]
        if list(required_roles):
            errors["required_roles"] = ["Access control applies to users; a machine-to-machine app has none."]
    else:
        if list(m2m_roles):
            errors["m2m_roles"] = ["Only machine-to-machine apps hold roles."]
        management = sorted(s.name for s in allowed_scopes if s.name in MANAGEMENT_SCOPES)
        if management:
            errors["allowed_scopes"] = [
                f"{', '.join(management)}: management scopes are only for machine-to-machine apps."
            ]
    return errors


CLIENT_ID_PATTERN = re.compile(r"[\x21-\x7e]+")


def client_id_error(client_id: str) -> str | None:
    """A client_id given from outside (config import): visible ASCII, no spaces (RFC 6749 Appendix A.1).

    Generated ones always pass; the model's own checks (length, uniqueness) still apply.
    """
    if client_id and not CLIENT_ID_PATTERN.fullmatch(client_id):
        return "A client_id uses visible ASCII characters only (no spaces)."
    return None


def api_resource_errors(
    *,
    identifier: str,
    access_token_format: str = "opaque",  # noqa: S107 (a token format, not a secret)
    access_token_ttl: object = None,
    signing_alg: str = "ES256",
    introspecting_client: Application | None = None,
) -> FieldErrors:
    from applications.models import AccessTokenFormat, SigningAlgorithm

    errors: FieldErrors = {}
    parts, problem = _parse(identifier or "")
    if problem:
        errors["identifier"] = [f"The identifier {problem}"]
    elif not parts.netloc and parts.scheme in ("http", "https"):
        errors["identifier"] = ["The identifier has no host."]
    if access_token_format not in AccessTokenFormat.values:
        errors["access_token_format"] = [f"Choose {' or '.join(AccessTokenFormat.values)}."]
    if access_token_ttl is not None and (
        not isinstance(access_token_ttl, int)
        or isinstance(access_token_ttl, bool)
        or not ACCESS_TOKEN_TTL_MIN <= access_token_ttl <= ACCESS_TOKEN_TTL_MAX
    ):
        errors["access_token_ttl"] = [
            f"Give a whole number of seconds from {ACCESS_TOKEN_TTL_MIN} to {ACCESS_TOKEN_TTL_MAX}, or none."
        ]
    if signing_alg not in SigningAlgorithm.values:
        errors["signing_alg"] = [f"Choose {' or '.join(SigningAlgorithm.values)} (never HS256)."]
    if introspecting_client is not None and not introspecting_client.is_confidential:
        errors["introspecting_client"] = ["Only a confidential client (web or m2m) can introspect: it needs a secret."]
    return errors


def grace_period_error(seconds: object) -> str | None:
    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 0 <= seconds <= MAX_GRACE_PERIOD_SECONDS:
        return f"Give a grace period from 0 to {MAX_GRACE_PERIOD_SECONDS} seconds (7 days)."
    return None


def raise_errors(errors: FieldErrors) -> None:
    if errors:
        raise ValidationError({field: [ValidationError(m) for m in msgs] for field, msgs in errors.items()})


def allowed_redirect_schemes(application: Application) -> list[str]:
    """Schemes a redirect to this app may use: https/http plus a native app's registered ones."""
    schemes = ["https", "http"]
    if application.rule.custom_schemes:
        for uri in application.redirect_uri_list + application.post_logout_redirect_uri_list:
            scheme = uri.split(":", 1)[0].lower()
            if scheme not in schemes:
                schemes.append(scheme)
    return schemes


def default_id_token_algorithm() -> str:
    """The deployment's LATCHKEY_SIGNING_ALGORITHM: what signs the ID tokens of applications that choose none."""
    return settings.LATCHKEY_SIGNING_ALGORITHM


def id_token_algorithm(application: Application) -> str:
    """The algorithm that signs this application's ID tokens: its own choice, else the deployment's."""
    return application.algorithm or default_id_token_algorithm()


def token_lifetime(application: Application, kind: str, *, resource_ttl: int | None = None) -> int:
    """Seconds a token of `kind` ("access", "refresh" or "id") lives for this application.

    An access token for API resources lives no longer than the shortest `access_token_ttl` they set
    (`resource_ttl`): an API that others verify locally chooses how long a stolen token stays good.
    """
    seconds = {
        "access": application.access_token_ttl,
        "refresh": application.refresh_token_ttl,
        "id": application.id_token_ttl,
    }[kind]
    if kind == "access" and resource_ttl:
        return min(seconds, resource_ttl)
    return seconds


def refresh_token_expires_at(application: Application, created: datetime) -> datetime:
    """When a refresh token issued at `created` stops refreshing: the one expiry rule that the
    validator, introspection and `cleartokens` (through `refresh_token_expired_q`) apply."""
    return created + timedelta(seconds=token_lifetime(application, "refresh"))


def refresh_token_expired_q(now: datetime) -> models.Q:
    """`refresh_token_expires_at(app, created) <= now` as a filter on the refresh-token table.

    The lifetime (`token_lifetime(app, "refresh")`, the app's `refresh_token_ttl`) differs per
    application, so the rule is stated once per distinct lifetime: `created + ttl <= now` is
    `created <= now - ttl`. tests/applications/test_policies.py checks both agree at the boundary.
    """
    from applications.models import Application

    condition = models.Q(pk__in=[])
    for ttl in Application.objects.order_by().values_list("refresh_token_ttl", flat=True).distinct():
        condition |= models.Q(application__refresh_token_ttl=ttl, created__lte=now - timedelta(seconds=ttl))
    return condition


def access_token_expires_in(request) -> int:
    """oauthlib's `token_expires_in` hook (EXTRA_SERVER_KWARGS): the client's own access-token TTL,
    capped by the token's API resources (asked first, before the token's value is made)."""
    from applications.oauth.access_tokens import audience_for

    return token_lifetime(request.client, "access", resource_ttl=audience_for(request).ttl)


def access_allowed(user, application: Application, *, user_role_names: set[str] | None = None) -> bool:
    """Access control: the user holds every role the application requires, and is a member of an
    organisation its organisation rule admits (when it has one).

    Checked at authorization and again at every issuance (code, refresh, device code), so a user
    who loses a role or a membership stops getting tokens. Without `user_role_names`, one query: is
    there a required role the user does not hold? One more for an application with an organisation rule.
    """
    if not getattr(user, "is_active", False):
        return False
    if user_role_names is not None:
        allowed = {role.name for role in application.required_roles.all()} <= user_role_names
    else:
        allowed = not application.required_roles.exclude(pk__in=user.roles.values("pk")).exists()
    if allowed and application.organization_access is not None:
        return organizations_admitted(user, application).exists()
    return allowed


ORGANIZATION_ACCESS_KEYS = ("organizations", "roles")


def organizations_admitted(user, application: Application):
    """The user's organisations in which the application's organisation rule admits them (all of them when
    it has none): among the organisations it lists (any when none), where they hold one of its roles
    (any membership when none). A slug or role name that no longer exists admits nobody through it."""
    from identity.organizations.models import Organization

    organizations = Organization.objects.filter(memberships__user=user)
    rule = application.organization_access
    if not isinstance(rule, dict):
        return organizations.order_by("name", "pk").distinct() if rule is None else organizations.none()
    if rule.get("organizations"):
        organizations = organizations.filter(slug__in=rule["organizations"])
    if rule.get("roles"):
        organizations = organizations.filter(memberships__user=user, memberships__roles__name__in=rule["roles"])
    return organizations.order_by("name", "pk").distinct()


def organization_access_errors(rule: object, app_type: str) -> list[str]:
    """What is wrong with an organisation rule (null, or {"organizations": [slugs], "roles": [names]})."""
    if rule is None:
        return []
    if app_type == ApplicationType.M2M:
        return ["Access by organisation applies to users; a machine-to-machine app has none."]
    if not isinstance(rule, dict) or set(rule) - set(ORGANIZATION_ACCESS_KEYS):
        return ['Give null, or {"organizations": [slugs], "roles": [organisation role names]}.']
    problems = []
    for key in ORGANIZATION_ACCESS_KEYS:
        values = rule.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            problems.append(f"{key}: give a list of names.")
    if problems:
        return problems
    from identity.organizations.models import Organization, OrganizationRole

    slugs, names = set(rule.get("organizations", [])), set(rule.get("roles", []))
    if unknown := sorted(slugs - set(Organization.objects.filter(slug__in=slugs).values_list("slug", flat=True))):
        problems.append(f"No organisation with the slug {', '.join(unknown)}.")
    if unknown := sorted(names - set(OrganizationRole.objects.filter(name__in=names).values_list("name", flat=True))):
        problems.append(f"No organisation role named {', '.join(unknown)}.")
    return problems


# Seconds after a code's redemption or a refresh token's rotation during which presenting it again
# is a concurrent request that lost the race, not a replay (README, "Rules a client meets").
LOST_RACE_SECONDS = 10


def lost_race(used_at: datetime, *, now: datetime) -> bool:
    """Is a second presentation of a code redeemed, or a refresh token rotated, at `used_at` a lost race?

    Parallel requests with one grant (a client retrying, two tabs refreshing) reach the database
    one after another: the first wins, and those that read the row after it committed find it used.
    Within LOST_RACE_SECONDS they get `invalid_grant` and revoke nothing, so the winner's tokens
    stay valid; later, a presentation is a replay and revokes what the first use issued
    (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
    """
    return now - used_at < timedelta(seconds=LOST_RACE_SECONDS)


def resource_error(application: Application, resources: Iterable[str], *, terms: list | None = None) -> str | None:
    """Why a client may not have these RFC 8707 resource indicators as its token's audience, or None.

    Each must be a registered API resource one of whose scopes the client may be granted (its
    allowed scopes, and for an m2m app its roles' scopes: what bounds its client-credentials
    tokens). Anything else is `invalid_target` (RFC 8707 §2), on every grant and at authorize:
    the token's `aud` is a promise to a resource server, never the client's free choice. An
    unregistered resource and one not the client's get the same answer, so neither is probed.
    Resources whose tokens differ in format (opaque, JWT) or JWT signing algorithm cannot share one
    token. `terms` are the client's selectors.usable_scope_terms when the caller has read them already.
    """
    wanted = list(dict.fromkeys(resources))
    if not wanted:
        return None
    from applications.selectors import usable_scope_terms

    terms = usable_scope_terms(application) if terms is None else terms
    given = {t.resource: t for t in terms if t.resource in wanted}
    if refused := next((resource for resource in wanted if resource not in given), None):
        return f"The resource '{refused}' is not an API resource this client may use."
    if len({t.access_token_format for t in given.values()}) > 1:
        # One token, one format: a JWT for one API and an opaque value for another cannot be the same string.
        return "These resources issue access tokens of different formats (opaque and JWT); ask for one at a time."
    if len({t.signing_alg for t in given.values() if t.access_token_format == "jwt"}) > 1:
        # One JWT has one signature: an API that expects ES256 must not be handed an RS256 token, or the reverse.
        return "These resources sign their access tokens with different algorithms; ask for one at a time."
    return None


def redirect_uri_required(scopes: Iterable[str]) -> bool:
    """OpenID Connect requests must name their redirect_uri (OIDC Core §3.1.2.1); plain OAuth 2.0
    ones may leave it out when the client registered exactly one (RFC 6749 §3.1.2.3)."""
    return "openid" in scopes


def redirect_uri_matches(application: Application, uri: str, registered: list[str]) -> bool:
    """Exact string match; only a native app's loopback IP URIs may differ in port (RFC 8252 §7.3)."""
    if uri in registered:
        return True
    if not application.rule.custom_schemes:  # native apps only
        return False
    try:
        asked = urlsplit(uri)
        asked.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        return False
    if asked.scheme != "http" or asked.hostname not in ("127.0.0.1", "::1") or "@" in asked.netloc or "#" in uri:
        return False
    for candidate in registered:
        known = urlsplit(candidate)
        if (known.scheme, known.hostname, known.path, known.query) == (
            asked.scheme,
            asked.hostname,
            asked.path,
            asked.query,
        ):
            return True
    return False


def auth_methods_listed(application: Application) -> list[str] | None:
    """The app's explicit list of accepted methods, or None when it accepts every enabled method (empty).

    A stored value of the wrong shape (not a list of strings) accepts nothing rather than everything.
    """
    methods = application.auth_methods
    if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
        return []
    return [m for m in methods if m != AUTH_METHOD_MFA] or None


def second_factor_required(application: Application) -> bool:
    """Does every sign-in to this application need a second factor (it lists "mfa" in auth_methods)?"""
    methods = application.auth_methods
    return isinstance(methods, list) and AUTH_METHOD_MFA in methods


def sign_in_methods(application: Application | None) -> list[str]:
    """The sign-in methods an application accepts: "password" first, then its providers' ids (strings).

    Without an app (a sign-in page reached directly): password. Empty auth_methods: password and every
    enabled provider of the app. Otherwise the listed ones that still exist and are enabled, so an app can
    end up with none; the page then says so instead of falling back to a method the app never allowed.
    """
    if application is None:
        return list(AUTH_METHODS)
    password = [AUTH_METHOD_PASSWORD] if password_sign_in_allowed(application) else []
    return password + [str(pk) for pk in _enabled_provider_ids(application) if provider_accepted(application, pk)]


def provider_accepted(application: Application, provider_id: int) -> bool:
    """Without a query: does the app accept its provider `provider_id` (listed, or the app lists nothing)?"""
    listed = auth_methods_listed(application)
    return listed is None or str(provider_id) in listed


def password_sign_in_allowed(application: Application | None) -> bool:
    """Without a query: password is allowed when listed, or when the app lists nothing (every method)."""
    if application is None:
        return True
    listed = auth_methods_listed(application)
    return listed is None or AUTH_METHOD_PASSWORD in listed


def sign_in_method_accepted(application: Application, sign_in: dict | None) -> bool:
    """Does the application accept a session that signed in this way (identity.auth_time's record)?

    A session with no record (signed in before methods were recorded) counts as a password one. A
    provider session is accepted when the app accepts that very provider, or an enabled provider of
    the same upstream (same type; for generic OpenID Connect, the same issuer): single sign-on across
    applications that each hold their own credentials at the same identity provider. Reads providers
    only for a provider session.
    """
    method = (sign_in or {}).get("method") or AUTH_METHOD_PASSWORD
    if method in (AUTH_METHOD_PASSWORD, "passkey"):
        # A passkey is a credential of the Latchkey account, like its password (identity.mfa.factors).
        return password_sign_in_allowed(application)
    provider_id = (sign_in or {}).get("provider_id")
    if method != "provider" or not isinstance(provider_id, int) or isinstance(provider_id, bool):
        return False
    from identity.federation.models import Provider  # applications must import without identity's models

    upstream = Provider.objects.filter(pk=provider_id).values("type", "issuer").first()
    if upstream is None:
        return False
    accepted = Provider.objects.filter(application=application, enabled=True, type=upstream["type"])
    if upstream["type"] == Provider.Type.OIDC:
        accepted = accepted.filter(issuer=upstream["issuer"])
    listed = auth_methods_listed(application)
    if listed is not None:
        accepted = accepted.filter(pk__in=[int(m) for m in listed if PROVIDER_ID_PATTERN.fullmatch(m)])
    return accepted.exists()


def _enabled_provider_ids(application: Application) -> list[int]:
    if application.pk is None:
        return []
    return list(application.providers.filter(enabled=True).order_by("type", "pk").values_list("pk", flat=True))


MANAGEMENT_READ = "management:read"
MANAGEMENT_WRITE = "management:write"
MANAGEMENT_SCOPES = frozenset({MANAGEMENT_READ, MANAGEMENT_WRITE})
