"""End-to-end protocol tests: a real server (live_server) driven by Authlib and a browser-like session."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

from applications.models import ApiResource, Scope
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory

PASSWORD = "correct horse battery staple"


@dataclass
class Server:
    base: str

    def url(self, path: str) -> str:
        return urljoin(self.base, path)

    def discovery(self) -> dict:
        return requests.get(self.url("/.well-known/openid-configuration"), timeout=10).json()

    def decode_id_token(self, id_token: str, *, client_id: str, nonce: str | None = None):
        keyset = KeySet.import_key_set(requests.get(self.url("/.well-known/jwks.json"), timeout=10).json())
        token = jwt.decode(id_token, keyset, algorithms=["RS256", "ES256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.base},
            aud={"essential": True, "value": client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
        ).validate(token.claims)
        if nonce is not None:
            assert token.claims["nonce"] == nonce
        return token.claims

    def refresh(self, application, secret: str | None, refresh_token: str) -> requests.Response:
        """A refresh at the token endpoint: HTTP Basic for a confidential client, client_id for a public one."""
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if secret is None:
            return requests.post(
                self.url("/oauth/token"), data={**data, "client_id": application.client_id}, timeout=20
            )
        return requests.post(self.url("/oauth/token"), data=data, auth=(application.client_id, secret), timeout=20)

    def userinfo_status(self, access_token: str) -> int:
        headers = {"Authorization": f"Bearer {access_token}"}
        return requests.get(self.url("/oauth/userinfo"), headers=headers, timeout=10).status_code


@pytest.fixture
def warm_keys(settings):
    """The signing keys memo filled and kept, so query budgets count the request's own statements."""
    from applications.oauth import keys

    settings.LATCHKEY_KEY_CACHE_SECONDS = 3600
    keys.clear_cache()
    keys.current()
    yield
    keys.clear_cache()


@pytest.fixture
def server(live_server, settings):
    settings.LATCHKEY_ISSUER = live_server.url
    # The live server speaks http; Secure cookies would never come back to it.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    # A new dict, so pytest-django restores the original after the test.
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    from applications.oauth import well_known

    well_known.clear()
    yield Server(live_server.url)
    well_known.clear()


class Browser:
    """A user agent: a cookie jar that signs in through the real login form and follows nothing by itself."""

    def __init__(self, server: Server):
        self.server = server
        self.session = requests.Session()

    def sign_in(self, email: str, password: str = PASSWORD, next_url: str = "") -> requests.Response:
        page = self.session.get(self.server.url("/login"), params={"next": next_url} if next_url else None, timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return self.session.post(
            self.server.url("/login"),
            data={"username": email, "password": password, "csrfmiddlewaretoken": token, "next": next_url},
            headers={"Referer": self.server.url("/login")},
            allow_redirects=False,
            timeout=10,
        )

    def get(self, url: str, **kwargs) -> requests.Response:
        return self.session.get(url, allow_redirects=False, timeout=10, **kwargs)

    def consent(self, page: requests.Response, decision: str = "allow") -> requests.Response:
        """Submit the consent form found on `page` with the allow or deny button."""
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        fields = {k: v.replace("&amp;", "&").replace("&quot;", '"').replace("&#x27;", "'") for k, v in fields.items()}
        fields[decision] = "1"
        forms = re.findall(r'<form method="post" action="([^"]+)">(.*?)</form>', page.text, re.S)
        action = next(url for url, body in forms if 'data-testid="consent-approve"' in body)
        return self.session.post(
            self.server.url(action),
            data=fields,
            headers={"Referer": page.url},
            allow_redirects=False,
            timeout=10,
        )

    def authorize(self, authorization_url: str, *, approve: bool = True) -> requests.Response:
        """Follow an authorization request to the redirect back to the client (consenting if asked)."""
        response = self.get(authorization_url)
        if response.status_code == 200 and 'data-testid="consent-approve"' in response.text:
            response = self.consent(response, "allow" if approve else "deny")
        return response


def query_of(response: requests.Response) -> dict[str, str]:
    location = response.headers["Location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture(autouse=True)
def standard_scopes(transactional_db):
    """Transactional tests flush tables between tests, data-migration rows included."""
    from applications.models import Scope

    for name in ("openid", "profile", "email", "phone", "offline_access", "roles"):
        Scope.objects.get_or_create(name=name, defaults={"description": f"The {name} scope", "resource": None})


@pytest.fixture
def browser(server) -> Browser:
    return Browser(server)


@pytest.fixture
def user(transactional_db):
    return UserFactory(
        email="ada@example.com", given_name="Ada", family_name="Lovelace", name="Ada Lovelace", email_verified=True
    )


MANAGEMENT = ("management:read", "management:write")


@pytest.fixture
def management_token(server) -> str:
    """A client-credentials token fetched by Authlib, as an integrator's pipeline would."""
    resource, _ = ApiResource.objects.get_or_create(
        identifier="urn:latchkey:management-api", defaults={"name": "Latchkey management API"}
    )
    scopes = [Scope.objects.get_or_create(name=name, defaults={"resource": resource})[0] for name in MANAGEMENT]
    application, secret = make_application(type="m2m", name="Integrator", allowed_scopes=scopes)
    client = OAuth2Session(application.client_id, secret, scope=" ".join(MANAGEMENT))
    token = client.fetch_token(server.url("/oauth/token"), grant_type="client_credentials")
    return token["access_token"]
