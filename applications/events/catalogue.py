"""The event catalogue: every event type Latchkey records, what it means and what its payload holds.

The one list of types: services may only record these (applications.events.services.event_record
checks the payload's keys against it), webhooks may only subscribe to these, and the API docs
(docs/events.md and the OpenAPI description) are written from it. Payloads carry ids, never a
profile, a secret or a token. `application` says whether the event belongs to an application (it is
then sent to that application's webhooks and to deployment-wide ones) or to the deployment only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    # Payload keys: always present (required) and sometimes present (optional).
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    application: bool = True


EVENT_TYPES: dict[str, EventType] = {
    t.name: t
    for t in (
        EventType(
            "user.signed_in",
            "A user signed in to the application: an authorization code or a device grant was issued to it "
            "(single sign-on included).",
            required=("user_id", "client_id", "method"),
            optional=("provider_id",),
        ),
        EventType(
            "user.registered",
            "A person created their own account on the sign-in pages.",
            required=("user_id",),
            optional=("client_id",),
            application=False,
        ),
        EventType(
            "consent.granted",
            "A user granted the application scopes on the consent page (scopes: every scope now granted).",
            required=("user_id", "client_id", "scopes"),
        ),
        EventType(
            "consent.revoked",
            "A user's consent to the application was revoked (by the user, an admin or the API); its tokens "
            "went with it.",
            required=("user_id", "client_id"),
        ),
        EventType(
            "tokens.revoked",
            "Tokens of a user for the application were revoked, once per user and application: a refresh "
            "token family or all of them. reason: refresh_token_replayed, code_replayed (an authorization code "
            "used twice), revoked_by_client (/oauth/revoke), signed_out (RP-initiated logout), consent_revoked, "
            "access_removed (a role the application requires was taken away), user_deactivated, "
            "organization_member_removed or organization_deleted (tokens held as a member of it).",
            required=("user_id", "client_id", "reason"),
        ),
        EventType("user.created", "An admin or the API created a user.", required=("user_id",), application=False),
        EventType(
            "user.updated",
            "A user's profile, roles, password or status changed (fields: the names of what changed, e.g. "
            "email, roles, password, is_active; never the values).",
            required=("user_id", "fields"),
            application=False,
        ),
        EventType(
            "user.deactivated",
            "A user was deactivated; their tokens were revoked.",
            required=("user_id",),
            application=False,
        ),
        EventType("user.deleted", "A user was deleted.", required=("user_id",), application=False),
        EventType(
            "user.sign_in_locked",
            "Repeated failed password sign-ins locked a user's account for one address until `until` (an ISO "
            "8601 time); the account stays open from elsewhere. Sent once per lockout, never for an address that "
            "has no account.",
            required=("user_id", "until"),
            application=False,
        ),
        EventType(
            "user.second_factor_added",
            "A user set up a second factor on their account page (factor: totp, passkey or recovery_codes; new "
            "recovery codes count as added).",
            required=("user_id", "factor"),
            application=False,
        ),
        EventType(
            "user.second_factor_removed",
            "A user removed a second factor (factor: totp, passkey or recovery_codes; recovery codes go with the "
            "last other factor).",
            required=("user_id", "factor"),
            application=False,
        ),
        EventType(
            "user.second_factors_reset",
            "An admin removed every second factor of a user (factors: the kinds removed); the user signs in with "
            "a password alone until they set up a new one.",
            required=("user_id", "factors"),
            application=False,
        ),
        EventType(
            "application.secret_rotated",
            "The application's client secret was rotated (previous_secret_expires_at: when the old one stops "
            "working, or null when it stopped at once).",
            required=("client_id", "previous_secret_expires_at"),
        ),
        EventType(
            "application.updated",
            "The application's settings changed (fields: the names of what changed; is_active when it was "
            "deactivated).",
            required=("client_id", "fields"),
        ),
        EventType(
            "application.deleted",
            "The application was deleted and its tokens revoked. Its own webhooks are deleted with it, so this "
            "event reaches deployment-wide webhooks only.",
            required=("client_id",),
        ),
        EventType(
            "identity.linked",
            "A user connected an account at another identity provider (signing in with it, or on the account page).",
            required=("user_id", "provider"),
            optional=("provider_id", "client_id"),
            application=False,
        ),
        EventType(
            "identity.unlinked",
            "A user's connected account at another identity provider was removed (provider: its type).",
            required=("user_id", "provider"),
            optional=("provider_id",),
            application=False,
        ),
        EventType(
            "organization.created",
            "An organisation was created (organization_id: its public id).",
            required=("organization_id",),
            application=False,
        ),
        EventType(
            "organization.updated",
            "An organisation's settings changed (fields: the names of what changed, never the values).",
            required=("organization_id", "fields"),
            application=False,
        ),
        EventType(
            "organization.deleted",
            "An organisation was deleted, with its memberships and invitations.",
            required=("organization_id",),
            application=False,
        ),
        EventType(
            "organization.member_added",
            "A user became a member of an organisation (via: admin, the admin console or the API; invitation; or jit, "
            "a verified address at one of its email domains).",
            required=("organization_id", "user_id", "via"),
            application=False,
        ),
        EventType(
            "organization.member_removed",
            "A user stopped being a member of an organisation.",
            required=("organization_id", "user_id"),
            application=False,
        ),
        EventType(
            "organization.member_roles_changed",
            "The organisation roles of a member changed (read them from the API: GET "
            "/api/organizations/{id}/members/{user_id}).",
            required=("organization_id", "user_id"),
            application=False,
        ),
        EventType(
            "organization.invitation_created",
            "A person was invited by email to join an organisation (the address is not in the payload).",
            required=("organization_id", "invitation_id"),
            application=False,
        ),
        EventType(
            "organization.invitation_accepted",
            "An invitation to an organisation was accepted by the invited, verified address; the user is a member.",
            required=("organization_id", "invitation_id", "user_id"),
            application=False,
        ),
        EventType(
            "webhook.ping",
            "A test event sent to one webhook from the admin or the API (POST …/webhooks/{id}/ping); no other "
            "webhook receives it.",
            required=("webhook_id",),
        ),
    )
}

# What a webhook may subscribe to (a ping is sent to one webhook on request, never by subscription).
SUBSCRIBABLE = tuple(name for name in EVENT_TYPES if name != "webhook.ping")
