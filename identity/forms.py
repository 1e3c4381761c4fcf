"""The sign-in form: allauth's, on the wire as before (`username` + `password`)."""

from __future__ import annotations

from allauth.account.forms import LoginForm


class SignInForm(LoginForm):
    """allauth's email + password form whose email field is posted as `username`.

    Browsers' saved passwords, the tests and any script that signs in post `username`; allauth
    names the field `login`. Only the HTML name (and so the id, `id_username`) changes.
    """

    def add_prefix(self, field_name: str) -> str:
        return super().add_prefix("username" if field_name == "login" else field_name)
