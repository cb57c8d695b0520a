"""A real action server and a real Rasa server on loopback, for the whole session."""

from __future__ import annotations

import socket

import pytest

from govbot.processes import start_action_server, start_gateway, start_rasa
from tests.fakes import zalo_api
from tests.fakes.server import BackgroundServer
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo

TOKEN = "123456:TEST-token"


# The teams of the end-to-end tests (fictional): one commune team that always works, so the
# handoff runs the same at any hour, and one that is never in (the out-of-hours path).
E2E_DIRECTORY = """\
central:
  name: Tổ hỗ trợ trung tâm
  telegram_chat_id: "-1009000000001"
  phone: "1900 0000 01"
  hours: {mon-sun: ["00:00-24:00"]}
  members:
    - {telegram_id: 9001, name: Điều phối viên Hà}
provinces:
  - name: Thái Nguyên
    default_team:
      name: Tổ hỗ trợ tỉnh Thái Nguyên
      telegram_chat_id: "-1009000000100"
      phone: "0208 3000 100"
      hours: {mon-sun: ["00:00-24:00"]}
      members:
        - {telegram_id: 9100, name: Cán bộ Tỉnh}
    communes:
      - name: Tân Lập
        kind: xã
        team:
          name: Tổ công nghệ số cộng đồng xã Tân Lập
          telegram_chat_id: "-1009000000101"
          phone: "0912 000 101"
          hours: {mon-sun: ["00:00-24:00"]}
          members:
            - {telegram_id: 9101, name: Nguyễn Văn An, role: leader}
            - {telegram_id: 9102, name: Trần Thị Bình}
      - name: Đồng Hỷ
        kind: xã
        team:
          name: Tổ công nghệ số cộng đồng xã Đồng Hỷ
          telegram_chat_id: "-1009000000102"
          phone: "0912 000 102"
          hours: {sun: ["03:00-03:01"]}
          members:
            - {telegram_id: 9201, name: Lê Văn Cường}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def stack(built_index, tmp_path_factory):
    """(rasa_url, action_url, settings) with both servers running."""
    from core.migrate import upgrade

    upgrade(built_index.database_url)
    from teams.directory import parse_yaml
    from teams.store import TeamStore

    TeamStore(built_index.database_url).import_directory(parse_yaml(E2E_DIRECTORY, "e2e.yml"))
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


@pytest.fixture(scope="session")
def fakes():
    telegram, zalo = FakeTelegram(TOKEN), FakeZalo()
    with BackgroundServer(telegram.app) as tg_server, BackgroundServer(zalo.app) as zalo_server:
        yield telegram, tg_server.url, zalo, zalo_server.url


def gateway_env(settings, tg_url: str, zalo_url: str, **extra: str) -> dict[str, str]:
    return {"GOVBOT_DATA_DIR": str(settings.data_dir), "GOVBOT_DATABASE_URL": settings.database_url,
            "GOVBOT_USE_TUNED_MODEL": "false",
            "GOVBOT_TELEGRAM_BOT_TOKEN": TOKEN, "GOVBOT_TELEGRAM_API_URL": f"{tg_url}/bot",
            "GOVBOT_ZALO_APP_ID": zalo_api.APP_ID, "GOVBOT_ZALO_APP_SECRET": zalo_api.APP_SECRET,
            "GOVBOT_ZALO_OA_SECRET_KEY": zalo_api.OA_SECRET,
            "GOVBOT_ZALO_ACCESS_TOKEN": "access-0", "GOVBOT_ZALO_REFRESH_TOKEN": "refresh-0",
            "GOVBOT_ZALO_API_URL": zalo_url, "GOVBOT_ZALO_OAUTH_URL": zalo_url, **extra}


@pytest.fixture(scope="session")
def gateway(stack, fakes, tmp_path_factory):
    rasa_url, _, settings = stack
    telegram, tg_url, zalo, zalo_url = fakes
    logs = tmp_path_factory.mktemp("gateway-logs")
    port = free_port()
    env = gateway_env(settings, tg_url, zalo_url)
    process = start_gateway(port, rasa_url=rasa_url, env=env, log_dir=logs)
    info = {"url": process.url, "process": process, "port": port, "env": env, "logs": logs,
            "rasa_url": rasa_url, "settings": settings}
    yield info
    info["process"].stop()  # the restart test replaces the process
