"""Production defaults: no default secret key, DEBUG off, secure cookies, deploy checks pass."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; a production process never has it.
UNSET_PREFIXES = ("VALUELOOP_", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(UNSET_PREFIXES)}
    clean.update(env)
    clean["DJANGO_SETTINGS_MODULE"] = "valueloop.settings"
    return subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=120)


def test_production__refuses_to_start_without_a_secret_key(tmp_path):
    result = run_python("import django; django.setup()", VALUELOOP_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "VALUELOOP_SECRET_KEY is not set" in result.stderr


def test_production__secure_defaults(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS > 0, s.ALLOWED_HOSTS, s.MODE)"
    )
    result = run_python(code, VALUELOOP_SECRET_KEY="k" * 64, VALUELOOP_DATA_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False True True True True [] production"


def test_local_mode__generates_a_private_key_once(tmp_path):
    code = "import django; django.setup(); from django.conf import settings as s; print(s.SECRET_KEY)"
    first = run_python(code, VALUELOOP_MODE="local", VALUELOOP_DATA_DIR=str(tmp_path))
    second = run_python(code, VALUELOOP_MODE="local", VALUELOOP_DATA_DIR=str(tmp_path))
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout and len(first.stdout.strip()) >= 50
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


@pytest.mark.slow
def test_check_deploy__passes_with_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "valueloop.cli", "manage", "check", "--deploy", "--fail-level", "WARNING"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("VALUELOOP_", "DATABASE_URL"))},
            "VALUELOOP_SECRET_KEY": "s" * 30 + "-Q9x!v2#Lm7&pZ4@wR8^tY1*uI6(oP3)aS5",
            "VALUELOOP_ALLOWED_HOSTS": "valueloop.example.com",
            "VALUELOOP_DATA_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
