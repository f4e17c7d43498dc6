"""Signing in, switching organizations and resetting a password."""

import re

import pytest
from django.urls import reverse

from accounts.models import Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_it_takes_a_member_of_one_organization_straight_in(signed_in):
    membership = MembershipFactory(role=Role.MANAGER)
    response = signed_in(membership.user).get(reverse("home"))
    assert response["Location"] == f"/o/{membership.organization.slug}/"


def test_it_lets_a_member_of_several_organizations_choose(signed_in):
    first = MembershipFactory(role=Role.MANAGER)
    second = MembershipFactory(user=first.user, role=Role.VIEWER)
    client = signed_in(first.user)
    assert client.get(reverse("home"))["Location"] == reverse("organization_list")
    page = client.get(reverse("organization_list")).content.decode()
    assert f'href="/o/{first.organization.slug}/"' in page
    assert f'href="/o/{second.organization.slug}/"' in page
    # The switcher in the header lists both from inside either organization.
    inside = client.get(f"/o/{first.organization.slug}/").content.decode()
    assert second.organization.name in inside


def test_it_lists_no_organization_it_does_not_belong_to(signed_in):
    mine, other = MembershipFactory(), MembershipFactory()
    page = signed_in(mine.user).get(reverse("organization_list")).content.decode()
    assert other.organization.name not in page


def test_it_explains_what_to_do_without_an_organization(signed_in):
    page = signed_in(UserFactory()).get(reverse("organization_list")).content.decode()
    assert "not in any organization yet" in page


@pytest.mark.parametrize("name", ["home", "organization_list"])
def test_it_asks_anonymous_visitors_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_resets_a_forgotten_password_by_email(client, mailoutbox):
    user = UserFactory(email="forgetful@example.com")
    client.post(reverse("password_reset"), {"email": "forgetful@example.com"})
    [message] = mailoutbox
    path = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", message.body).group(1)
    form = client.get(path, follow=True)
    assert form.status_code == 200
    new_password = "a-brand-new-pass-phrase-42"
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new_password)


def test_it_signs_out_with_a_post(signed_in):
    client = signed_in(UserFactory())
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session
