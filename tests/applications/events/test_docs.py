"""docs/events.md is written from the catalogue: they cannot drift apart."""

from __future__ import annotations

from applications.events import docs
from applications.events.catalogue import EVENT_TYPES


def test_events_doc_catalogue_section_matches_the_catalogue():
    text = docs.DOC.read_text()
    assert docs.section_of(text) == docs.catalogue_markdown(), (
        "docs/events.md is out of date: run `.venv/bin/python -m applications.events.docs`"
    )


def test_events_doc_names_every_type_and_payload_key():
    section = docs.section_of(docs.DOC.read_text())
    for spec in EVENT_TYPES.values():
        assert f"### {spec.name}\n" in section
        for key in (*spec.required, *spec.optional):
            assert f"`{key}`" in section


def test_events_doc_describes_envelope_and_signature_headers():
    text = docs.DOC.read_text()
    for needed in ('"id"', '"type"', '"timestamp"', '"application"', '"data"', "webhook-id", "webhook-timestamp"):
        assert needed in text
    assert "webhook-signature" in text


def test_readme_links_the_events_doc():
    assert "(docs/events.md)" in (docs.DOC.parents[1] / "README.md").read_text()
