"""The standard OpenID Connect scopes are part of every catalogue from the start."""

from django.db import migrations

STANDARD_SCOPES = {
    "openid": "Sign you in with your account",
    "profile": "See your name and profile picture",
    "email": "See your email address",
    "phone": "See your phone number",
    "offline_access": "Stay signed in when you are not using the app",
    "roles": "See the roles you hold",
}


def add_standard_scopes(apps, schema_editor):
    Scope = apps.get_model("applications", "Scope")
    for name, description in STANDARD_SCOPES.items():
        Scope.objects.get_or_create(name=name, defaults={"description": description, "resource": None})


def remove_standard_scopes(apps, schema_editor):
    Scope = apps.get_model("applications", "Scope")
    Scope.objects.filter(name__in=STANDARD_SCOPES, resource__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("applications", "0002_initial")]

    operations = [migrations.RunPython(add_standard_scopes, remove_standard_scopes)]
