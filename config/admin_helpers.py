"""Admin behaviour shared by the apps: service-backed deletes and actions, read-only models, and the
page that shows a newly made secret once.

The audit record of admin saves lives with the audit log (identity.admin_audit): config/ imports no app.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse


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


class ReadOnlyAdminMixin:
    """Viewable by staff with the view permission; never added, changed or deleted by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def action_through_service(modeladmin, request, objects, service, *, done: str, refused: str) -> None:
    """Run `service(obj)` for each object (it raises ValidationError to refuse one): one message
    counting what was done (`done` with {count}), one warning naming each refusal after `refused`."""
    count, refusals = 0, []
    for obj in objects:
        try:
            service(obj)
            count += 1
        except ValidationError as exc:
            refusals.append(f"{obj}: {' '.join(exc.messages)}")
    if count:
        modeladmin.message_user(request, done.format(count=count), messages.SUCCESS)
    if refusals:
        modeladmin.message_user(request, f"{refused}: " + " | ".join(refusals), messages.WARNING)


def secret_once_response(modeladmin, request, *, template: str, title: str, secrets: list[dict]) -> TemplateResponse:
    """The page that shows secrets just made (a created object's or a rotation's), never cached."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        "title": title,
        "secrets": secrets,
    }
    response = TemplateResponse(request, template, context)
    response["Cache-Control"] = "no-store"
    return response
