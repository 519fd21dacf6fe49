"""Settings the usual ways: defaults < config.toml < FEDGROUP_* environment < flags; the file written by a
TOML library so that any value reads back."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
import tomllib
from pathlib import Path

import aiohttp
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from fedgroup import config as config_module
from tests.test_cli import CLI, assert_one_line_error, free_port, run, run_process

HOSTILE = ['"', "\\", "\n", '"""', "'''", "a\nb = 1", '\\"\n[x]\n', "\x00", "\x7f", "\u2028", "é\t#", "\r\n"]


def a_config(tmp_path: Path) -> config_module.Config:
    return config_module.from_mapping(tmp_path, {"base_url": "https://water.example"})


@given(st.text() | st.sampled_from(HOSTILE))
@settings(max_examples=200, deadline=None)
def test_any_string_setting_reads_back_from_the_written_file(value):
    config = dataclasses.replace(a_config(Path("data")), allow_private_networks=value)
    read = tomllib.loads(config_module.to_toml(config))
    assert read["allow_private_networks"] == value
    assert read["base_url"] == "https://water.example"


def test_every_setting_is_written_and_reads_back(tmp_path):
    config = a_config(tmp_path)
    (tmp_path / "config.toml").write_text(config_module.to_toml(config), encoding="utf-8")
    assert config_module.load(tmp_path, environ={}) == config


def test_environment_overrides_the_file_and_flags_override_the_environment(tmp_path):
    (tmp_path / "config.toml").write_text(
        tomli_w.dumps({"base_url": "https://file.example", "listen_port": 1111, "queue_poll_seconds": 2.0})
    )
    environ = {
        "FEDGROUP_LISTEN_PORT": "2222",
        "FEDGROUP_MANUALLY_APPROVES_FOLLOWERS": "true",
        "FEDGROUP_DELIVERY_RETRY_SECONDS": "4.5",
        "FEDGROUP_NOT_A_SETTING": "ignored",
    }
    config = config_module.load(tmp_path, environ=environ)
    assert config.base_url == "https://file.example"  # file, no variable
    assert config.listen_port == 2222  # variable over file
    assert config.queue_poll_seconds == 2.0  # file over default
    assert config.manually_approves_followers is True
    assert config.delivery_retry_seconds == 4.5
    assert config.listen_host == "127.0.0.1"  # default
    flagged = config_module.with_overrides(config, listen_port=3333, listen_host=None)
    assert flagged.listen_port == 3333 and flagged.listen_host == "127.0.0.1"
    # Every setting has its variable.
    for field in dataclasses.fields(config_module.Config):
        if field.name != "data_dir":
            assert config_module.env_name(field.name) == "FEDGROUP_" + field.name.upper()


def test_a_bad_environment_value_is_the_clis_one_line_error(tmp_path):
    data = tmp_path / "water"
    assert run("init", "--data-dir", str(data), "--base-url", "https://water.example", "--name", "W").returncode == 0
    cases = {
        "FEDGROUP_LISTEN_PORT": ("eighty", "FEDGROUP_LISTEN_PORT must be a whole number"),
        "FEDGROUP_MANUALLY_APPROVES_FOLLOWERS": ("maybe", "must be true or false"),
        "FEDGROUP_BASE_URL": ("ftp://x", "base URL must look like"),
        "FEDGROUP_ALLOW_PRIVATE_NETWORKS": ("sometimes", "allow_private_networks must be"),
    }
    for variable, (value, reason) in cases.items():
        result = subprocess_with_env({variable: value}, "campaign", "list", "--data-dir", str(data))
        assert_one_line_error(result)
        assert reason in result.stderr, result.stderr


def subprocess_with_env(extra: dict[str, str], *args: str):
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDGROUP_")} | extra
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=60)


async def test_serve_takes_its_settings_from_the_environment(tmp_path):
    data = tmp_path / "water"
    assert run_process("init", "--data-dir", str(data), "--base-url", "http://localhost:1", "--name", "W").returncode == 0
    # Nothing in the file for the settings the environment gives.
    (data / "config.toml").write_text(tomli_w.dumps({"queue_poll_seconds": 0.5}), encoding="utf-8")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDGROUP_")} | {
        "FEDGROUP_DATA_DIR": str(data),
        "FEDGROUP_BASE_URL": f"http://127.0.0.1:{port}",
        "FEDGROUP_LISTEN_PORT": str(port),
        "FEDGROUP_LISTEN_HOST": "127.0.0.1",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fedgroup.cli", "serve", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out = ""
        while "fedgroup serving" not in out:
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            if not line:
                raise AssertionError(f"serve exited: {out} {(await process.stderr.read()).decode()}")
            out += line.decode()
        assert f"listening on 127.0.0.1:{port}" in out
        async with aiohttp.ClientSession() as session:
            async with session.get(
                f"http://127.0.0.1:{port}/groups/group", headers={"Accept": "application/activity+json"}
            ) as r:
                assert r.status == 200
                actor = await r.json(content_type=None)
        assert actor["id"].startswith(f"http://127.0.0.1:{port}/")
        assert actor["inbox"].startswith(f"http://127.0.0.1:{port}/")
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)
    assert process.returncode == 0
