"""The Rasa API token kept in the data folder: created once, private, the same for every
process that asks (even at the same moment); an explicit setting wins."""

from __future__ import annotations

import stat
import threading

from core.settings import Settings, read_or_create_secret
from govbot.processes import rasa_token_for


def test_created_once_private_and_shared(tmp_path) -> None:
    path = tmp_path / "var" / "rasa_api_token"
    results: list[str] = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        results.append(read_or_create_secret(path))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and len(results[0]) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_create_secret(path) == results[0]


def test_rasa_and_the_gateway_agree(tmp_path) -> None:
    """start_rasa derives the token from the env it starts Rasa with; the gateway started with
    that env reads its settings from it."""
    env = {"GOVBOT_DATA_DIR": str(tmp_path)}
    assert rasa_token_for(env) == Settings(data_dir=tmp_path).rasa_api_token()
    assert rasa_token_for({**env, "GOVBOT_RASA_TOKEN": "set-by-admin"}) == "set-by-admin"
    assert Settings(data_dir=tmp_path, rasa_token="set-by-admin").rasa_api_token() == "set-by-admin"
