"""The management API's base viewset (apart from config.api, which DRF's settings import early)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from rest_framework import status, viewsets
from rest_framework.response import Response

from config.api import check_if_match, representation_etag


class ManagementViewSet(viewsets.GenericViewSet):
    """What the management API's viewsets share: rendering one object with its ETag, and If-Match.

    The ETag is the hash of the rendered object, so it changes exactly when what a client reads does.
    """

    def render(self, obj, code: int = status.HTTP_200_OK) -> Response:
        """Re-read `obj` (relations prefetched and current after a write) and render it with its ETag."""
        data = self.get_serializer_class()(self.get_queryset().get(pk=obj.pk)).data
        return Response(data, status=code, headers={"ETag": representation_etag(data)})

    def retrieve(self, request, pk=None) -> Response:
        return self.render(self.get_object())

    @contextmanager
    def locked_if_match(self, obj) -> Iterator:
        """Lock `obj`'s row for a write and yield it fresh; 412 if If-Match names another version.

        The write then applies to the current row, so a concurrent change is neither lost nor overwritten.
        """
        with transaction.atomic():
            locked = type(obj)._default_manager.select_for_update().get(pk=obj.pk)
            if "If-Match" in self.request.headers:
                current = self.get_serializer_class()(self.get_queryset().get(pk=obj.pk)).data
                check_if_match(self.request, representation_etag(current))
            yield locked
