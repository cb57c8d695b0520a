"""Start and stop the assistant's processes: Rasa server, action server (and later the gateway).

Used by the tests, the benchmark and `govbot stack`; each process is a real server on
loopback, started exactly as in production.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from core.settings import PROJECT_ROOT, get_settings, read_or_create_secret

RASA_BIN = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
MODELS = PROJECT_ROOT / "nlu" / "models"


class StackError(RuntimeError):
    """A process did not start; the message says how to fix it."""


def latest_model() -> Path:
    models = sorted(MODELS.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    if not models:
        raise StackError("No trained Rasa model in nlu/models. Run `make train`.")
    return models[0]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    url: str
    log: Path

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise StackError(f"{url} exited with code {proc.returncode}:\n{tail}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise StackError(f"{url} did not answer within {timeout:.0f} s (log: {log})")


def _spawn(name: str, cmd: list[str], env: dict[str, str], log: Path, health: str,
           url: str, timeout: float) -> Process:
    log.parent.mkdir(parents=True, exist_ok=True)
    out = log.open("w")
    popen = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True)
    process = Process(name, popen, url, log)
    try:
        wait_http(health, popen, log, timeout)
    except StackError:
        process.stop()
        raise
    return process


def start_action_server(port: int = 5055, *, env: dict[str, str] | None = None,
                        log_dir: Path | None = None, timeout: float = 120) -> Process:
    full_env = {**os.environ, "GOVBOT_ACTIONS_WARMUP": "1", **(env or {})}
    log = (log_dir or PROJECT_ROOT / "var" / "logs") / f"actions-{port}.log"
    return _spawn("actions", [sys.executable, "-m", "rasa_sdk", "--actions", "actions",
                              "--port", str(port)], full_env, log,
                  f"http://127.0.0.1:{port}/health", f"http://127.0.0.1:{port}/webhook", timeout)


def start_rasa(port: int = 5005, *, action_url: str, model: Path | None = None,
               env: dict[str, str] | None = None, log_dir: Path | None = None,
               timeout: float = 240) -> Process:
    if not RASA_BIN.exists():
        raise StackError("The Rasa environment is missing. Run `make train` (or make setup).")
    full_env = {**os.environ, **(env or {}), "GOVBOT_ACTION_SERVER_URL": action_url,
                "PYTHONPATH": str(PROJECT_ROOT)}
    log = (log_dir or PROJECT_ROOT / "var" / "logs") / f"rasa-{port}.log"
    # The HTTP API reads and erases conversations: only with the token (the REST channel,
    # /webhooks/rest/webhook, needs none). The gateway started with the same env finds it.
    cmd = [str(RASA_BIN), "run", "--enable-api", "--auth-token", rasa_token_for(full_env),
           "--model", str(model or latest_model()),
           "--endpoints", "nlu/endpoints.yml", "--credentials", "nlu/credentials.yml",
           "--port", str(port), "--interface", "127.0.0.1"]
    # Ready once it answers at all (Rasa listens only after loading the model): /status says
    # 401 without the token, which stays out of URLs that error messages print.
    return _spawn("rasa", cmd, full_env, log, f"http://127.0.0.1:{port}/status",
                  f"http://127.0.0.1:{port}", timeout)


def rasa_token_for(env: dict[str, str]) -> str:
    """The API token of a Rasa server started with `env`, as the gateway started with the
    same env reads it: GOVBOT_RASA_TOKEN, else the one kept in that env's data folder."""
    if env.get("GOVBOT_RASA_TOKEN"):
        return env["GOVBOT_RASA_TOKEN"]
    settings = get_settings()
    if not env.get("GOVBOT_DATA_DIR"):
        return settings.rasa_api_token()
    return read_or_create_secret(PROJECT_ROOT / env["GOVBOT_DATA_DIR"] / "rasa_api_token")


def start_gateway(port: int = 8000, *, rasa_url: str, env: dict[str, str] | None = None,
                  log_dir: Path | None = None, timeout: float = 60) -> Process:
    """The gateway (`govbot serve`): web chat, channels, search API."""
    full_env = {**os.environ, **(env or {}), "GOVBOT_RASA_URL": rasa_url}
    log = (log_dir or PROJECT_ROOT / "var" / "logs") / f"gateway-{port}.log"
    return _spawn("gateway", [sys.executable, "-m", "govbot.cli", "serve", "--port", str(port)],
                  full_env, log, f"http://127.0.0.1:{port}/livez", f"http://127.0.0.1:{port}", timeout)
