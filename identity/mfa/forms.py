"""allauth's second-factor code forms, limited: wrong codes per account, counted in the shared cache.

allauth limits wrong codes with its `login_failed` rule, which we turn off for passwords (it locks an
address out for everyone: identity.sign_in_limits); here the count is per account, and only a person
who has the password (the sign-in's second step) or the session (reauthentication) can add to it.
"""

from __future__ import annotations

from allauth.mfa.base import forms as mfa_forms
from django import forms
from django.conf import settings

from config.ratelimit import Limit, count, reached

SECOND_FACTOR = "second-factor-user"


def _limit() -> Limit:
    return Limit(
        SECOND_FACTOR,
        settings.LATCHKEY_SECOND_FACTOR_FAILURES_PER_USER,
        settings.LATCHKEY_SECOND_FACTOR_FAILURE_WINDOW_SECONDS,
    )


class LimitedCodeMixin:
    """Refuses a code unchecked once the account has had too many wrong ones in the window."""

    def clean_code(self) -> str:
        if (wait := reached([(_limit(), str(self.user.pk))])) is not None:
            minutes = -(-wait // 60)
            raise forms.ValidationError(
                f"Too many wrong codes. Try again in {minutes} minute{'s' if minutes > 1 else ''}.",
                code="too_many_codes",
            )
        try:
            return super().clean_code()
        except forms.ValidationError:
            count(_limit(), str(self.user.pk))
            raise


class AuthenticateForm(LimitedCodeMixin, mfa_forms.AuthenticateForm):
    pass


class ReauthenticateForm(LimitedCodeMixin, mfa_forms.ReauthenticateForm):
    pass
