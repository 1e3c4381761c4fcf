"""Receivers of allauth's signals (its published seam): a newly verified address may bring JIT memberships."""

from __future__ import annotations


def join_by_verified_domain(sender, request, email_address, **kwargs) -> None:
    """allauth's `email_confirmed`: the person now holds a verified address, so the organisations listing
    its domain in `jit_email_domains` take them in (services.organization_jit_join, idempotent)."""
    from identity.organizations.services import organization_jit_join

    organization_jit_join(user=email_address.user)
