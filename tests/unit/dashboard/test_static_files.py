"""The shipped pages: no inline script, no HTML parsing of data, nothing from another origin."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from devhost.dashboard.app import PAGE_CSP, STATIC_DIR

PAGES = sorted(STATIC_DIR.glob("*.html"))
SCRIPTS = sorted(STATIC_DIR.glob("*.js"))
# Sinks that parse a string as HTML or code: data must only ever reach textContent / setAttribute.
HTML_SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\s*[\"']on"
)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline_script = False
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script = True


def test_there_are_two_pages_and_their_scripts() -> None:
    assert [page.name for page in PAGES] == ["run.html", "runs.html"]
    assert {script.name for script in SCRIPTS} == {"common.js", "run.js", "runs.js"}


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_pages_load_only_same_origin_files_and_no_inline_script(page: object) -> None:
    parser = _Tags()
    parser.feed(page.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    assert not parser.inline_script
    for tag, attrs in parser.tags:
        assert not any(name.startswith("on") for name in attrs), f"inline handler on <{tag}>"
        assert "style" not in attrs, f"inline style on <{tag}>"
        for name in ("src", "href"):
            value = attrs.get(name)
            if value is not None and tag in {"script", "link"}:
                assert value.startswith("/static/"), value


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_scripts_never_parse_data_as_html(script: object) -> None:
    text = script.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    assert not HTML_SINKS.search(text)
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in text


def test_the_page_policy_allows_scripts_from_the_dashboard_only() -> None:
    assert "script-src 'self'" in PAGE_CSP
    assert "unsafe-inline" not in PAGE_CSP
    assert "unsafe-eval" not in PAGE_CSP
    assert "connect-src 'self'" in PAGE_CSP
