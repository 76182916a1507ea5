"""Settings of a minimal stand-in for the old Django + DRF + djoser + simplejwt
service, only as much of it as the user-import fixtures need.

The databases are throwaway SQLite files in OLDSERVICE_DB_DIR (make_fixtures.py
points it at a temporary directory): "default" holds the users of users.json,
"conflicts" the separate run that conflicts.json is dumped from.
"""

import os
import tempfile
from datetime import timedelta

SECRET_KEY = "django-insecure-legacy-signing-key-for-the-import-tests-0123456789"
DEBUG = False
ALLOWED_HOSTS = []

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework_simplejwt",
    "users",
]

AUTH_USER_MODEL = "users.User"

_DB_DIR = os.environ.get("OLDSERVICE_DB_DIR") or os.path.join(
    tempfile.gettempdir(), "oldservice-fixtures"
)
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(_DB_DIR, "default.sqlite3"),
    },
    "conflicts": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(_DB_DIR, "conflicts.sqlite3"),
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"

# Every hasher the old service could have met; the first is what it wrote.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": (
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ),
}

# simplejwt's defaults (HS256 signed with SECRET_KEY, claim "user_id", ...),
# except for lifetimes long enough that the committed tokens stay valid.
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(days=36500),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=36500),
    "ALGORITHM": "HS256",
}
