from django.urls import path

from identity.organizations import views

app_name = "organizations"

urlpatterns = [
    path("organizations/invitations/<str:token>", views.invitation, name="invitation"),
]
