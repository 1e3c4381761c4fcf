"""OpenAPI description of the management API's authentication (a drf-spectacular extension).

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
