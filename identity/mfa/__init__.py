"""Second factors (issue 20): TOTP apps, recovery codes and passkeys, on django-allauth's MFA.

allauth runs enrolment, the second step of a sign-in, reauthentication and passkey sign-in; this
package answers what is ours: which factors a session has shown (`factors`, and from them the ID
token's `amr`), who must show one (`policies`: the admin console, applications that require it),
limits on wrong codes (`forms`), secrets encrypted at rest (`adapter`), and the audit rows and
events of factor changes (`services`).
"""
