from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Identity"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from identity import checks  # noqa: F401  (registers latchkey.W002)
        from identity.auth_time import record_sign_in

        user_logged_in.connect(record_sign_in, dispatch_uid="latchkey.record_sign_in")

        from allauth.mfa import signals as mfa_signals

        from identity.mfa import factors, services

        # A factor shown counts for the session's sign-in (its amr, step-up, the admin console).
        mfa_signals.authenticator_used.connect(factors.on_authenticator_used, dispatch_uid="latchkey.factor_used")
        mfa_signals.authenticator_added.connect(factors.on_authenticator_added, dispatch_uid="latchkey.factor_proven")
        # Factor changes on the account page: audited, and events for webhooks.
        mfa_signals.authenticator_added.connect(services.on_authenticator_added, dispatch_uid="latchkey.factor_added")
        mfa_signals.authenticator_removed.connect(
            services.on_authenticator_removed, dispatch_uid="latchkey.factor_removed"
        )
        mfa_signals.authenticator_reset.connect(services.on_authenticator_reset, dispatch_uid="latchkey.factor_reset")
