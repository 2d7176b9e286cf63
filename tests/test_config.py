from __future__ import annotations

import pytest

from progressista.config import (
    DEFAULT_PUSH_INTERVAL,
    DEFAULT_REQUEST_TIMEOUT,
    DEFAULT_SERVER_URL,
    ClientConfig,
    auth_headers,
)


def test_defaults_without_environment() -> None:
    assert ClientConfig.from_env({}) == ClientConfig(DEFAULT_SERVER_URL, 0.25, 2.0, None, 15.0)
    assert (DEFAULT_SERVER_URL, DEFAULT_PUSH_INTERVAL, DEFAULT_REQUEST_TIMEOUT) == (
        "http://localhost:8000/progress",
        0.25,
        2.0,
    )


def test_reads_every_variable() -> None:
    config = ClientConfig.from_env(
        {
            "PROGRESSISTA_SERVER_URL": " https://dash:9000 ",
            "PROGRESSISTA_PUSH_INTERVAL": "0",
            "PROGRESSISTA_REQUEST_TIMEOUT": "0.5",
            "PROGRESSISTA_API_TOKEN": "s3cret",
            "PROGRESSISTA_HEARTBEAT_INTERVAL": "0",
        }
    )
    assert config == ClientConfig("https://dash:9000", 0.0, 0.5, "s3cret", 0.0)


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROGRESSISTA_PUSH_INTERVAL", "1.5")
    assert ClientConfig.from_env().push_interval == 1.5


@pytest.mark.parametrize("raw", ["abc", "nan", "inf", "-1"])
def test_malformed_numbers_fall_back_to_defaults(raw: str) -> None:
    config = ClientConfig.from_env({"PROGRESSISTA_PUSH_INTERVAL": raw, "PROGRESSISTA_REQUEST_TIMEOUT": raw})
    assert (config.push_interval, config.request_timeout) == (0.25, 2.0)


def test_a_zero_timeout_is_refused() -> None:
    assert ClientConfig.from_env({"PROGRESSISTA_REQUEST_TIMEOUT": "0"}).request_timeout == 2.0


def test_auth_headers() -> None:
    assert auth_headers("t") == {"Authorization": "Bearer t"}
    assert auth_headers(None) == auth_headers("") == {}
