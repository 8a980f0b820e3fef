from __future__ import annotations

from pathlib import Path

from devhost.commands.settings import settings_markdown

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- settings:start -->\n", "<!-- settings:end -->"


def test_readme_lists_every_setting_as_the_settings_command_prints_it() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index(START) + len(START) : text.index(END)]
    assert table == settings_markdown(), (
        "README's settings table is out of date: run `python -m devhost settings --markdown` and paste its output "
        f"between {START.strip()} and {END}"
    )
