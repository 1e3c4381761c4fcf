"""The admin console for consents: look them up and revoke them, never write them by hand.

Consents are recorded by the consent page only. Every way of removing one here (the action, the
delete page, "delete selected") goes through consent_revoke, so the tokens it allowed die with it.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from consent.models import Consent
from consent.services import consent_revoke


@admin.action(description="Revoke selected consents (and the tokens they allowed)", permissions=["delete"])
def revoke_consents(modeladmin: ConsentAdmin, request: HttpRequest, queryset: QuerySet[Consent]) -> None:
    consents = list(queryset.select_related("user", "application"))
    if not consents:
        return
    modeladmin.log_deletions(request, queryset)
    modeladmin.revoke(request, consents)
    modeladmin.message_user(
        request, f"Revoked {len(consents)} consent(s) and the tokens they allowed.", messages.SUCCESS
    )


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ["user", "application", "scope_list", "granted_at", "updated_at"]
    list_filter = ["application"]
    search_fields = ["user__email", "application__name", "application__client_id"]
    list_select_related = ["user", "application"]
    readonly_fields = ["user", "application", "scope_list", "granted_at", "updated_at"]
    fields = readonly_fields
    actions = [revoke_consents]

    @admin.display(description="scopes")
    def scope_list(self, obj: Consent) -> str:
        return " ".join(obj.scopes)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Consent | None = None) -> bool:
        return False

    def revoke(self, request: HttpRequest, consents: list[Consent]) -> None:
        for consent in consents:
            consent_revoke(actor=request.user, user=consent.user, application=consent.application)

    def delete_model(self, request: HttpRequest, obj: Consent) -> None:
        self.revoke(request, [obj])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Consent]) -> None:
        self.revoke(request, list(queryset.select_related("user", "application")))
