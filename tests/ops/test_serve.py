"""`kefu serve` as a real process: the outside contract over HTTP, and graceful shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.ops.test_cli import kefu
from tests.servers import free_port


def test_serve_contract_and_graceful_shutdown(tmp_path: Path):
    data = tmp_path / "data"
    assert kefu(data, "migrate").returncode == 0
    port = free_port()
    env = {**os.environ, "KEFU_DATA_DIR": str(data), "KEFU_PORT": str(port)}
    env.pop("KEFU_DATABASE_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "kefu.cli", "serve"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            time.sleep(0.2)
        token = kefu(data, "token", "customer", "ext-1").stdout.strip().splitlines()[-1]
        other = kefu(data, "token", "customer", "ext-2").stdout.strip().splitlines()[-1]
        auth = {"Authorization": f"Bearer {token}"}
        created = httpx.post(f"{base}/api/v1/tickets", headers=auth,
                             json={"subject": "Withdrawal stuck", "body": "USDT TRC20"})
        assert created.status_code == 201
        number = created.json()["number"]
        assert httpx.get(f"{base}/api/v1/tickets/{number}", headers=auth).status_code == 200
        assert httpx.get(f"{base}/api/v1/tickets/{number}",
                         headers={"Authorization": f"Bearer {other}"}).status_code == 404
        assert httpx.get(f"{base}/api/v1/tickets/{number}").status_code == 404
        assert httpx.get(f"{base}/help", follow_redirects=True).status_code == 200
        assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "Kefu"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            _, stderr = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    # uvicorn shuts down gracefully, then re-raises the signal so supervisors see why it ended.
    assert server.returncode in (0, -signal.SIGTERM), stderr
    events = [json.loads(line).get("event") for line in stderr.splitlines()
              if line.startswith("{")]
    # The lifespan ran its shutdown (job runner stopped, pools closed) before the process ended.
    assert "stopped" in events
