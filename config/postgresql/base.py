"""Django's PostgreSQL backend (`ENGINE = "config.postgresql"`), which waits for a server starting up.

After a restart PostgreSQL accepts connections before it serves them: until its startup (and, after
a crash or an immediate shutdown, its WAL replay) is done, every new connection is refused with
SQLSTATE 57P03, "the database system is starting up" (or "… is not yet accepting connections").
Connection health checks cannot help there: a worker whose old connection died connects anew, and
that connect fails, so requests kept failing after the database was "back" (its port open). Here a
connect refused that way is retried every DATABASE_STARTUP_POLL_SECONDS for up to
LATCHKEY_DATABASE_STARTUP_WAIT_SECONDS, so the request waits for the server instead of failing.
Anything else (refused, shutting down, bad credentials) fails at once, as before: a database that is
down costs a request no more than it did.

A documented seam: Django's "subclassing the built-in database backends".
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db.backends.postgresql import base

log = logging.getLogger(__name__)

STARTING_UP_SQLSTATE = "57P03"  # cannot_connect_now; also sent while shutting down, hence the messages
STARTING_UP_MESSAGES = ("the database system is starting up", "the database system is not yet accepting connections")
DATABASE_STARTUP_POLL_SECONDS = 0.1


def is_starting_up(error: BaseException) -> bool:
    """Whether a failed connect means "PostgreSQL is starting up": retry shortly, it will serve soon.

    psycopg reports a refused connect with the server's message and no SQLSTATE.
    """
    if getattr(error, "sqlstate", None) == STARTING_UP_SQLSTATE and "shutting down" not in str(error):
        return True
    return any(message in str(error) for message in STARTING_UP_MESSAGES)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        deadline = time.monotonic() + settings.LATCHKEY_DATABASE_STARTUP_WAIT_SECONDS
        while True:
            try:
                return super().get_new_connection(conn_params)
            except self.Database.OperationalError as error:
                if not is_starting_up(error) or time.monotonic() + DATABASE_STARTUP_POLL_SECONDS > deadline:
                    raise
                log.info("PostgreSQL is starting up; connecting again in %.1f s", DATABASE_STARTUP_POLL_SECONDS)
                time.sleep(DATABASE_STARTUP_POLL_SECONDS)
