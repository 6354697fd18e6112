"""Settings for the test suite. ``DATABASE_URL`` selects PostgreSQL; SQLite otherwise."""

import os

from .base import *  # noqa: F403
from .base import DATABASES, HUEY, VAR_DIR

DEBUG = False
# Fast hashing in tests; argon2 itself is checked by a dedicated test.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
HUEY = {**HUEY, "immediate": True}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True  # a web process started by a test serves static files from the sources

# Close connections after each use, so threads (websocket consumers, the live server) leave none
# open and PostgreSQL can drop the test database at the end.
DATABASES["default"]["CONN_MAX_AGE"] = 0

# SQLite tests run on a file, as the embedded platform does (WAL, IMMEDIATE transactions, busy
# timeout), so that tests with threads see real locking rather than shared-cache table locks.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # one file per test process, so parallel runs on one machine do not share it
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-hotline-{os.getpid()}.sqlite3")}
