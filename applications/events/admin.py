"""The admin console for webhooks and their deliveries. Every write goes through
applications.events.services (checked by its policies, audited); a webhook's signing secret is shown
once, in the response to the request that created or rotated it."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from applications.events import policies, selectors, services
from applications.events.catalogue import EVENT_TYPES, SUBSCRIBABLE
from applications.events.models import Delivery, DeliveryAttempt, Webhook
from config.admin_helpers import (
    ReadOnlyAdminMixin,
    ServiceDeleteMixin,
    action_through_service,
    secret_once_response,
)

SECRET_TEMPLATE = "admin/events/webhook/secret_once.html"


class WebhookAdminForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=[(name, f"{name}: {EVENT_TYPES[name].description}") for name in SUBSCRIBABLE],
        widget=forms.CheckboxSelectMultiple,
        help_text="The events this webhook receives (docs/events.md describes each payload).",
    )

    class Meta:
        model = Webhook
        fields = ["application", "url", "description", "event_types", "enabled"]
        help_texts = {
            "application": "Empty: a deployment-wide webhook (every event, user.* included).",
            "url": "https; no user:password@, no loopback, private or metadata address.",
        }

    def clean(self) -> dict:
        """The services' rules (applications.events.policies), shown on their fields rather than as an error page."""
        data = super().clean()
        if {"url", "event_types"} <= set(data):
            candidate = Webhook(
                pk=self.instance.pk,
                application=data.get("application", self.instance.application if self.instance.pk else None),
                url=data["url"].strip(),
                event_types=policies.normalize_event_types(data["event_types"]),
                description=data.get("description", ""),
            )
            for field, problems in policies.webhook_errors(candidate).items():
                for problem in problems:
                    self.add_error(field if field in self.fields else None, problem)
        elif "url" in data and (problem := policies.url_problem(data["url"])):
            self.add_error("url", problem)
        return data


@admin.action(description="Send a test event (webhook.ping)", permissions=["change"])
def ping(modeladmin, request, queryset):
    action_through_service(
        modeladmin,
        request,
        queryset,
        lambda webhook: services.webhook_ping(actor=request.user, webhook=webhook),
        done="Queued a webhook.ping for {count} webhook(s).",
        refused="Not sent",
    )


@admin.action(description="Rotate signing secret (the old one also signs for 24 hours)", permissions=["change"])
def rotate_secret(modeladmin, request, queryset):
    rotated = [
        (webhook, services.webhook_rotate_secret(actor=request.user, webhook=webhook, overlap_seconds=24 * 3600))
        for webhook in queryset
    ]
    return modeladmin.secret_page(request, rotated, "Signing secret rotated")


@admin.action(description="Re-enable (clears the failure count)", permissions=["change"])
def reenable(modeladmin, request, queryset):
    for webhook in queryset:
        services.webhook_update(actor=request.user, webhook=webhook, fields={"enabled": True})
    modeladmin.message_user(request, f"Enabled {queryset.count()} webhook(s).", messages.SUCCESS)


@admin.register(Webhook)
class WebhookAdmin(ServiceDeleteMixin, admin.ModelAdmin):
    form = WebhookAdminForm
    list_display = ["url", "application_display", "enabled", "last_delivery", "consecutive_failures"]
    list_filter = ["enabled", "application"]
    search_fields = ["url", "description", "application__name", "application__client_id"]
    raw_id_fields = ["application"]
    actions = [ping, rotate_secret, reenable]
    readonly_fields = [
        "secret_status",
        "disabled_reason",
        "consecutive_failures",
        "last_delivery",
        "deliveries_link",
        "created_at",
        "updated_at",
    ]

    def get_queryset(self, request):
        return selectors.with_last_delivery(super().get_queryset(request).select_related("application"))

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": ["application", "url", "description", "event_types", "enabled"]})]
        if obj is not None:
            fieldsets.append(("Status", {"fields": self.readonly_fields}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        # The application a webhook belongs to is fixed once it exists (delete it and add another).
        return ["application", *self.readonly_fields] if obj is not None else []

    @admin.display(description="application", ordering="application__name")
    def application_display(self, obj: Webhook) -> str:
        return obj.application.name if obj.application_id else "(deployment-wide)"

    @admin.display(description="last delivery")
    def last_delivery(self, obj: Webhook) -> str:
        state = getattr(obj, "last_delivery_state", None)
        if state is None:
            return "—"
        code = getattr(obj, "last_delivery_status_code", None)
        return f"{state} (HTTP {code})" if code else state

    @admin.display(description="signing secret")
    def secret_status(self, obj: Webhook) -> str:
        text = "Set (encrypted; rotate it to see a new one)."
        if obj.previous_secret_encrypted and len(obj.signing_secrets()) > 1:
            text += f" The previous one also signs until {obj.previous_secret_expires_at:%Y-%m-%d %H:%M} UTC."
        return text

    @admin.display(description="deliveries")
    def deliveries_link(self, obj: Webhook) -> str:
        url = reverse("admin:events_delivery_changelist") + f"?webhook={obj.pk}"
        return format_html('<a href="{}">Deliveries ({})</a>', url, obj.deliveries.count())

    def save_model(self, request, obj, form, change) -> None:
        fields = {name: form.cleaned_data[name] for name in ("url", "description", "event_types", "enabled")}
        if change:
            # The form has already set its values on `obj`: the service starts from the stored row, so
            # its checks and audit record see the change.
            stored = Webhook.objects.get(pk=obj.pk)
            services.webhook_update(actor=request.user, webhook=stored, fields=fields)
            obj.updated_at = stored.updated_at
            return
        webhook, request.latchkey_webhook_secret = services.webhook_create(
            actor=request.user, application=form.cleaned_data.get("application"), **fields
        )
        obj.pk, obj.secret_encrypted, obj.created_at, obj.updated_at = (
            webhook.pk,
            webhook.secret_encrypted,
            webhook.created_at,
            webhook.updated_at,
        )

    def save_related(self, request, form, formsets, change) -> None:
        pass  # no relations of its own; the service saved everything

    def delete_service(self, *, actor, obj) -> None:
        services.webhook_delete(actor=actor, webhook=obj)

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "latchkey_webhook_secret", None)
        if secret:
            return self.secret_page(request, [(obj, secret)], "Webhook created")
        return super().response_add(request, obj, post_url_continue)

    def secret_page(self, request, pairs, title: str) -> TemplateResponse:
        secrets = [{"webhook": webhook, "secret": secret} for webhook, secret in pairs]
        return secret_once_response(self, request, template=SECRET_TEMPLATE, title=title, secrets=secrets)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["attempted_at", "status_code", "latency_ms", "succeeded", "error", "response_excerpt"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.action(description="Redeliver now (same event and webhook-id)", permissions=["redeliver"])
def redeliver(modeladmin, request, queryset):
    action_through_service(
        modeladmin,
        request,
        queryset.select_related("webhook"),
        lambda delivery: services.delivery_redeliver(actor=request.user, delivery=delivery),
        done="Queued {count} delivery(ies) again.",
        refused="Not redelivered",
    )


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What was sent where and what came back; read-only, apart from sending one again."""

    list_display = ["event_type", "webhook", "state", "attempts", "last_status_code", "next_attempt_at", "created_at"]
    list_filter = ["state", "event__type"]
    list_select_related = ["event", "webhook"]
    search_fields = ["event__public_id", "webhook__url"]
    inlines = [DeliveryAttemptInline]
    actions = [redeliver]
    fields = [
        "webhook",
        "event_display",
        "state",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "leased_by",
        "lease_expires_at",
        "created_at",
        "completed_at",
    ]
    readonly_fields = fields

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        # The webhook page links here filtered to one webhook (?webhook=<id>).
        return lookup == "webhook" or super().lookup_allowed(lookup, value, request)

    def has_redeliver_permission(self, request) -> bool:
        return request.user.has_perm("events.change_webhook")

    @admin.display(description="event", ordering="event__type")
    def event_type(self, obj: Delivery) -> str:
        return obj.event.type

    @admin.display(description="event")
    def event_display(self, obj: Delivery) -> str:
        return f"{obj.event.type} {obj.event.public_id} ({obj.event.occurred_at:%Y-%m-%d %H:%M:%S} UTC)"
