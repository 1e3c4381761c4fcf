"""Our seam into django-allauth: who may register, where a finished flow lands, how emails look.

allauth runs the flows (sign-in with throttling, registration, email verification, password reset
and change); this adapter answers the questions that are ours:

- registration is open only when LATCHKEY_REGISTRATION says so;
- `next` is followed only to this host, and travels inside the verification and reset links, so a
  person who started from an application's sign-in page lands back in that authorization request;
- emails carry the branding of the application in `next` (found from its client_id, never from the
  session: two tabs may be signing in to two apps);
- `User.email_verified` (the `email_verified` claim) is the truth: it becomes true when the person
  follows the link, and an admin's "verified" counts for allauth's verification stage at sign-in.
"""

from __future__ import annotations

from urllib.parse import urlencode

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.core import context
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from applications import policies
from branding.selectors import request_application
from branding.services import branding_for
from config.ratelimit import client_ip
from identity import services
from identity.constants import REGISTRATION_INVITE, REGISTRATION_OPEN


def safe_next(request: HttpRequest | None) -> str:
    """The request's `next` when it stays on this host; "" otherwise."""
    if request is None:
        return ""
    value = request.POST.get("next") if request.method == "POST" else None
    value = value if value is not None else request.GET.get("next", "")
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=False):
        return value
    return ""


def with_next(url: str, request: HttpRequest | None) -> str:
    next_url = safe_next(request)
    return f"{url}{'&' if '?' in url else '?'}{urlencode({'next': next_url})}" if next_url else url


def _current_application():
    request = context.request
    return request_application(request) if request is not None else None


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Open registration creates password accounts, so not for an app (in `next`) that refuses passwords."""
        if settings.LATCHKEY_REGISTRATION != REGISTRATION_OPEN:
            return False
        return policies.password_sign_in_allowed(request_application(request))

    def get_client_ip(self, request: HttpRequest) -> str:
        """The address our rate limits count (config.ratelimit: X-Forwarded-For only behind
        LATCHKEY_TRUSTED_PROXIES): allauth's own limits and the sessions list agree with them."""
        return client_ip(request)

    def add_message(self, *args, **kwargs) -> None:
        """None: our pages say what happened themselves, and never show flash messages (nor should the admin)."""

    def is_safe_url(self, url: str) -> bool:
        """Only this host: a sign-in page must never send a person elsewhere (no ALLOWED_HOSTS siblings)."""
        request = context.request
        return bool(url) and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=False
        )

    def send_mail(self, template_prefix: str, email: str, context_data: dict) -> None:
        """Every email wears the brand of the application whose sign-in page the person came from (the
        deployment's outside a request, e.g. a notice sent by a command)."""
        brand = branding_for(_current_application())
        super().send_mail(template_prefix, email, {"brand": brand, **context_data})

    def format_email_subject(self, subject: str) -> str:
        brand = branding_for(_current_application())
        return f"[{brand.name}] {subject}"

    def send_notification_mail(self, template_prefix: str, user, context=None, email=None) -> None:
        """Security notices (password, second factors) go to the user's address, with or without allauth's
        EmailAddress row (users an admin created have none)."""
        email = email or EmailAddress.objects.get_primary_email(user) or user.email
        super().send_notification_mail(template_prefix, user, context=context, email=email)

    def send_password_reset_mail(self, user, email: str, context_data: dict) -> None:
        """A user an admin created without a password gets none by "Forgot your password?", except an
        invited one (LATCHKEY_REGISTRATION=invite), for whom it re-sends the invitation. Same page either way."""
        if user.has_usable_password() or settings.LATCHKEY_REGISTRATION == REGISTRATION_INVITE:
            super().send_password_reset_mail(user, email, context_data)

    def get_email_confirmation_url(self, request: HttpRequest, emailconfirmation) -> str:
        return with_next(super().get_email_confirmation_url(request, emailconfirmation), request)

    def get_reset_password_from_key_url(self, key: str) -> str:
        return with_next(super().get_reset_password_from_key_url(key), context.request)

    def get_email_verification_redirect_url(self, email_address: EmailAddress) -> str:
        return safe_next(self.request) or super().get_email_verification_redirect_url(email_address)

    def authenticate(self, request: HttpRequest, **credentials):
        """An address an admin marked verified counts as verified for allauth's mandatory-verification stage."""
        user = super().authenticate(request, **credentials)
        mandatory = account_settings.EMAIL_VERIFICATION == account_settings.EmailVerificationMethod.MANDATORY
        if user is not None and user.email_verified and mandatory:
            if not EmailAddress.objects.filter(user=user, email=user.email, verified=True).exists():
                EmailAddress.objects.update_or_create(
                    user=user, email=user.email, defaults={"verified": True, "primary": True}
                )
        return user

    def confirm_email(self, request: HttpRequest, email_address: EmailAddress) -> bool:
        """The `email_verified` claim follows the link: the user's own address, once confirmed."""
        confirmed = super().confirm_email(request, email_address)
        user = email_address.user
        if confirmed and email_address.email.lower() == user.email.lower():
            services.user_email_verify(actor=user, user=user)
        return confirmed

    def save_user(self, request: HttpRequest, user, form, commit: bool = True):
        """The new account and its `user.registered` event commit together (the event is an outbox row)."""
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=commit)
            if commit:
                services.user_registered(user=user, application=request_application(request))
        return user

    def set_password(self, user, password: str) -> None:
        """Reset link, invitation and the account page's change all set passwords here: audited."""
        services.user_password_set(actor=user, user=user, password=password)
