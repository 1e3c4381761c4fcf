from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    """Organisations: their members, the deployment's organisation roles, and invitations to join."""

    name = "identity.organizations"
    label = "organizations"
    verbose_name = "Organisations"
