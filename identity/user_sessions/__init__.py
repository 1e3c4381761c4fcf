"""A person's signed-in sessions (issue 20, item 4): listed on the account page with their device, when
they signed in and the applications they signed in to; any of them ended (signed out, and what it handed
out revoked), or all at once ("sign out everywhere", which also revokes every refresh token).

allauth's usersessions keeps one row per session (browser, address, time); the codes a session
issued carry its sign-in id (applications Grant.sign_in_id, from identity.auth_time), which is how a
session's applications and tokens are found.
"""
