from __future__ import annotations

import pytest

from backend.settings import SettingsError, load_settings


def test_defaults_are_the_embedded_sqlite_database() -> None:
    settings = load_settings(environ={})
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.database_url.endswith("var/gridvend.db")
    assert settings.port == 8000


def test_values_come_from_gridvend_variables() -> None:
    settings = load_settings(
        environ={
            "GRIDVEND_DATABASE_URL": "postgresql+asyncpg://u@db/gv",
            "GRIDVEND_PORT": "9000",
            "GRIDVEND_COOKIE_SECURE": "yes",
            "GRIDVEND_TIMEZONE": "Africa/Lagos",
            "GRIDVEND_CURRENCY": "NGN",
        }
    )
    assert settings.port == 9000 and settings.cookie_secure and settings.currency == "NGN"
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GRIDVEND_PORT": "eighty"}, "GRIDVEND_PORT must be a whole number"),
        ({"GRIDVEND_PORT": "70000"}, "GRIDVEND_PORT must be between 1 and 65535"),
        ({"GRIDVEND_TIMEZONE": "Mars/Olympus"}, "GRIDVEND_TIMEZONE must be an IANA time zone"),
        ({"GRIDVEND_CURRENCY": "shilling"}, "GRIDVEND_CURRENCY must be a three-letter ISO 4217 code"),
        ({"GRIDVEND_DATABASE_URL": "mysql://x"}, "GRIDVEND_DATABASE_URL must start with"),
        ({"GRIDVEND_COOKIE_SECURE": "maybe"}, "GRIDVEND_COOKIE_SECURE must be true or false"),
        ({"GRIDVEND_LOG_LEVEL": "loud"}, "GRIDVEND_LOG_LEVEL must be one of"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=env)
