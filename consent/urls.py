from __future__ import annotations

from django.urls import path

from consent import views

app_name = "consent"

urlpatterns = [
    path("account/apps", views.my_apps, name="my-apps"),
    path("account/apps/<int:consent_id>/revoke", views.revoke, name="revoke"),
]
