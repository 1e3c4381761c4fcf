"""Admin behaviour shared by the apps: service-backed deletes and audit records of admin saves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect

from identity import audit


class ServiceDeleteMixin:
    """`delete_service(actor=, obj=)` deletes one object or raises ValidationError to refuse."""

    def delete_service(self, *, actor, obj) -> None:
        raise NotImplementedError

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            self.message_user(request, "Not deleted: " + "; ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(request.path.rsplit("/delete/", 1)[0] + "/change/")

    def delete_model(self, request, obj) -> None:
        self.delete_service(actor=request.user, obj=obj)

    def delete_queryset(self, request, queryset) -> None:
        refused = []
        for obj in queryset:
            try:
                self.delete_service(actor=request.user, obj=obj)
            except ValidationError as exc:
                refused.append(f"{obj}: {'; '.join(exc.messages)}")
        if refused:
            self.message_user(request, "Not deleted: " + " | ".join(refused), messages.ERROR)


class AuditedAdminMixin:
    """Records the admin's own saves and deletes (those no service makes) in the audit log.

    Django runs the change form in a transaction; the record is written inside it, after the
    inlines and many-to-many fields are saved, so it shows what was really stored.
    """

    audit_target_type: str = ""  # the actions' prefix: "user" records user.created, user.updated, …
    audit_state: Callable[[Any], dict[str, Any]]

    def save_model(self, request, obj, form, change) -> None:
        stored = type(obj)._default_manager.filter(pk=obj.pk).first() if change and obj.pk else None
        request.latchkey_audit_before = type(self).audit_state(stored) if stored is not None else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        obj = form.instance
        audit.record(
            actor=request.user,
            action=f"{self.audit_target_type}.{'updated' if change else 'created'}",
            target=obj,
            before=getattr(request, "latchkey_audit_before", None),
            after=type(self).audit_state(obj),
            extra=self.audit_extra(request, obj, form, change),
            only_if_changed=change,
        )

    def audit_extra(self, request, obj, form, change) -> dict | None:
        return None

    def _record_delete(self, request, obj) -> None:
        audit.record(
            actor=request.user,
            action=f"{self.audit_target_type}.deleted",
            target=obj,
            before=type(self).audit_state(obj),
        )

    def delete_model(self, request, obj) -> None:
        with transaction.atomic():
            self._record_delete(request, obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        with transaction.atomic():
            for obj in queryset:
                self._record_delete(request, obj)
            super().delete_queryset(request, queryset)


class ReadOnlyAdminMixin:
    """Viewable by staff with the view permission; never added, changed or deleted by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
