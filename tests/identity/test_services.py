"""Identity services: taking access away revokes the tokens it covered, in the same transaction."""

from __future__ import annotations

import pytest
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from identity import services
from tests.applications.factories import RefreshTokenFactory, make_application
from tests.identity.factories import RoleFactory, UserFactory

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
pytestmark = pytest.mark.django_db


def live_tokens(user, application) -> tuple[int, int]:
    return (
        AccessToken.objects.filter(user=user, application=application).count(),
        RefreshToken.objects.filter(user=user, application=application, revoked__isnull=True).count(),
    )


def test_role_unassign_revokes_the_users_tokens_for_apps_requiring_that_role_only():
    role, other_role = RoleFactory(), RoleFactory()
    user, colleague = UserFactory(), UserFactory()
    gated, _ = make_application(type="web", required_roles=[role])
    gated_elsewhere, _ = make_application(type="web", required_roles=[other_role])
    open_app, _ = make_application(type="web")
    for holder in (user, colleague):
        services.role_assign(actor=None, user=holder, role=role)
        services.role_assign(actor=None, user=holder, role=other_role)
        for application in (gated, gated_elsewhere, open_app):
            RefreshTokenFactory(user=holder, application=application)

    services.role_unassign(actor=None, user=user, role=role)

    assert live_tokens(user, gated) == (0, 0)
    assert live_tokens(user, gated_elsewhere) == (1, 1)
    assert live_tokens(user, open_app) == (1, 1)
    assert live_tokens(colleague, gated) == (1, 1)


def test_role_unassign_of_a_role_not_held_revokes_nothing():
    role = RoleFactory()
    user = UserFactory()
    gated, _ = make_application(type="web", required_roles=[role])
    RefreshTokenFactory(user=user, application=gated)  # issued before the rule: not this service's business

    services.role_unassign(actor=None, user=user, role=role)

    assert live_tokens(user, gated) == (1, 1)


def test_user_deactivate_revokes_tokens_of_every_application():
    user, colleague = UserFactory(), UserFactory()
    apps = [make_application(type="web")[0], make_application(type="native")[0]]
    for application in apps:
        RefreshTokenFactory(user=user, application=application)
        RefreshTokenFactory(user=colleague, application=application)

    services.user_deactivate(actor=None, user=user)

    assert [live_tokens(user, application) for application in apps] == [(0, 0), (0, 0)]
    assert [live_tokens(colleague, application) for application in apps] == [(1, 1), (1, 1)]
