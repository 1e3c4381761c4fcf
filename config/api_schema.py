"""OpenAPI description of the management API's authentication (drf-spectacular extensions).

Imported by config.api_urls so the extension is registered before any schema is generated.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from applications.policies import MANAGEMENT_READ, MANAGEMENT_WRITE


class ManagementTokenScheme(OpenApiAuthenticationExtension):
    """A client-credentials access token (OAuth 2.0, RFC 6749 §4.4) sent as a Bearer token (RFC 6750)."""

    target_class = "config.api.ManagementTokenAuthentication"
    name = "managementToken"

    def get_security_requirement(self, auto_schema):
        needed = MANAGEMENT_READ if auto_schema.method in ("GET", "HEAD", "OPTIONS") else MANAGEMENT_WRITE
        return {self.name: [needed]}

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": "Client credentials of an m2m application holding management:read and/or management:write.",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/oauth/token",
                    "scopes": {
                        MANAGEMENT_READ: "Read Latchkey's configuration",
                        MANAGEMENT_WRITE: "Change Latchkey's configuration",
                    },
                }
            },
        }


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
