"""`fedgroup demo` prints a sign-in for every role of every group, and each one works (also after a restart
with --data-dir, which keeps the groups)."""

from __future__ import annotations

import asyncio
import re
import signal

from tests.test_cli import CLI, _three_free_ports
from tests.web_client import WebClient

# What each role may open: an admin the members page, an organizer the organizers' pages, a member neither.
ROLE_PAGES = {"admin": ("/admin/members", 200), "organizer": ("/organize", 200), "member": ("/organize", 403)}


async def start_demo(port: int, data_dir: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        *CLI, "demo", "--port", str(port), "--data-dir", data_dir,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out = b""
    while b"Ctrl-C stops" not in out:
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line, (out + await process.stderr.read()).decode()
        out += line
    return process, out.decode()


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
    await asyncio.wait_for(process.wait(), 20)
    assert process.returncode == 0


def sign_ins(text: str) -> list[tuple[str, str, str]]:
    """(base URL, role, name) for every sign-in the demo printed."""
    found = []
    for base, accounts in re.findall(r"^\s+(http://127\.0\.0\.1:\d+)/login\s+(.+)$", text, re.M):
        for role, name in re.findall(r"(admin|organizer|member) (\w+)", accounts):
            found.append((base, role, name))
    return found


async def check_sign_in(base: str, role: str, name: str, password: str) -> None:
    browser = WebClient(base)
    try:
        await browser.sign_in(name, password)
        path, status = ROLE_PAGES[role]
        assert (await browser.get(path)).status == status, (base, role, name)
    finally:
        await browser.close()


async def test_demo_prints_a_working_sign_in_for_each_role_of_each_group(tmp_path):
    port = _three_free_ports()
    process, text = await start_demo(port, str(tmp_path / "demo"))
    try:
        password = re.search(r"every demo account's password is (\S+)\)", text).group(1)
        printed = sign_ins(text)
        bases = {f"http://127.0.0.1:{port + offset}" for offset in range(3)}
        for base in bases:
            assert sorted(role for b, role, _ in printed if b == base) == ["admin", "member", "organizer"]
        for base, role, name in printed:
            await check_sign_in(base, role, name, password)
    finally:
        await stop(process)

    # The same data dir again: the groups are kept, and the printed sign-ins still work.
    process, again = await start_demo(port, str(tmp_path / "demo"))
    try:
        assert sign_ins(again) == printed
        base, role, name = printed[1]
        await check_sign_in(base, role, name, password)
    finally:
        await stop(process)
