"""/api/consents: who allowed which application what; revoking also revokes that app's tokens for the user."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from config.api_errors import error_responses, request_actor, text_param
from config.api_viewsets import ManagementViewSet
from consent import services
from consent.api.serializers import ConsentSerializer
from consent.models import Consent
from identity.models import normalize_email

TAGS = ["Consents"]


@extend_schema_view(
    list=extend_schema(
        operation_id="consents_list",
        tags=TAGS,
        summary="List consents",
        parameters=[
            OpenApiParameter("user", str, description="The user's id or email address."),
            OpenApiParameter("application", str, description="The application's id or client_id."),
        ],
    ),
    retrieve=extend_schema(
        operation_id="consents_retrieve",
        tags=TAGS,
        summary="Read a consent",
        responses={200: ConsentSerializer, **error_responses(404)},
    ),
)
class ConsentViewSet(mixins.ListModelMixin, ManagementViewSet):
    serializer_class = ConsentSerializer
    http_method_names = ["get", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Consent]:
        consents = Consent.objects.select_related("user", "application").order_by("-updated_at", "-id")
        if self.action != "list":
            return consents
        params = self.request.query_params
        user = text_param(params.get("user", "").strip())
        application = text_param(params.get("application", "").strip())
        if user is None or application is None:
            return consents.none()
        if user:
            by_id = user.isascii() and user.isdigit()
            consents = (
                consents.filter(user__pk=int(user)) if by_id else consents.filter(user__email=normalize_email(user))
            )
        if application:
            by_id = application.isascii() and application.isdigit()
            consents = (
                consents.filter(application__pk=int(application))
                if by_id
                else consents.filter(application__client_id=application)
            )
        return consents

    @extend_schema(
        operation_id="consents_destroy",
        tags=TAGS,
        summary="Revoke a consent",
        description="The user will be asked again, and the application's tokens for the user are revoked.",
        responses={204: OpenApiResponse(description="Revoked."), **error_responses(404)},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        consent = self.get_object()
        services.consent_revoke(actor=request_actor(request), user=consent.user, application=consent.application)
        return Response(status=status.HTTP_204_NO_CONTENT)
