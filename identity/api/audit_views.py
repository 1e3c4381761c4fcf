"""/api/audit: the audit log, read-only. Writes to it happen only inside the writes it records."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets

from config.api_errors import error_responses
from identity.api.serializers import AuditEventSerializer, AuditQuerySerializer
from identity.models import AuditEvent

TAGS = ["Audit log"]


@extend_schema_view(
    list=extend_schema(
        operation_id="audit_list",
        tags=TAGS,
        summary="List audit events, newest first",
        parameters=[AuditQuerySerializer],
        responses={200: AuditEventSerializer(many=True), **error_responses(400)},
    ),
    retrieve=extend_schema(
        operation_id="audit_retrieve",
        tags=TAGS,
        summary="Read one audit event",
        responses={200: OpenApiResponse(AuditEventSerializer), **error_responses(404)},
    ),
)
class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AuditEventSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[AuditEvent]:
        events = AuditEvent.objects.order_by("-occurred_at", "-id")
        if self.action != "list":
            return events
        query = AuditQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        for field in ("action", "actor_type", "actor_id", "target_type", "target_id"):
            if field in params:
                events = events.filter(**{field: params[field]})
        if "since" in params:
            events = events.filter(occurred_at__gte=params["since"])
        if "until" in params:
            events = events.filter(occurred_at__lt=params["until"])
        return events
