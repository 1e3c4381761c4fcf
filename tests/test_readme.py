"""The README tells a new operator the truth: the demo data, the secrets it prints, what its examples need."""

from __future__ import annotations

import re
from pathlib import Path

from applications.management.commands.seed_demo import DEMO_APPS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CONFIDENTIAL = {"web", "m2m"}


def sections() -> dict[str, str]:
    """Each `##`/`###` heading's text up to the next heading."""
    parts = re.split(r"^(#{2,3} .+)$", README, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)


def demo_table() -> dict[str, list[str]]:
    """{app name: its row's cells} of the README's table of demo applications."""
    rows = re.findall(r"^\| `(Demo [^`]+)` \|(.+)\|$", README, flags=re.MULTILINE)
    return {name: [cell.strip() for cell in rest.split("|")] for name, rest in rows}


def test_the_demo_table_lists_every_app_seed_demo_creates_with_its_type():
    table = demo_table()

    assert sorted(table) == sorted(app["name"] for app in DEMO_APPS)
    assert {name: row[0] for name, row in table.items()} == {app["name"]: f"`{app['type']}`" for app in DEMO_APPS}


def test_the_demo_table_says_which_apps_get_a_secret_printed():
    table = demo_table()

    printed = {name for name, row in table.items() if any("secret printed" in cell for cell in row)}
    assert printed == {app["name"] for app in DEMO_APPS if app["type"] in CONFIDENTIAL}
    count = len(printed)
    words = {3: "three", 2: "two", 4: "four"}
    assert f"prints the client secrets of the {words[count]} confidential demo apps" in README


def test_every_section_whose_examples_use_jq_says_jq_is_needed():
    missing = [
        heading
        for heading, text in sections().items()
        if any(re.search(r"\bjq\b", block) for block in code_blocks(text))
        and not re.search(
            r"`jq`.{0,40}(required|must\s+be\s+installed|needed)",
            re.sub(r"```sh\n.*?```", "", text, flags=re.DOTALL),
            re.DOTALL,
        )
    ]
    assert missing == []


def test_no_example_opens_a_browser_with_the_macos_only_open_command():
    lines = [line for block in code_blocks(README) for line in block.splitlines()]

    assert [line for line in lines if line.startswith("open ")] == []
    assert any(line.startswith("xdg-open ") and "macOS" in line and "browser" in line for line in lines)
