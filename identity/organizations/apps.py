from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    """Organisations: their members, the deployment's organisation roles, and invitations to join."""

    name = "identity.organizations"
    label = "organizations"
    verbose_name = "Organisations"

    def ready(self) -> None:
        from allauth.account.signals import email_confirmed

        from identity.organizations.signals import join_by_verified_domain

        email_confirmed.connect(join_by_verified_domain, dispatch_uid="latchkey.organizations_jit_join")
