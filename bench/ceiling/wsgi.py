import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.ceiling.settings")
application = get_wsgi_application()

BODY = b'{"issuer": "http://127.0.0.1", "keys": []}'


def bare(environ, start_response):
    """No framework at all: the same body straight from a WSGI function."""
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]
