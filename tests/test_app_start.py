"""How `python app.py` picks where to listen, and what it says when it cannot."""
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("gradio")
import app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_flags_win_then_gradio_variables_then_loopback(monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_NAME", "127.0.0.1")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "0")  # 0 would be refused: the flag must win
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert app.address(None, free) == ("127.0.0.1", free)
    monkeypatch.setenv("GRADIO_SERVER_PORT", str(free))
    assert app.address(None, None) == ("127.0.0.1", free)
    monkeypatch.delenv("GRADIO_SERVER_NAME")
    monkeypatch.delenv("GRADIO_SERVER_PORT")
    assert app.address(None, None)[0] == "127.0.0.1"


@pytest.mark.parametrize("env, argv, says", [
    ({"GRADIO_SERVER_PORT": "seventy"}, [], "is not a port number"),
    ({}, ["--port", "70000"], "out of range"),
    ({}, ["--policy", "nobody"], "unknown policy 'nobody'"),
])
def test_bad_settings_are_one_error_line(env, argv, says):
    done = subprocess.run([sys.executable, str(ROOT / "app.py"), *argv], capture_output=True, text=True,
                          env={**_env(), **env}, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:") and says in lines[0], done.stderr


def test_a_taken_port_is_one_error_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, str(ROOT / "app.py"), "--port", str(port)], capture_output=True,
                              text=True, env=_env(), timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in lines[0] and "--port" in lines[0]


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("GRADIO_SERVER")}
