"""The organisation picker in a real browser: a person in two organisations chooses one, and the client gets
a code whose tokens carry it. With LATCHKEY_DOC_SCREENSHOTS=1 its screenshot goes to docs/screenshots/."""

from __future__ import annotations

import pytest
import requests

from applications.models import Scope
from tests.applications.factories import make_application
from tests.browser.test_dashboard import DOCS_SCREENSHOTS
from tests.browser.test_journeys import CALLBACK_PATH, authorization_url, landed_params, sign_in
from tests.identity.organizations.factories import MembershipFactory, OrganizationFactory, admin_role, member_role

pytestmark = pytest.mark.django_db(transaction=True)


def test_person_in_two_organizations_picks_one_on_the_branded_page(server, page, user):
    for name in ("organization", "organization:read"):
        Scope.objects.get_or_create(name=name, defaults={"description": f"The {name} scope", "resource": None})
    application = make_application(
        type="spa",
        name="Acme Console",
        redirect_uris=server.url(CALLBACK_PATH),
        allowed_origins=server.base,
        allowed_scopes=list(Scope.objects.filter(name__in=["openid", "organization", "organization:read"])),
        trusted=True,
        branding={"primary_color": "#0F766E"},
    )[0]
    MembershipFactory(
        user=user, organization=OrganizationFactory(name="Acme Rockets", slug="acme"), roles=[admin_role()]
    )
    globex = OrganizationFactory(name="Globex", slug="globex")
    MembershipFactory(user=user, organization=globex, roles=[member_role()])

    page.goto(authorization_url(server, application, "openid organization organization:read"))
    sign_in(page, user.email)
    page.get_by_test_id("organization-picker").wait_for()
    assert page.get_by_test_id("organization-choices").inner_text().split("\n") == ["Acme Rockets", "Globex"]
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_SCREENSHOTS / "organization-picker.png"), full_page=True)

    page.get_by_test_id("organization-choice-globex").click()
    landed = landed_params(page)

    token = requests.post(
        server.url("/oauth/token"),
        data={
            "grant_type": "authorization_code",
            "code": landed["code"],
            "redirect_uri": server.url(CALLBACK_PATH),
            "client_id": application.client_id,
            "code_verifier": "v" * 64,
        },
        timeout=10,
    ).json()
    userinfo = requests.get(
        server.url("/oauth/userinfo"), headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
    ).json()
    assert (userinfo["organization_id"], userinfo["organization"]["roles"]) == (str(globex.public_id), ["member"])
