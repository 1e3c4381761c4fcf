"""The admin's own saves and deletes (those no service makes) recorded in the audit log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

from identity import audit


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
        record = audit.record(
            actor=request.user,
            action=f"{self.audit_target_type}.{'updated' if change else 'created'}",
            target=obj,
            before=getattr(request, "latchkey_audit_before", None),
            after=type(self).audit_state(obj),
            extra=self.audit_extra(request, obj, form, change),
            only_if_changed=change,
        )
        self.audit_recorded(request, obj, change, record)

    def audit_recorded(self, request, obj, change: bool, record) -> None:
        """After the record, in the same transaction: an admin with events records them here."""

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
