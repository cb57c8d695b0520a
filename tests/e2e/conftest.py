"""A real action server and a real Rasa server on loopback, for the whole session."""

from __future__ import annotations

import socket

import pytest

from govbot.processes import start_action_server, start_rasa


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def stack(built_index, tmp_path_factory):
    """(rasa_url, action_url, settings) with both servers running."""
    from core.migrate import upgrade

    upgrade(built_index.database_url)
    logs = tmp_path_factory.mktemp("logs")
    env = {"GOVBOT_DATA_DIR": str(built_index.data_dir),
           "GOVBOT_DATABASE_URL": built_index.database_url,
           "GOVBOT_USE_TUNED_MODEL": "false"}
    actions = start_action_server(free_port(), env=env, log_dir=logs)
    try:
        rasa = start_rasa(free_port(), action_url=actions.url, env=env, log_dir=logs)
    except Exception:
        actions.stop()
        raise
    yield rasa.url, actions.url, built_index
    rasa.stop()
    actions.stop()
