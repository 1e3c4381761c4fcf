"""Schemathesis fuzzes the management API, through a real server, against its own OpenAPI document.

Every operation gets generated requests (valid and invalid) with a real management token; every
response must be documented (status, headers, content type, body schema) and none may be a 5xx.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 25


def test_management_api_matches_its_schema(server, management_token):
    """One Hypothesis run per operation; all failures are reported together, each with its request."""
    schema = schemathesis.openapi.from_url(server.url("/api/schema?format=json"))
    headers = {"Authorization": f"Bearer {management_token}"}
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30, "the schema lost operations"

    for operation in operations:

        @given(case=operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

        try:
            conforms()
        except (Exception, BaseExceptionGroup) as exc:  # every operation is checked, then all failures reported
            failures[operation.label] = str(exc)[:2000]

    assert not failures, "\n\n".join(f"{label}:\n{problem}" for label, problem in failures.items())
