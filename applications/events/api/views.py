"""/api/applications/{id}/webhooks, /api/webhooks (deployment-wide) and /api/events/types: thin views
that parse, call applications.events.services and render. The secret is in create and rotate responses only."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from applications.events import selectors, services
from applications.events.api.serializers import (
    DeliverySerializer,
    EventTypeSerializer,
    RotateSecretSerializer,
    WebhookSerializer,
    WebhookWithSecretSerializer,
    WebhookWriteSerializer,
    event_types_data,
)
from applications.events.catalogue import SUBSCRIBABLE
from applications.events.models import Delivery
from applications.models import Application
from config.api_errors import APPLICATION_ID, IF_MATCH, conflicts_as_409, error_responses, request_actor
from config.api_viewsets import ManagementViewSet

TAGS = ["Webhooks"]
WEBHOOK_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The webhook's id.")
DELIVERY_ID = OpenApiParameter("delivery_pk", OpenApiTypes.INT, OpenApiParameter.PATH, description="The delivery's id.")
EXAMPLES = [
    OpenApiExample(
        "Sign-ins and consents",
        value={
            "url": "https://hooks.example.com/latchkey",
            "event_types": ["user.signed_in", "consent.granted", "consent.revoked"],
            "description": "CRM sync",
        },
        request_only=True,
    )
]


def _schema(prefix: str, scope: str, path_params: list[OpenApiParameter]):
    """The OpenAPI description of one of the two webhook collections (per application, deployment-wide).

    Each operation is named `<prefix>_<action>` and tagged Webhooks; the rest is what differs between them.
    """
    item = [*path_params, WEBHOOK_ID]
    item_write = [*item, IF_MATCH]
    operations = {
        "list": {
            "summary": f"List {scope} webhooks with their last delivery (secrets never shown)",
            "parameters": path_params,
            "responses": {200: WebhookSerializer(many=True), **error_responses(400, 404)},
        },
        "retrieve": {
            "summary": "Read a webhook",
            "parameters": item,
            "responses": {200: WebhookSerializer, **error_responses(404)},
        },
        "create": {
            "summary": f"Add a {scope} webhook; the response carries its signing secret, shown only once",
            "parameters": path_params,
            "request": WebhookWriteSerializer,
            "examples": EXAMPLES,
            "responses": {201: WebhookWithSecretSerializer, **error_responses(400, 404, 409)},
        },
        "update": {
            "summary": "Replace a webhook's settings (its secret stays)",
            "parameters": item_write,
            "request": WebhookWriteSerializer,
            "responses": {200: WebhookSerializer, **error_responses(400, 404, 409, 412)},
        },
        "partial_update": {
            "summary": "Change fields of a webhook (enabled: true also clears its failure count)",
            "parameters": item_write,
            "request": WebhookWriteSerializer(partial=True),
            "responses": {200: WebhookSerializer, **error_responses(400, 404, 409, 412)},
        },
        "destroy": {
            "summary": "Remove a webhook and its deliveries",
            "parameters": item_write,
            "responses": {204: None, **error_responses(404, 412)},
        },
        "rotate_secret": {
            "summary": "Rotate the signing secret; the previous one keeps signing for overlap_seconds",
            "parameters": item_write,
            "request": RotateSecretSerializer,
            "responses": {200: WebhookWithSecretSerializer, **error_responses(400, 404, 412)},
        },
        "ping": {
            "summary": "Send a webhook.ping event to this webhook alone",
            "parameters": item,
            "request": None,
            "responses": {202: DeliverySerializer, **error_responses(400, 404)},
        },
        "deliveries": {
            "summary": "List the webhook's deliveries, latest first, each with its attempt log",
            "parameters": item,
            "responses": {200: DeliverySerializer(many=True), **error_responses(400, 404)},
        },
        "redeliver": {
            "summary": "Send a delivery again now (same event, same webhook-id; a fresh retry schedule)",
            "parameters": [*item, DELIVERY_ID],
            "request": None,
            "responses": {200: DeliverySerializer, **error_responses(400, 404)},
        },
    }
    return extend_schema_view(
        **{
            action: extend_schema(operation_id=f"{prefix}_{action}", tags=TAGS, **fields)
            for action, fields in operations.items()
        }
    )


class WebhookViewSetBase(ManagementViewSet):
    """What both collections share; `application()` says whose webhooks (None: deployment-wide)."""

    serializer_class = WebhookSerializer
    lookup_value_regex = "[^/]+"

    def application(self) -> Application | None:
        raise NotImplementedError

    def get_queryset(self):
        return selectors.webhooks_of(self.application())

    def _with_secret(self, response: Response, secret: str) -> Response:
        response.data = {**response.data, "secret": secret}
        response["Cache-Control"] = "no-store"
        return response

    def list(self, request, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(WebhookSerializer(page, many=True).data)

    def retrieve(self, request, **kwargs) -> Response:
        return self.render(self.get_object())

    def create(self, request, **kwargs) -> Response:
        application = self.application()
        body = WebhookWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with conflicts_as_409():
            webhook, secret = services.webhook_create(
                actor=request_actor(request), application=application, **body.validated_data
            )
        response = self._with_secret(self.render(webhook, status.HTTP_201_CREATED), secret)
        response["Location"] = request.build_absolute_uri(f"{request.path.rstrip('/')}/{webhook.pk}")
        return response

    def _update(self, request, *, partial: bool) -> Response:
        webhook = self.get_object()
        body = WebhookWriteSerializer(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        with conflicts_as_409(), self.locked_if_match(webhook) as webhook:
            services.webhook_update(actor=request_actor(request), webhook=webhook, fields=dict(body.validated_data))
        return self.render(webhook)

    def update(self, request, **kwargs) -> Response:
        return self._update(request, partial=False)

    def partial_update(self, request, **kwargs) -> Response:
        return self._update(request, partial=True)

    def destroy(self, request, **kwargs) -> Response:
        with self.locked_if_match(self.get_object()) as webhook:
            services.webhook_delete(actor=request_actor(request), webhook=webhook)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, **kwargs) -> Response:
        webhook = self.get_object()
        body = RotateSecretSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with self.locked_if_match(webhook) as webhook:
            secret = services.webhook_rotate_secret(
                actor=request_actor(request), webhook=webhook, overlap_seconds=body.validated_data["overlap_seconds"]
            )
        return self._with_secret(self.render(webhook), secret)

    @action(detail=True, methods=["post"])
    def ping(self, request, **kwargs) -> Response:
        delivery = services.webhook_ping(actor=request_actor(request), webhook=self.get_object())
        delivery = selectors.deliveries_of(delivery.webhook).get(pk=delivery.pk)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["get"])
    def deliveries(self, request, **kwargs) -> Response:
        page = self.paginate_queryset(selectors.deliveries_of(self.get_object()))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_pk>[^/]+)/redeliver")
    def redeliver(self, request, delivery_pk=None, **kwargs) -> Response:
        webhook = self.get_object()
        delivery = get_object_or_404(
            Delivery.objects.select_related("webhook"),
            webhook=webhook,
            pk=delivery_pk if str(delivery_pk).isdigit() else None,
        )
        delivery = services.delivery_redeliver(actor=request_actor(request), delivery=delivery)
        return Response(DeliverySerializer(selectors.deliveries_of(webhook).get(pk=delivery.pk)).data)


@_schema("application_webhooks", "the application's", [APPLICATION_ID])
class ApplicationWebhookViewSet(WebhookViewSetBase):
    """The webhooks of one application: they receive its events (those they subscribe to)."""

    def application(self) -> Application:
        if not hasattr(self, "_application"):
            pk = self.kwargs["application_pk"]
            self._application = get_object_or_404(Application, pk=pk if str(pk).isdigit() else None)
        return self._application


@_schema("webhooks", "deployment-wide", [])
class DeploymentWebhookViewSet(WebhookViewSetBase):
    """Deployment-wide webhooks: they receive the events of every application and those of none (user.*)."""

    def application(self) -> None:
        return None


class EventTypeViewSet(viewsets.ViewSet):
    """The event catalogue (applications.events.catalogue), also written out in docs/events.md."""

    @extend_schema(
        operation_id="event_catalogue",
        tags=TAGS,
        summary="List the event types, what each means and its payload keys",
        description="Subscribable by webhooks: " + ", ".join(SUBSCRIBABLE) + ". webhook.ping is sent on request only.",
        responses={200: EventTypeSerializer(many=True), **error_responses()},
    )
    def list(self, request) -> Response:
        return Response(event_types_data())
