"""Operator commands: `role create | list` and `user create`.

Each test runs the command through call_command and checks what the operator sees: the printed
text or JSON, and on bad input a one-line CommandError naming the field, with nothing written.
"""

from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from applications.models import Scope
from identity.models import Role, RoleAssignment, User
from tests.applications.factories import ScopeFactory
from tests.identity.factories import RoleFactory, UserFactory

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "correct horse battery staple"


def run(*args: str) -> str:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue()


def run_json(*args: str):
    return json.loads(run(*args, "--json"))


def command_error(*args: str) -> str:
    with pytest.raises(CommandError) as exc_info:
        run(*args)
    message = str(exc_info.value)
    assert message, "an empty error tells the operator nothing"
    assert "\n" not in message, f"error is not one line: {message!r}"
    return message


def db_counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "roles": Role.objects.count(),
        "role_scopes": Role.scopes.through.objects.count(),
        "role_assignments": RoleAssignment.objects.count(),
        "scopes": Scope.objects.count(),
    }


@contextmanager
def nothing_written():
    before = db_counts()
    yield
    assert db_counts() == before


# ---------------------------------------------------------------------------------------------
# role create / list
# ---------------------------------------------------------------------------------------------


def test_role_create_json_prints_role_with_scopes():
    data = run_json("role", "create", "latchkey:admin", "--scope", "openid")

    role = Role.objects.get(name="latchkey:admin")
    assert data == {"id": role.pk, "name": "latchkey:admin", "description": "", "scopes": ["openid"]}
    assert list(role.scopes.values_list("name", flat=True)) == ["openid"]


def test_role_create_repeated_scopes_and_description_land_on_role():
    ScopeFactory(name="events:read")
    data = run_json(
        "role",
        "create",
        "events:sync",
        "--description",
        "Syncs the event calendar.",
        "--scope",
        "events:read",
        "--scope",
        "openid",
        "--scope",
        "events:read",
    )

    role = Role.objects.get(name="events:sync")
    assert role.description == "Syncs the event calendar."
    assert sorted(role.scopes.values_list("name", flat=True)) == ["events:read", "openid"]
    assert data["description"] == "Syncs the event calendar."
    assert sorted(data["scopes"]) == ["events:read", "openid"]


def test_role_create_without_scopes_has_none():
    data = run_json("role", "create", "streaming:subscriber")

    assert data["scopes"] == []
    assert Role.objects.get(name="streaming:subscriber").scopes.count() == 0


def test_role_create_text_output_names_the_role():
    out = run("role", "create", "streaming:subscriber")

    assert out.splitlines() == ["Created role 'streaming:subscriber'"]
    assert Role.objects.filter(name="streaming:subscriber").exists()


def test_role_create_name_is_trimmed():
    data = run_json("role", "create", "  staff:beta  ")

    assert data["name"] == "staff:beta"


@pytest.mark.parametrize("name", ["Latchkey:Admin", "ADMIN", "team admin", "team:admin!", "_leading_underscore", ""])
def test_role_create_bad_name_is_rejected(name):
    with nothing_written():
        message = command_error("role", "create", name)
    assert message.startswith("name: "), message


def test_role_create_uppercase_name_error_explains_the_rule():
    message = command_error("role", "create", "Admin")

    assert message == "name: Use lowercase letters, digits and . _ : - (for example latchkey:admin)."


def test_role_create_unknown_scope_is_rejected():
    with nothing_written():
        message = command_error("role", "create", "events:sync", "--scope", "openid", "--scope", "nope:read")

    assert message == "scopes: Unknown scope(s): nope:read. Define them on an API resource first."


def test_role_create_duplicate_name_is_rejected():
    RoleFactory(name="latchkey:admin")

    with nothing_written():
        message = command_error("role", "create", "latchkey:admin", "--scope", "openid")

    assert message.startswith("name: ")
    assert "already exists" in message


def test_role_create_without_name_is_an_argument_error():
    message = command_error("role", "create")
    assert "NAME" in message


def test_role_list_json_lists_roles_by_name_with_scopes():
    run("role", "create", "zeta:role", "--description", "Last", "--scope", "email")
    run("role", "create", "alpha:role")

    data = run_json("role", "list")

    assert [(r["name"], r["description"], r["scopes"]) for r in data] == [
        ("alpha:role", "", []),
        ("zeta:role", "Last", ["email"]),
    ]


def test_role_list_text_shows_name_and_description():
    run("role", "create", "latchkey:admin", "--description", "Administers Latchkey.")

    assert run("role", "list").splitlines() == ["latchkey:admin  Administers Latchkey."]


def test_role_list_with_no_roles_is_empty():
    assert run_json("role", "list") == []
    assert run("role", "list") == ""


# ---------------------------------------------------------------------------------------------
# user create
# ---------------------------------------------------------------------------------------------


def test_user_create_json_prints_sub_and_lowercased_email():
    RoleFactory(name="streaming:subscriber")

    data = run_json(
        "user",
        "create",
        "--email",
        "  Bob.Smith@Example.COM ",
        "--password",
        STRONG_PASSWORD,
        "--role",
        "streaming:subscriber",
    )

    user = User.objects.get()
    assert user.email == "bob.smith@example.com"
    assert user.check_password(STRONG_PASSWORD)
    assert not user.check_password("wrong password")
    assert data == {
        "id": user.pk,
        "sub": str(user.public_id),
        "email": "bob.smith@example.com",
        "roles": ["streaming:subscriber"],
        "is_staff": False,
    }
    assert uuid.UUID(data["sub"]) == user.public_id
    assert data["sub"] != str(user.pk)
    assert list(user.roles.values_list("name", flat=True)) == ["streaming:subscriber"]


def test_user_create_repeated_roles_are_all_assigned():
    RoleFactory(name="streaming:subscriber")
    RoleFactory(name="staff:beta")

    data = run_json(
        "user",
        "create",
        "--email",
        "bob@example.com",
        "--password",
        STRONG_PASSWORD,
        "--role",
        "streaming:subscriber",
        "--role",
        "staff:beta",
        "--role",
        "streaming:subscriber",
    )

    user = User.objects.get()
    assert sorted(user.roles.values_list("name", flat=True)) == ["staff:beta", "streaming:subscriber"]
    assert data["roles"] == ["streaming:subscriber", "staff:beta"]
    assert RoleAssignment.objects.filter(user=user).count() == 2


def test_user_create_profile_and_staff_flags_land_on_user():
    data = run_json(
        "user",
        "create",
        "--email",
        "ops@example.com",
        "--password",
        STRONG_PASSWORD,
        "--name",
        "Ops Person",
        "--given-name",
        "Ops",
        "--family-name",
        "Person",
        "--staff",
    )

    user = User.objects.get()
    assert (user.name, user.given_name, user.family_name) == ("Ops Person", "Ops", "Person")
    assert user.is_staff is True
    assert user.is_superuser is False
    assert data["is_staff"] is True
    assert data["roles"] == []


def test_user_create_superuser_is_also_staff():
    data = run_json("user", "create", "--email", "root@example.com", "--password", STRONG_PASSWORD, "--superuser")

    user = User.objects.get()
    assert user.is_superuser is True
    assert user.is_staff is True
    assert data["is_staff"] is True


def test_user_create_without_password_cannot_sign_in_with_one():
    run_json("user", "create", "--email", "sso@example.com")

    user = User.objects.get()
    assert not user.has_usable_password()
    assert not user.check_password("")


def test_user_create_text_output_shows_email_and_sub():
    out = run("user", "create", "--email", "Bob@Example.com", "--password", STRONG_PASSWORD)

    user = User.objects.get()
    assert out.splitlines() == [f"Created user bob@example.com (sub {user.public_id})"]


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("123", "too short"),
        ("12345678901", "entirely numeric"),
        ("password1", "too common"),
        ("bob@example.com", "too similar"),
    ],
)
def test_user_create_weak_password_is_rejected_naming_password(password, fragment):
    RoleFactory(name="streaming:subscriber")

    with nothing_written():
        message = command_error(
            "user", "create", "--email", "bob@example.com", "--password", password, "--role", "streaming:subscriber"
        )

    assert message.startswith("password: "), message
    assert fragment in message
    assert not User.objects.filter(email="bob@example.com").exists()


def test_user_create_password_123_reports_every_problem_on_one_line():
    message = command_error("user", "create", "--email", "bob@example.com", "--password", "123")

    assert message.count("password: ") == 3
    assert "too short" in message
    assert "too common" in message
    assert "entirely numeric" in message


@pytest.mark.parametrize("email", ["bob@example.com", "BOB@EXAMPLE.COM", " Bob@Example.com "])
def test_user_create_duplicate_email_in_any_case_is_rejected(email):
    UserFactory(email="bob@example.com")
    RoleFactory(name="streaming:subscriber")

    with nothing_written():
        message = command_error(
            "user", "create", "--email", email, "--password", STRONG_PASSWORD, "--role", "streaming:subscriber"
        )

    assert message == "email: A user with this email already exists."


@pytest.mark.parametrize("email", ["not-an-email", "", "bob@"])
def test_user_create_invalid_email_is_rejected(email):
    with nothing_written():
        message = command_error("user", "create", "--email", email, "--password", STRONG_PASSWORD)
    assert message.startswith("email: "), message


def test_user_create_unknown_role_is_rejected():
    RoleFactory(name="streaming:subscriber")

    with nothing_written():
        message = command_error(
            "user",
            "create",
            "--email",
            "bob@example.com",
            "--password",
            STRONG_PASSWORD,
            "--role",
            "streaming:subscriber",
            "--role",
            "ghost:role",
        )

    assert message == "roles: Unknown role(s): ghost:role."


def test_user_create_bad_email_and_weak_password_are_both_reported():
    with nothing_written():
        message = command_error("user", "create", "--email", "not-an-email", "--password", "123")
    assert "email: " in message
    assert "password: " in message


def test_user_create_without_email_is_an_argument_error():
    with nothing_written():
        message = command_error("user", "create", "--password", STRONG_PASSWORD)
    assert "--email" in message


def test_user_create_created_user_can_be_named_as_app_owner():
    run("user", "create", "--email", "Owner@Example.com", "--password", STRONG_PASSWORD)

    data = run_json(
        "app",
        "create",
        "--name",
        "Portal",
        "--type",
        "web",
        "--redirect-uri",
        "https://web.example.com/cb",
        "--owner",
        "owner@example.com",
    )

    assert data["owner"] == "owner@example.com"
