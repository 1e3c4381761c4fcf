"""Reads of consents for the pages that show them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from applications.models import Application, Scope
from branding.services import ResolvedBrand, branding_for
from consent.models import Consent


@dataclass(frozen=True)
class GrantedScope:
    name: str
    description: str


@dataclass(frozen=True)
class AuthorizedApp:
    consent_id: int
    application: Application
    brand: ResolvedBrand  # logo (or initial) and colours, as on the app's own sign-in pages
    scopes: list[GrantedScope]
    granted_at: datetime
    updated_at: datetime


def authorized_apps_for_user(*, user) -> list[AuthorizedApp]:
    """The apps `user` has consented to, newest change first, in two queries whatever their number.

    A granted scope since removed from the catalogue is still listed, by its name.
    """
    consents = list(Consent.objects.filter(user=user).select_related("application", "application__branding"))
    names = {name for consent in consents for name in consent.scopes}
    descriptions = dict(Scope.objects.filter(name__in=names).values_list("name", "description")) if names else {}
    apps = []
    for consent in consents:
        application = consent.application
        apps.append(
            AuthorizedApp(
                consent_id=consent.pk,
                application=application,
                brand=branding_for(application),  # no query: branding came with select_related
                scopes=[GrantedScope(name, descriptions.get(name, name)) for name in consent.scopes],
                granted_at=consent.granted_at,
                updated_at=consent.updated_at,
            )
        )
    return apps
