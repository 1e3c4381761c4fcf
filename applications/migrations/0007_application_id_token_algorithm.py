"""Applications choose their ID token signing algorithm in django-oauth-toolkit's `algorithm` column.

The column existed unused (nothing of ours read it); a value outside the new choices (HS256, which
signs with the client secret we store only as a hash) is reset to blank, the deployment default,
which is what signed that application's ID tokens until now.
"""

from django.db import migrations, models


def reset_unsupported(apps, schema_editor):
    Application = apps.get_model("applications", "Application")
    Application.objects.exclude(algorithm__in=["", "RS256", "ES256"]).update(algorithm="")


class Migration(migrations.Migration):

    dependencies = [
        ('applications', '0006_grant_token_family_index'),
    ]

    operations = [
        migrations.RunPython(reset_unsupported, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='application',
            name='algorithm',
            field=models.CharField(blank=True, choices=[('', 'Deployment default (LATCHKEY_SIGNING_ALGORITHM)'), ('RS256', 'RS256: RSA 2048 with SHA-256'), ('ES256', 'ES256: ECDSA P-256 with SHA-256')], default='', help_text="Blank: the deployment's LATCHKEY_SIGNING_ALGORITHM. ES256 signs about 5x faster than RS256, but the relying party must support it.", max_length=5, verbose_name='ID token signing algorithm'),
        ),
    ]
