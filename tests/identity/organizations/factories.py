from __future__ import annotations

import factory
from allauth.account.models import EmailAddress

from identity.organizations.constants import ORGANIZATION_READ, ORGANIZATION_WRITE
from identity.organizations.models import Membership, Organization, OrganizationRole
from tests.identity.factories import UserFactory


class OrganizationRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrganizationRole
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"org-role{n}")
    description = "An organisation role for tests"
    scopes = factory.LazyFunction(lambda: [ORGANIZATION_READ])


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)

    @factory.post_generation
    def roles(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.roles.set(extracted)


def admin_role() -> OrganizationRole:
    return OrganizationRoleFactory(name="admin", scopes=[ORGANIZATION_READ, ORGANIZATION_WRITE])


def member_role() -> OrganizationRole:
    return OrganizationRoleFactory(name="member", scopes=[ORGANIZATION_READ])


def verified_user(email: str, **fields):
    """A user whose address is verified the way allauth records it (an EmailAddress row)."""
    user = UserFactory(email=email, email_verified=True, **fields)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user
