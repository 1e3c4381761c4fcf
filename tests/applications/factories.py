"""Factories that go through applications.services, so test data obeys the same rules as real data."""

from __future__ import annotations

import uuid
from datetime import timedelta

import factory
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_device_grant_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
    set_token_value,
)

from applications import services
from applications.models import ApiResource, Application, Scope
from tests.identity.factories import UserFactory

DEFAULTS_BY_TYPE = {
    "web": {"redirect_uris": "https://web.example.com/callback"},
    "spa": {"redirect_uris": "https://spa.example.com/callback", "allowed_origins": "https://spa.example.com"},
    "native": {"redirect_uris": "com.example.app:/callback"},
    "m2m": {},
}


def make_application(
    *, type: str = "web", allowed_scopes=(), required_roles=(), m2m_roles=(), branding=None, **fields
) -> tuple[Application, str | None]:
    """Create an application through the service; returns (application, plaintext secret or None)."""
    values = {"name": f"{type} app {Application.objects.count() + 1}", **DEFAULTS_BY_TYPE[type], **fields}
    if type == "m2m" and not allowed_scopes and not m2m_roles:
        allowed_scopes = [m2m_default_scope()]  # an m2m app needs a scope (policies.application_relation_errors)
    application = Application(type=type, **values)
    secret = services.application_create(
        actor=None,
        application=application,
        allowed_scopes=allowed_scopes,
        required_roles=required_roles,
        m2m_roles=m2m_roles,
        branding=branding,
    )
    return application, secret


def m2m_default_scope() -> Scope:
    """The scope a test's machine-to-machine app gets when the test names none."""
    resource, _ = ApiResource.objects.get_or_create(identifier="https://default.example.com", name="Default API")
    scope, _ = Scope.objects.get_or_create(name="default:call", defaults={"description": "Call", "resource": resource})
    return scope


class ApiResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiResource

    identifier = factory.Sequence(lambda n: f"https://api{n}.example.com")
    name = factory.Sequence(lambda n: f"API {n}")


class ScopeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scope

    name = factory.Sequence(lambda n: f"things{n}:read")
    description = "Read your things"
    resource = factory.SubFactory(ApiResourceFactory)


# --- tokens and codes, for cleartokens and the protocol's bookkeeping ---------------------------


class _TokenRowFactory(factory.django.DjangoModelFactory):
    """Saves through the model like the toolkit does; `created` (auto_now_add) can be backdated, `raw` is the token."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, created=None, raw=None, **kwargs):
        instance = model_class(*args, **kwargs)
        if raw is not None:
            set_token_value(instance, raw)
        instance.save()
        if created is not None:
            model_class.objects.filter(pk=instance.pk).update(created=created)
            instance.created = created
        return instance


class AccessTokenFactory(_TokenRowFactory):
    class Meta:
        model = get_access_token_model()

    user = factory.SubFactory(UserFactory)
    application = factory.LazyFunction(lambda: make_application(type="web")[0])
    raw = factory.Sequence(lambda n: f"access-token-{n}")
    scope = "openid offline_access"
    expires = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))


class RefreshTokenFactory(_TokenRowFactory):
    """A refresh token with its own access token, starting a new family unless one is given."""

    class Meta:
        model = get_refresh_token_model()

    user = factory.SubFactory(UserFactory)
    application = factory.LazyFunction(lambda: make_application(type="web")[0])
    access_token = factory.SubFactory(
        AccessTokenFactory, user=factory.SelfAttribute("..user"), application=factory.SelfAttribute("..application")
    )
    raw = factory.Sequence(lambda n: f"refresh-token-{n}")
    token_family = factory.LazyFunction(uuid.uuid4)
    revoked = None


class IDTokenFactory(_TokenRowFactory):
    class Meta:
        model = get_id_token_model()

    user = factory.SubFactory(UserFactory)
    application = factory.LazyFunction(lambda: make_application(type="web")[0])
    scope = "openid"
    expires = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))


class GrantFactory(_TokenRowFactory):
    """An authorization code."""

    class Meta:
        model = get_grant_model()

    user = factory.SubFactory(UserFactory)
    application = factory.LazyFunction(lambda: make_application(type="web")[0])
    code = factory.Sequence(lambda n: f"authorization-code-{n}")
    redirect_uri = "https://web.example.com/callback"
    scope = "openid"
    expires = factory.LazyFunction(lambda: timezone.now() + timedelta(seconds=60))


class DeviceGrantFactory(_TokenRowFactory):
    class Meta:
        model = get_device_grant_model()

    device_code = factory.Sequence(lambda n: f"device-code-{n}")
    user_code = factory.Sequence(lambda n: f"USERCODE{n}")
    client_id = factory.LazyFunction(lambda: make_application(type="native")[0].client_id)
    scope = "openid"
    expires = factory.LazyFunction(lambda: timezone.now() + timedelta(minutes=15))


def not_before_entries() -> set[tuple[str, str, str]]:
    """(subject, client_id, reason) of every not-before entry (applications.oauth.revocations)."""
    from applications.models import TokenRevocation

    return set(TokenRevocation.objects.values_list("subject", "client_id", "reason"))
