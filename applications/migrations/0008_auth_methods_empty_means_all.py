"""auth_methods: empty now means every method the application has enabled (password and its providers).

Until now "password" was the only method, so ["password"] meant "every method": it becomes [].
Anything else is left as it was; an empty list existed only on machine-to-machine apps, which
sign no one in.
"""

import applications.policies
from django.db import migrations, models


def password_only_to_empty(apps, schema_editor):
    Application = apps.get_model("applications", "Application")
    for pk, methods in Application.objects.values_list("pk", "auth_methods").iterator():
        if methods == ["password"]:
            Application.objects.filter(pk=pk).update(auth_methods=[])


def empty_to_password_only(apps, schema_editor):
    Application = apps.get_model("applications", "Application")
    for pk, methods in Application.objects.values_list("pk", "auth_methods").iterator():
        if methods == []:
            Application.objects.filter(pk=pk).update(auth_methods=["password"])


class Migration(migrations.Migration):

    dependencies = [
        ('applications', '0007_application_id_token_algorithm'),
    ]

    operations = [
        migrations.RunPython(password_only_to_empty, empty_to_password_only),
        migrations.AlterField(
            model_name='application',
            name='auth_methods',
            field=models.JSONField(blank=True, default=applications.policies.default_auth_methods, help_text='Sign-in methods this application accepts: "password" and its providers\' ids. Empty: every method it has enabled (password and its enabled providers).', verbose_name='sign-in methods'),
        ),
    ]
