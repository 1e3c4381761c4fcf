"""The management API's scopes exist from the start, on an API resource of their own."""

from django.db import migrations

IDENTIFIER = "urn:latchkey:management-api"
SCOPES = {
    "management:read": "Read Latchkey's configuration through the management API",
    "management:write": "Change Latchkey's configuration through the management API",
}


def add(apps, schema_editor):
    ApiResource = apps.get_model("applications", "ApiResource")
    Scope = apps.get_model("applications", "Scope")
    resource, _ = ApiResource.objects.get_or_create(identifier=IDENTIFIER, defaults={"name": "Latchkey Management API"})
    for name, description in SCOPES.items():
        Scope.objects.get_or_create(name=name, defaults={"description": description, "resource": resource})


def remove(apps, schema_editor):
    apps.get_model("applications", "ApiResource").objects.filter(identifier=IDENTIFIER).delete()


class Migration(migrations.Migration):
    dependencies = [("applications", "0004_signing_keys_and_redeemed_codes")]

    operations = [migrations.RunPython(add, remove)]
