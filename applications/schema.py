"""The Application's field list: the one place that says which fields an application has, how each
reads and parses, and where it is shown.

Every surface derives from `FIELDS`: the management API (its read and write serializers and
their OpenAPI schema), `config export | import` and `app show --json` (the `config` fields), the
`app` command's JSON (`application_as_dict`), the audit snapshot (the `audited` fields) and the
admin form (the model fields behind the writable ones). Adding a field to the Application means:
the model column, one entry here, a migration and tests. A plain column needs only its name: its
API field is derived from the model field (as a DRF ModelSerializer would) and it is shown,
parsed, exported, imported and audited everywhere.

Names are the API's. A surface that must differ derives from this list rather than restating it:
a config file names relations by name (as the API does) and leaves out what does not carry across
environments (`config=False`: ids, dates, the owner).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from applications import policies
from applications.models import Application, SigningAlgorithm

TYPE_CHOICES = policies.ApplicationType.choices
ALGORITHM_HELP = (
    "Algorithm that signs this application's ID tokens (OIDC Dynamic Client Registration's "
    "id_token_signed_response_alg). null: the deployment's LATCHKEY_SIGNING_ALGORITHM. ES256 signs about "
    "5x faster than RS256, but the relying party must support it."
)


class StrictSerializer(serializers.Serializer):
    """Unknown keys are a 400 naming them, so a typo is never silently ignored."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class BrandingSerializer(StrictSerializer):
    logo_url = serializers.CharField(required=False, allow_blank=True, help_text="https URL of a square logo.")
    primary_color = serializers.CharField(required=False, allow_blank=True, help_text="#RRGGBB")
    secondary_color = serializers.CharField(required=False, allow_blank=True, help_text="#RRGGBB")


class AccessControlSerializer(StrictSerializer):
    required_roles = serializers.ListField(
        child=serializers.CharField(), default=list, help_text="Role names a user must all hold. Empty: all users."
    )


class OrganizationAccessSerializer(StrictSerializer):
    organizations = serializers.ListField(
        child=serializers.CharField(), default=list, help_text="Organisation slugs. Empty: any organisation."
    )
    roles = serializers.ListField(
        child=serializers.CharField(),
        default=list,
        help_text="Organisation role names, one of which the member must hold there. Empty: any member.",
    )


class OrganizationAccessReadSerializer(serializers.Serializer):
    organizations = serializers.ListField(child=serializers.CharField())
    roles = serializers.ListField(child=serializers.CharField())


class BrandingReadSerializer(serializers.Serializer):
    logo_url = serializers.CharField()
    primary_color = serializers.CharField()
    secondary_color = serializers.CharField()


class AccessControlReadSerializer(serializers.Serializer):
    required_roles = serializers.ListField(child=serializers.CharField())


@extend_schema_field(serializers.ChoiceField(choices=SigningAlgorithm.choices, allow_null=True))
class SigningAlgorithmField(serializers.CharField):
    """A string, or null (and "") for the deployment default; which strings are allowed is the policies' call."""

    def __init__(self, **kwargs) -> None:
        super().__init__(allow_null=True, allow_blank=True, **kwargs)

    def to_internal_value(self, data) -> str | None:
        return super().to_internal_value(data) or None


BRANDING_FIELDS = ("logo_url", "primary_color", "secondary_color")


def _names(related) -> list[str]:
    return sorted(item.name for item in related.all())


def _branding(application: Application) -> dict | None:
    brand = getattr(application, "branding", None)
    return None if brand is None else {field: getattr(brand, field) for field in BRANDING_FIELDS}


def _isoformat(value) -> str | None:
    return value.isoformat() if value else None


def _strings(help_text: str = "", *, default=list) -> Callable[[], serializers.Field]:
    return lambda: serializers.ListField(child=serializers.CharField(), default=default, help_text=help_text)


def _read_strings() -> serializers.Field:
    return serializers.ListField(child=serializers.CharField())


@dataclass(frozen=True)
class ApplicationField:
    """One field of an application as every surface shows it.

    `column` is the model attribute a parsed value is set on; None for what the services take
    beside the row (scopes and roles by name, branding) or what nobody writes. `write` builds the
    field that parses it from the API or a config file (None: read-only); `read` and `doc` give
    its value and how the API documents it. Left out, all three derive from the model column.
    """

    name: str
    column: str | None = None
    read: Callable[[Application], Any] | None = None
    write: Callable[[], serializers.Field] | None = None
    doc: Callable[[], serializers.Field] | None = None
    writable: bool = True
    config: bool = True  # in a config file entry (and `app show --json`)
    audited: bool = True  # in the audit snapshot
    model_fields: tuple[str, ...] | None = None  # what the admin form edits; default: (column,)

    def value(self, application: Application) -> Any:
        return self.read(application) if self.read else getattr(application, self.column)

    def write_field(self) -> serializers.Field | None:
        if not self.writable:
            return None
        return self.write() if self.write else _model_field(self.column, for_write=True)

    def doc_field(self) -> serializers.Field:
        if self.doc:
            return self.doc()
        return _model_field(self.column, for_write=False) if self.column else serializers.CharField()

    @property
    def edited_model_fields(self) -> tuple[str, ...]:
        if self.model_fields is not None:
            return self.model_fields
        return (self.column,) if self.column and self.writable else ()


def _model_field(column: str, *, for_write: bool) -> serializers.Field:
    """The DRF field a ModelSerializer would make for `column` (a plain column's default)."""

    class Columns(serializers.ModelSerializer):
        class Meta:
            model = Application
            fields = [column]

    field = Columns().get_fields()[column]  # unbound, to be bound to the serializer that uses it
    if not for_write:
        field.required, field.read_only = True, False
    return field


# In config-file order (`config export` writes keys in this order); API-only fields last.
FIELDS: tuple[ApplicationField, ...] = (
    ApplicationField("client_id", column="client_id", writable=False, doc=serializers.CharField),
    ApplicationField(
        "name",
        column="name",
        write=lambda: serializers.CharField(help_text="Unique, case-insensitively; shown on the consent screen."),
    ),
    ApplicationField(
        "type",
        column="type",
        write=lambda: serializers.ChoiceField(choices=TYPE_CHOICES, help_text="Fixed at creation."),
    ),
    ApplicationField(
        "description", column="description", write=lambda: serializers.CharField(default="", allow_blank=True)
    ),
    ApplicationField(
        "redirect_uris",
        column="redirect_uris",
        read=lambda app: app.redirect_uri_list,
        write=_strings("Exact redirect URIs; required except for m2m."),
        doc=_read_strings,
    ),
    ApplicationField(
        "post_logout_redirect_uris",
        column="post_logout_redirect_uris",
        read=lambda app: app.post_logout_redirect_uri_list,
        write=_strings("Exact URIs allowed after sign-out."),
        doc=_read_strings,
    ),
    ApplicationField(
        "cors_origins",
        column="allowed_origins",
        read=lambda app: app.cors_origin_list,
        write=_strings("Browser origins (scheme://host[:port]); required for spa."),
        doc=_read_strings,
    ),
    ApplicationField(
        "allowed_scopes",
        read=lambda app: _names(app.allowed_scopes),
        write=_strings("Scope names from the catalogue."),
        doc=_read_strings,
        model_fields=("allowed_scopes",),
    ),
    ApplicationField(
        "access_token_ttl",
        column="access_token_ttl",
        write=lambda: serializers.IntegerField(default=policies.DEFAULT_ACCESS_TOKEN_TTL, help_text="Seconds."),
    ),
    ApplicationField(
        "refresh_token_ttl",
        column="refresh_token_ttl",
        write=lambda: serializers.IntegerField(default=policies.DEFAULT_REFRESH_TOKEN_TTL, help_text="Seconds."),
    ),
    ApplicationField(
        "id_token_ttl",
        column="id_token_ttl",
        write=lambda: serializers.IntegerField(default=policies.DEFAULT_ID_TOKEN_TTL, help_text="Seconds."),
    ),
    ApplicationField(
        "id_token_signed_response_alg",
        column="algorithm",
        read=lambda app: app.id_token_signed_response_alg,
        write=lambda: SigningAlgorithmField(default=None, help_text=ALGORITHM_HELP),
        doc=lambda: serializers.ChoiceField(
            choices=SigningAlgorithm.choices, allow_null=True, help_text=ALGORITHM_HELP
        ),
    ),
    ApplicationField(
        "refresh_token_rotation",
        column="refresh_token_rotation",
        write=lambda: serializers.BooleanField(default=True),
    ),
    ApplicationField(
        "pkce_required",
        column="pkce_required",
        write=lambda: serializers.BooleanField(default=False, help_text="web only: require PKCE."),
    ),
    ApplicationField(
        "auth_methods",
        column="auth_methods",
        read=lambda app: list(app.auth_methods or []),
        write=_strings(
            '"password", provider_id values of this application\'s sign-in providers, and "mfa" to require a '
            "second factor too. Empty: every method the application has enabled.",
            default=policies.default_auth_methods,
        ),
        doc=_read_strings,
    ),
    ApplicationField(
        "access_control",
        read=lambda app: {"required_roles": _names(app.required_roles)},
        write=lambda: AccessControlSerializer(default=dict),
        doc=AccessControlReadSerializer,
        model_fields=("required_roles",),
    ),
    ApplicationField(
        "organization_access",
        column="organization_access",
        write=lambda: OrganizationAccessSerializer(
            default=None,
            allow_null=True,
            help_text="null: no rule. Otherwise only members of the listed organisations (any, when none) "
            "who hold one of the listed organisation roles there (any, when none) sign in.",
        ),
        doc=lambda: OrganizationAccessReadSerializer(allow_null=True),
    ),
    ApplicationField(
        "m2m_roles",
        read=lambda app: _names(app.m2m_roles),
        write=_strings("m2m only: role names."),
        doc=_read_strings,
        model_fields=("m2m_roles",),
    ),
    ApplicationField(
        "trusted",
        column="trusted",
        write=lambda: serializers.BooleanField(default=False, help_text="First-party: consent is skipped."),
    ),
    ApplicationField("is_active", column="is_active", write=lambda: serializers.BooleanField(default=True)),
    ApplicationField(
        "branding",
        read=_branding,
        write=lambda: BrandingSerializer(
            default=None, allow_null=True, help_text="Replaced as a whole; null removes it."
        ),
        doc=lambda: BrandingReadSerializer(allow_null=True),
        model_fields=(),  # an inline in the admin
    ),
    # Not configuration: what this deployment knows about the application.
    ApplicationField(
        "id", read=lambda app: app.pk, doc=serializers.IntegerField, writable=False, config=False, audited=False
    ),
    ApplicationField(
        "owner",
        read=lambda app: app.owner.email if app.owner_id else None,
        doc=lambda: serializers.EmailField(allow_null=True, help_text="Email of the user responsible for it."),
        writable=False,
        config=False,
        model_fields=("owner",),
    ),
    ApplicationField(
        "client_secret_last_used_at",
        read=lambda app: _isoformat(app.client_secret_last_used_at),
        doc=lambda: serializers.DateTimeField(allow_null=True),
        writable=False,
        config=False,
        audited=False,
    ),
    ApplicationField(
        "created",
        read=lambda app: _isoformat(app.created),
        doc=serializers.DateTimeField,
        writable=False,
        config=False,
        audited=False,
    ),
    ApplicationField(
        "updated",
        read=lambda app: _isoformat(app.updated),
        doc=serializers.DateTimeField,
        writable=False,
        config=False,
        audited=False,
    ),
)

# Derived on each call (the list is cheap to walk), so every surface follows FIELDS as it is.


def config_fields() -> tuple[str, ...]:
    return tuple(field.name for field in FIELDS if field.config)


def audited_fields() -> tuple[str, ...]:
    return tuple(field.name for field in FIELDS if field.audited)


def column_fields() -> dict[str, str]:
    """API field -> model column, for the writable columns."""
    return {field.name: field.column for field in FIELDS if field.writable and field.column}


def api_field_of() -> dict[str, str]:
    """Model field -> API field, to report the services' errors under the names the caller used."""
    return {
        **{column: name for name, column in column_fields().items()},
        "required_roles": "access_control.required_roles",
        "__all__": "non_field_errors",
    }


# What the admin form edits, in field-list order (read when the admin is defined).
ADMIN_MODEL_FIELDS = tuple(model_field for field in FIELDS for model_field in field.edited_model_fields)


def application_values(application: Application, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The application's values of `names` (default: every field), in field-list order."""
    fields = FIELDS if names is None else [field for field in FIELDS if field.name in names]
    return {field.name: field.value(application) for field in fields}


def columns_from(data: dict) -> dict[str, Any]:
    """The model columns that parsed (API-named) `data` sets."""
    return {column: data[name] for name, column in column_fields().items() if name in data}
