"""django-oauth-toolkit's scopes backend, read from the scopes catalogue (SCOPES_BACKEND_CLASS)."""

from __future__ import annotations

from oauth2_provider.scopes import BaseScopes

from applications.models import Scope
from applications.oauth import memo
from applications.selectors import available_scope_names


def _catalogue() -> dict[str, str]:
    return dict(Scope.objects.order_by().values_list("name", "description"))


def catalogue() -> dict[str, str]:
    """Every scope's name and description, kept per process (memo): the same object until the
    catalogue changes. Callers must not change it."""
    return memo.remembered("scope-catalogue", _catalogue)


class CatalogueScopes(BaseScopes):
    def get_all_scopes(self) -> dict[str, str]:
        # Read by django-oauth-toolkit on every bearer request (AccessToken.scopes).
        return dict(catalogue())

    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        if application is None:
            return []
        cached = getattr(request, "latchkey_available_scopes", None)
        if cached is None:
            if resources := _resources_of(request):
                # RFC 8707: a token for these APIs carries their scopes (and the standard ones), no other API's.
                from applications.oauth.access_tokens import scope_terms

                names = {t.name for t in scope_terms(request, application) if t.resource in (None, *resources)}
            else:
                names = memo.remembered(
                    ("available-scopes", application.pk), lambda: frozenset(available_scope_names(application))
                )
            cached = sorted(names)
            if request is not None:
                request.latchkey_available_scopes = cached
        return cached

    def get_default_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        """No `scope` parameter: everything the application may have (RFC 6749 §3.3)."""
        return self.get_available_scopes(application, request)


def _resources_of(request) -> list[str]:
    if request is None:
        return []
    from applications.oauth.validator import requested_resources

    return requested_resources(request)
