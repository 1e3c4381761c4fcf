"""The organisation scopes (issue 19, Optare's table) and the names the organisation code shares."""

from __future__ import annotations

# The current organisation of a sign-in: its id, slug, name and the person's roles in it.
ORGANIZATION_SCOPE = "organization"
# Read, or change, that one organisation through the organisation endpoints; granted by an organisation role.
ORGANIZATION_READ = "organization:read"
ORGANIZATION_WRITE = "organization:write"

# What an OrganizationRole may list in `scopes` (`organization` itself comes with membership, not a role).
GRANTABLE_SCOPES = (ORGANIZATION_READ, ORGANIZATION_WRITE)
