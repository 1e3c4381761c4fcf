import json
import os

from django.core.wsgi import get_wsgi_application

from bench.ceiling.settings import DOCUMENT

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.ceiling.settings")
application = get_wsgi_application()

BODY = json.dumps(DOCUMENT).encode()  # the bytes the Django view sends


def bare(environ, start_response):
    """No framework at all: the same body straight from a WSGI function."""
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]
