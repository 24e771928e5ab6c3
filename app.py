"""The web demo: `python app.py [--policy scripted] [--host 0.0.0.0] [--port 7860]`.

Host and port: the flags when given, else GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (what hosting platforms
set), else 127.0.0.1:7860.

The demo itself is the package render/web: each tab's Session and the pool (session.py), what each click
does (controls.py), the page (page.py), both wired (demo.py). This file only reads the flags and starts it;
modal_deploy.py imports `build_demo` from here.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import sys


def _fail(message: str):
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


if __name__ == "__main__" and not os.environ.get("GRADIO_SERVER_PORT", "7860").strip().isdigit():
    # gradio reads this variable as it is imported and dies on a bad one with a traceback
    _fail(f"GRADIO_SERVER_PORT={os.environ['GRADIO_SERVER_PORT']!r} is not a port number")

from render.web.demo import build_demo  # noqa: E402
from sim import registry  # noqa: E402


def address(host: str | None, port: int | None) -> tuple[str, int]:
    """Flags win; else Gradio's own variables; else loopback:7860. A bad or taken port is a SystemExit with
    one `error:` line."""
    host = host or os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    if port is None:
        text = os.environ.get("GRADIO_SERVER_PORT", "7860")
        try:
            port = int(text)
        except ValueError:
            _fail(f"GRADIO_SERVER_PORT={text!r} is not a port number")
    if not 0 < port < 65536:
        _fail(f"port {port} is out of range: pass --port 1-65535")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            _fail(f"cannot listen on {host}:{port} ({exc.strerror or exc}): pass another --port "
                  f"or set GRADIO_SERVER_PORT")
    return host, port


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="smallworlds web demo")
    p.add_argument("--policy", default=None, help="default policy (env SMALLWORLDS_POLICY, else llm)")
    p.add_argument("--backend", default=None, help="default backend (env SMALLWORLDS_BACKEND, else auto)")
    p.add_argument("--model", default=None, help="default model (env SMALLWORLDS_MODEL)")
    p.add_argument("--host", default=None, help="address to listen on (env GRADIO_SERVER_NAME, else 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (env GRADIO_SERVER_PORT, else 7860)")
    args = p.parse_args(argv)
    host, port = address(args.host, args.port)
    # SIGTERM (a supervisor, a closing terminal) must unwind like Ctrl-C so that exit hooks run: the model
    # backend stops its engine processes in one (the engine is built in a worker thread, which cannot set this)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if args.policy is not None and args.policy not in registry.names(registry.POLICIES):
        _fail(f"unknown policy {args.policy!r} (installed: {', '.join(registry.names(registry.POLICIES))})")
    build_demo(policy=args.policy, backend=args.backend, model=args.model).launch(server_name=host, server_port=port)


if __name__ == "__main__":
    main()
