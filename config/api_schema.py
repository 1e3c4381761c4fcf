"""OpenAPI post-processing of the management API's schema (drf-spectacular hooks).

The management token's security scheme names the applications' scopes: applications.api.schema.
"""

from __future__ import annotations

AUTH_ERRORS = {
    "401": "No valid access token (missing, malformed, expired or revoked); see WWW-Authenticate.",
    "403": "The token or session lacks the management scope this operation needs.",
}


def document_auth_errors(result: dict, generator, request, public) -> dict:
    """POSTPROCESSING_HOOKS: every operation can answer 401 and 403, and every list 400, so they say so."""
    error_schema = {"$ref": "#/components/schemas/ApiError"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            if any(parameter.get("name") == "page" for parameter in operation.get("parameters", [])):
                responses.setdefault(
                    "400",
                    {
                        "description": "An invalid query parameter (page, page_size or a filter), keyed by name.",
                        "content": {"application/json": {"schema": error_schema}},
                    },
                )
            for status, description in AUTH_ERRORS.items():
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": error_schema}}}
                )
    return result
