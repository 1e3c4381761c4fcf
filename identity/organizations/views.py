"""The invitation page: a signed-in person accepts an invitation to an organisation (form → service → page).

Not signed in: to the sign-in page and back here. A refused link says why without the invited address.
The link carries the token, so the page is never cached and sends no Referer.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from identity.organizations import policies, selectors, services

REFUSED_STATUS = {"invalid": 404, "email_mismatch": 403}


def _refused(request: HttpRequest, code: str) -> HttpResponse:
    context = {"code": code, "message": policies.REFUSALS[code]}
    return render(request, "organizations/invitation_refused.html", context, status=REFUSED_STATUS.get(code, 410))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    found = selectors.invitation_by_token(token)
    if request.method == "GET":
        if code := policies.invitation_refusal(found, request.user):
            response = _refused(request, code)
        else:
            response = render(request, "organizations/invitation.html", {"organization": found.organization})
    else:
        try:
            membership = services.invitation_accept(user=request.user, token=token)
        except ValidationError as exc:
            response = _refused(request, exc.code if exc.code in policies.REFUSALS else "invalid")
        else:
            response = render(
                request, "organizations/invitation_accepted.html", {"organization": membership.organization}
            )
    response["Referrer-Policy"] = "no-referrer"
    return response
