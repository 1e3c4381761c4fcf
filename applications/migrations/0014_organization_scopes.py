"""The organisation scopes (issue 19, Optare's table) join the catalogue, as the standard ones did (0003)."""

from django.db import migrations

ORGANIZATION_SCOPES = {
    "organization": "Know which of your organisations you are using it with, and your roles there",
    "organization:read": "Read that organisation's details and members",
    "organization:write": "Change that organisation's settings",
}


def add_organization_scopes(apps, schema_editor):
    Scope = apps.get_model("applications", "Scope")
    for name, description in ORGANIZATION_SCOPES.items():
        Scope.objects.get_or_create(name=name, defaults={"description": description, "resource": None})


def remove_organization_scopes(apps, schema_editor):
    Scope = apps.get_model("applications", "Scope")
    Scope.objects.filter(name__in=ORGANIZATION_SCOPES, resource__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("applications", "0013_grant_organization")]

    operations = [migrations.RunPython(add_organization_scopes, remove_organization_scopes)]
