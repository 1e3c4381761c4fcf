from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from config.admin_helpers import ServiceDeleteMixin
from identity import services
from identity.models import Role, RoleAssignment, User


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 1
    autocomplete_fields = ["role"]
    readonly_fields = ["assigned_at"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserCreationForm
    form = UserEditForm
    list_display = ["email", "name", "is_active", "is_staff", "date_joined"]
    list_filter = ["is_active", "is_staff", "is_superuser", "roles"]
    search_fields = ["email", "name", "given_name", "family_name", "public_id"]
    ordering = ["email"]
    readonly_fields = ["public_id", "last_login", "date_joined"]
    inlines = [RoleAssignmentInline]
    fieldsets = [
        (None, {"fields": ["email", "password", "public_id"]}),
        (
            "Profile",
            {
                "fields": [
                    "name",
                    "given_name",
                    "family_name",
                    "picture",
                    "phone_number",
                    "email_verified",
                    "phone_number_verified",
                ]
            },
        ),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "usable_password", "password1", "password2"]}),
    ]


class RoleAdminForm(forms.ModelForm):
    class Meta:
        model = Role
        fields = ["name", "description", "scopes"]
        widgets = {"scopes": forms.CheckboxSelectMultiple}


@admin.register(Role)
class RoleAdmin(ServiceDeleteMixin, admin.ModelAdmin):
    def delete_service(self, *, actor, obj) -> None:
        services.role_delete(actor=actor, role=obj)

    form = RoleAdminForm
    list_display = ["name", "description", "created"]
    search_fields = ["name", "description"]
