"""/oauth/* and /.well-known/*: the protocol surface of PRODUCT.md, no /o/ prefix."""

from django.urls import path

from applications.oauth import device_views, introspection, logout, views

app_name = "oauth"

urlpatterns = [
    path(".well-known/openid-configuration", views.DiscoveryView.as_view(), name="discovery"),
    path(".well-known/oauth-authorization-server", views.DiscoveryView.as_view(), name="as-metadata"),
    path(".well-known/jwks.json", views.JwksView.as_view(), name="jwks"),
    path("oauth/authorize", views.AuthorizeView.as_view(), name="authorize"),
    path("oauth/authorize/consent", views.AuthorizeConsentView.as_view(), name="authorize-consent"),
    path("oauth/token", views.TokenView.as_view(), name="token"),
    path("oauth/revoke", introspection.RevokeView.as_view(), name="revoke"),
    path("oauth/introspect", introspection.IntrospectView.as_view(), name="introspect"),
    path("oauth/userinfo", views.UserInfoView.as_view(), name="userinfo"),
    path("oauth/logout", logout.LogoutView.as_view(), name="logout"),
    path("oauth/device", device_views.DeviceAuthorizationView.as_view(), name="device-authorization"),
    path("device", device_views.DeviceCodeView.as_view(), name="device"),
    path("device/confirm", device_views.DeviceConfirmView.as_view(), name="device-confirm"),
]
