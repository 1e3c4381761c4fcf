"""A person with no second factor, stepped up by an application that requires one, sets one up and comes back."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.identity.factories import UserFactory
from tests.identity.mfa.helpers import enrol_totp, sign_in
from tests.identity.mfa.test_step_up import CALLBACK, app, authorize_url, id_token_claims
from tests.protocol.conftest import standard_scopes  # noqa: F401  (a transactional test's scopes)


@pytest.mark.django_db(transaction=True)  # allauth tells of the new factor once it has committed
@pytest.mark.usefixtures("standard_scopes")
def test_a_person_with_no_second_factor_is_led_through_enrolment_and_back(client):
    person = UserFactory(email="ada@example.com")
    strict, strict_secret = app(auth_methods=["mfa"])
    sign_in(client, person)
    stepped = client.get(authorize_url(strict))
    back = parse_qs(urlsplit(stepped["Location"]).query)["next"][0]

    page = client.get(stepped["Location"])

    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="second-factor-required"' in html
    link = re.search(r'href="([^"]+)" data-testid="second-factor-totp"', html).group(1)
    assert urlsplit(link).path == "/account/2fa/totp/activate/"
    assert parse_qs(urlsplit(unescape(link)).query)["next"] == [back]
    enrol_totp(client, person, next_url=back)
    codes_page = client.get(f"/account/2fa/recovery-codes/?{urlencode({'next': back})}")
    assert 'data-testid="second-factor-continue"' in codes_page.content.decode()
    issued = client.get(back)
    assert issued["Location"].startswith(CALLBACK)
    assert id_token_claims(client, strict, strict_secret, issued["Location"])["amr"] == ["pwd", "otp", "mfa"]
