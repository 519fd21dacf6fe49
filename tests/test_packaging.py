"""The packaging an operator uses: the image's health check against a live server, the systemd units as
systemd reads them, and the Dockerfile's promises (non-root, data in a volume, listening beyond loopback)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli import free_port

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def instruction(name: str) -> str:
    """The text of the Dockerfile's (last) instruction `name`, continuation lines joined."""
    joined = DOCKERFILE.replace("\\\n", " ")
    found = re.findall(rf"^{name}\s+(.*)$", joined, flags=re.MULTILINE)
    assert found, f"no {name} in the Dockerfile"
    return found[-1]


def healthcheck_command() -> list[str]:
    text = instruction("HEALTHCHECK")
    return json.loads(text[text.index("CMD") + 3 :].strip())


def test_the_image_runs_serve_as_a_user_with_its_data_in_a_volume():
    assert instruction("FROM").startswith("python:3.11-slim")
    assert instruction("USER") not in ("root", "0")
    assert json.loads(instruction("VOLUME")) == ["/data"]
    assert "FEDGROUP_DATA_DIR=/data" in DOCKERFILE
    assert json.loads(instruction("CMD")) == ["fedgroup", "serve", "--host", "0.0.0.0"]


async def test_the_images_health_check_asks_healthz_of_the_running_server(make_server):
    server = await make_server()
    python, *rest = healthcheck_command()
    assert python == "python"

    async def check(port: int) -> tuple[int | None, bytes]:
        # Awaited: the server answering it runs in this test's event loop.
        process = await asyncio.create_subprocess_exec(
            sys.executable, *rest, env=dict(os.environ, FEDGROUP_LISTEN_PORT=str(port)),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(process.communicate(), 30)
        return process.returncode, err

    status, err = await check(server.port)
    assert status == 0, err
    # Nothing listening: the check fails, so Docker marks the container unhealthy.
    status, _ = await check(free_port())
    assert status != 0


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_reads_the_units_without_complaint(tmp_path):
    executable = Path(sys.executable).parent / "fedgroup"
    for template in ("fedgroup@.service", "fedgroup-backup@.service", "fedgroup-backup@.timer"):
        text = (ROOT / "deploy" / template).read_text(encoding="utf-8")
        (tmp_path / template.replace("@.", "@water.")).write_text(
            text.replace("/opt/fedgroup/bin/fedgroup", str(executable)), encoding="utf-8"
        )
    units = sorted(str(p) for p in tmp_path.iterdir())
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
