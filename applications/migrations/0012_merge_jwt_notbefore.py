# Joins the two issue-18 branches' migrations (i18-jwt's 0010, i18-notbefore's 0011); no operations.
from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0010_jwt_resource_token_format"),
        ("applications", "0011_notbefore_token_revocation"),
    ]

    operations = []
