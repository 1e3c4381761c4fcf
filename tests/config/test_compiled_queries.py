"""config.compiled_queries: the same rows and instances as the queryset or Model.save(), compiled only once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value, signals
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from applications.models import Application
from config.compiled_queries import CompiledInsert, CompiledQuery, CompiledUpdate
from tests.applications.factories import make_application
from tests.identity.factories import UserFactory

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()

pytestmark = pytest.mark.django_db

token_with_relations = CompiledQuery(
    lambda checksum: AccessToken.objects.select_related("application", "user").filter(token_checksum=checksum)
)
token_of_application = CompiledQuery(
    lambda checksum, application_id: AccessToken.objects.filter(token_checksum=checksum, application_id=application_id)
)


def _fields(instance) -> list:
    return [getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields]


def _token(application, user=None, checksum="a" * 64, **fields):
    return AccessToken.objects.create(
        application=application,
        user=user,
        token_checksum=checksum,
        expires=timezone.now() + timedelta(hours=1),
        scope="openid profile",
        **fields,
    )


def test_builds_the_same_instances_as_the_queryset_with_select_related():
    application, _ = make_application()
    user = UserFactory(name="Ada Lovelace")
    _token(application, user, resource=["https://api.example.com"])

    compiled = token_with_relations.first("a" * 64)
    expected = AccessToken.objects.select_related("application", "user").get(token_checksum="a" * 64)

    assert _fields(compiled) == _fields(expected)
    assert _fields(compiled.application) == _fields(expected.application)
    assert _fields(compiled.user) == _fields(expected.user)
    assert compiled.resource == ["https://api.example.com"]  # converters applied (JSON)
    assert compiled.expires.tzinfo is not None
    with CaptureQueriesContext(connection) as queries:  # the relations came with the row
        assert compiled.application.client_id == application.client_id
        assert compiled.user.name == "Ada Lovelace"
    assert len(queries) == 0


def test_a_null_relation_is_none_and_a_miss_is_none():
    application, _ = make_application(type="m2m")
    _token(application, None, checksum="b" * 64)

    assert token_with_relations.first("b" * 64).user is None
    assert token_with_relations.first("c" * 64) is None
    assert token_with_relations.first("b" * 32 + "\x00") is None  # PostgreSQL would refuse the parameter


def test_each_call_uses_its_own_parameters_and_compiles_once():
    application, _ = make_application()
    other, _ = make_application()
    _token(application, checksum="d" * 64)
    _token(other, checksum="e" * 64)

    assert token_of_application.first("d" * 64, application.pk).application_id == application.pk
    assert token_of_application.first("d" * 64, other.pk) is None  # another client's token
    assert token_of_application.first("e" * 64, other.pk).application_id == other.pk

    built = []

    def build(client_id):
        built.append(client_id)
        return Application.objects.filter(client_id=client_id)

    by_client_id = CompiledQuery(build)
    assert by_client_id.first(application.client_id).pk == application.pk
    assert by_client_id.first(other.client_id).pk == other.pk
    assert len(built) == 1


def test_counts_as_one_query_like_any_other():
    application, _ = make_application()
    _token(application, checksum="f" * 64)
    with CaptureQueriesContext(connection) as queries:
        token_with_relations.first("f" * 64)
    assert len(queries) == 1


def test_each_thread_compiles_for_its_own_connection():
    application, _ = make_application()
    found = []

    def lookup():
        try:
            found.append(token_of_application.first("0" * 64, application.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=lookup)
    thread.start()
    thread.join()
    assert found == [None]


def test_a_transformed_or_unsupported_parameter_fails_loudly():
    contains = CompiledQuery(lambda name: Application.objects.filter(name__contains=name))
    with pytest.raises(ValueError, match="transformed"):
        contains.first("web")
    with pytest.raises(TypeError, match="str or int"):
        token_with_relations.first(None)


def test_values_list_rows_are_tuples_and_unions_compile():
    first, _ = make_application(name="First")
    second, _ = make_application(name="Second")
    names = CompiledQuery(lambda: Application.objects.order_by("name").values_list("name", "client_id"))
    assert list(names.rows()) == [("First", first.client_id), ("Second", second.client_id)]

    either = CompiledQuery(
        lambda one, other: (
            Application.objects.filter(pk=one)
            .order_by()
            .values_list("name")
            .union(Application.objects.filter(pk=other).order_by().values_list("name"))
        )
    )
    assert sorted(either.rows(first.pk, second.pk)) == [("First",), ("Second",)]
    assert list(either.rows(first.pk, first.pk)) == [("First",)]


def test_flat_or_reordered_values_are_refused():
    with pytest.raises(TypeError, match="not flat"):
        CompiledQuery(lambda: Application.objects.values_list("name", flat=True)).first()
    with pytest.raises(TypeError, match="not flat"):
        CompiledQuery(lambda: Application.objects.values("name")).first()


def test_annotations_are_set_on_the_instances_like_the_queryset_does():
    from django.db.models import Count, OuterRef, Subquery

    application, _ = make_application(name="Annotated")
    _token(application, checksum="d" * 64)
    with_scope_of_newest = CompiledQuery(
        lambda pk: Application.objects.filter(pk=pk).annotate(
            token_count=Count("accesstoken"),
            newest_scope=Subquery(
                AccessToken.objects.filter(application=OuterRef("pk")).order_by("-created").values("scope")[:1]
            ),
        )
    )

    compiled = with_scope_of_newest.first(application.pk)

    assert (compiled.token_count, compiled.newest_scope) == (1, "openid profile")
    assert compiled.name == "Annotated"


def test_related_manager_querysets_are_refused():
    application, _ = make_application()
    with pytest.raises(TypeError, match="related manager"):
        CompiledQuery(lambda: application.accesstoken_set.all()).first()


# --- CompiledInsert ----------------------------------------------------------------------------------

insert_access_token = CompiledInsert(AccessToken)


EXPIRES = timezone.now() + timedelta(hours=1)


def _unsaved_token(application, user, raw_token: str) -> AccessToken:
    token = AccessToken(
        application=application,
        user=user,
        expires=EXPIRES,
        scope="openid",
        resource=["https://api.example.com"],
    )
    token._raw_token = raw_token  # what django-oauth-toolkit's _set_token_value does when tokens are hashed at rest
    return token


def _stored(model, pk) -> dict:
    row = model.objects.filter(pk=pk).values().get()
    return {k: v for k, v in row.items() if k not in ("id", "created", "updated")}


def test_writes_the_row_model_save_writes_and_leaves_the_instance_saved():
    application, _ = make_application()
    user = UserFactory()
    by_save, compiled = _unsaved_token(application, user, "first"), _unsaved_token(application, user, "second")
    by_save.save()

    with CaptureQueriesContext(connection) as queries:
        returned = insert_access_token.save(compiled)

    assert returned is compiled
    assert len(queries) == 1 and queries[0]["sql"].startswith("INSERT INTO")
    assert compiled.pk is not None and compiled.pk != by_save.pk
    assert compiled._state.adding is False and compiled._state.db == "default"
    expected = _stored(AccessToken, by_save.pk)
    expected["token_checksum"] = token_checksum_of("second")  # the field's pre_save ran: checksum of the raw token
    assert _stored(AccessToken, compiled.pk) == expected
    stored = AccessToken.objects.get(pk=compiled.pk)
    assert stored.created is not None and stored.updated is not None  # auto_now_add and auto_now
    assert stored.created == compiled.created


def token_checksum_of(raw: str) -> str:
    import hashlib

    return hashlib.sha256(raw.encode()).hexdigest()


def test_sends_the_save_signals_with_created():
    application, _ = make_application()
    received = []

    def pre(sender, instance, **kwargs):
        received.append(("pre_save", instance.pk, kwargs["raw"], kwargs["update_fields"]))

    def post(sender, instance, created, **kwargs):
        received.append(("post_save", instance.pk is not None, created))

    signals.pre_save.connect(pre, sender=AccessToken)
    signals.post_save.connect(post, sender=AccessToken)
    try:
        insert_access_token.save(_unsaved_token(application, None, "signalled"))
    finally:
        signals.pre_save.disconnect(pre, sender=AccessToken)
        signals.post_save.disconnect(post, sender=AccessToken)
    assert received == [("pre_save", None, False, None), ("post_save", True, True)]


def test_refuses_saved_instances_other_models_unsaved_relations_and_expressions():
    application, _ = make_application()
    saved = _unsaved_token(application, None, "saved")
    insert_access_token.save(saved)
    with pytest.raises(ValueError, match="new AccessToken instances only"):
        insert_access_token.save(saved)
    with pytest.raises(ValueError, match="new AccessToken instances only"):
        insert_access_token.save(RefreshToken(application=application))
    with pytest.raises(ValueError, match="unsaved related object"):
        insert_access_token.save(_unsaved_token(Application(name="never saved"), None, "orphan"))
    with_expression = _unsaved_token(application, None, "expression")
    with_expression.scope = Value("openid")
    with pytest.raises(TypeError, match="expression"):
        insert_access_token.save(with_expression)
    fresh = CompiledInsert(AccessToken)  # refused before anything is compiled from it
    with pytest.raises(TypeError, match="expression"):
        fresh.save(with_expression)
    assert fresh.save(_unsaved_token(application, None, "plain")).scope == "openid"
    assert AccessToken.objects.count() == 2


def test_a_failed_insert_marks_the_transaction_for_rollback_like_model_save():
    application, _ = make_application()
    first = _unsaved_token(application, None, "same")
    insert_access_token.save(first)
    with transaction.atomic():
        with pytest.raises(IntegrityError):  # token_checksum is unique
            insert_access_token.save(_unsaved_token(application, None, "same"))
        assert transaction.get_connection().needs_rollback  # leaving the block rolls back to its savepoint
    assert AccessToken.objects.filter(token_checksum=token_checksum_of("same")).count() == 1


class ProxyAccessToken(AccessToken):
    class Meta:
        proxy = True
        app_label = "oauth2_provider"


def test_models_that_save_differently_are_refused():
    with pytest.raises(TypeError, match="saves differently"):  # Application has a save() of its own
        CompiledInsert(Application)
    with pytest.raises(TypeError, match="not a plain model"):
        CompiledInsert(ProxyAccessToken)


# --- CompiledUpdate ----------------------------------------------------------------------------------

tokens_of_application = CompiledUpdate(
    lambda checksum, application_id: AccessToken.objects.filter(token_checksum=checksum, application_id=application_id)
)


def test_updates_what_queryset_update_updates_and_counts_the_rows():
    application, _ = make_application()
    other, _ = make_application()
    user = UserFactory()
    token = _token(application, user, checksum="b" * 64)
    _token(other, user, checksum="c" * 64)
    later = EXPIRES + timedelta(days=1)

    with CaptureQueriesContext(connection) as queries:
        assert tokens_of_application.update("b" * 64, application.pk, expires=later, scope="read", user=None) == 1
        assert tokens_of_application.update("c" * 64, application.pk, expires=later) == 0  # another client's
        assert tokens_of_application.update("b\x00" * 32, application.pk, expires=later) == 0  # NUL: no row
    assert len(queries) == 2 and all(q["sql"].startswith("UPDATE") for q in queries)
    token.refresh_from_db()
    assert (token.expires, token.scope, token.user_id) == (later, "read", None)
    assert AccessToken.objects.get(token_checksum="c" * 64).expires != later


def test_a_value_that_becomes_none_or_not_gets_its_own_statement():
    application, _ = make_application()
    user = UserFactory()
    token = _token(application, user, checksum="d" * 64)

    tokens_of_application.update("d" * 64, application.pk, user=None)
    token.refresh_from_db()
    assert token.user_id is None
    tokens_of_application.update("d" * 64, application.pk, user=user)  # a model instance: its key
    token.refresh_from_db()
    assert token.user_id == user.pk
    tokens_of_application.update("d" * 64, application.pk, user=None)
    token.refresh_from_db()
    assert token.user_id is None


def test_expressions_joins_and_unsaved_instances_are_refused():
    application, _ = make_application()
    _token(application, None, checksum="e" * 64)
    with pytest.raises(TypeError, match="expressions"):
        tokens_of_application.update("e" * 64, application.pk, scope=F("scope"))
    joined = CompiledUpdate(lambda name: AccessToken.objects.filter(application__name=name))
    with pytest.raises(TypeError, match="join"):
        joined.update(application.name, scope="read")
    with pytest.raises(ValueError, match="Unsaved model instance"):  # as QuerySet.update() says
        CompiledUpdate(lambda pk: AccessToken.objects.filter(pk=pk)).update(1, user=UserFactory.build())
    assert AccessToken.objects.get(token_checksum="e" * 64).scope == "openid profile"
