"""factory_boy factories. Tenant-owned factories must run inside tenant_context.

`TENANT_FACTORIES` maps every tenant-owned model to its factory; the isolation
tests fail for a tenant-owned model that has none, so new models get covered.
"""

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import Invitation, Membership, Organization, Role, User

PASSWORD = "correct-horse-battery-staple"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.Sequence(lambda n: f"Organization {n}")
    currency = "BRL"
    time_zone = "America/Sao_Paulo"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.MANAGER


class InvitationFactory(factory.django.DjangoModelFactory):
    """Call inside tenant_context(org): the organization comes from the context."""

    class Meta:
        model = Invitation

    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.MANAGER
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


TENANT_FACTORIES = {Invitation: InvitationFactory}
