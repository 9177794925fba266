"""The built site holds what bok staged: checked on the engine's output, whatever the engine.

bok sanitizes every page before it stages it (:mod:`bok.stage`); an engine then lays the pages
out with its theme, and might, by design or by a bug, process the HTML it was handed (decode
an entity, run a Markdown pass over raw HTML, rewrite links). So after every build, before the
site is swapped in, each built page is compared with what bok staged for it:

* the page's content, read as HTML (tags, attributes, text; whitespace and character references
  do not count; each relative URL resolved against the page it is on), must appear in the built
  page exactly as bok staged it;
* every inline script of every page must be one of the theme's own, as it writes them on
  ``404.html`` (no chapter reaches that page), relative paths aside; script files must be the
  site's own (no URL with a scheme).

A page that fails either is the engine changing what a reader gets: the build fails and the
previous site stays.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection
from pathlib import Path

from . import stage
from .errors import BokError

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
_SCRIPT_SRC = re.compile(r"""\bsrc\s*=\s*["']?([^"'\s>]+)""", re.I)
_SCRIPT_TYPE = re.compile(r"""\btype\s*=\s*["']?([^"'\s>]+)""", re.I)
#: Paths a theme writes into its inline scripts, which vary by page: relative ("../..", ".")
#: or, with site_url set, absolute on 404.html ("/handbook/").
_RELATIVE_LITERAL = re.compile(r"""(["'])(?:[./]+|/[^"'\s<>]*/)\1""")
_URL_ATTRIBUTES = ("href", "src", "action", "formaction", "poster", "cite")
_NOT_EXECUTED = ("application/json", "application/ld+json", "text/template")

Token = tuple


_TOKEN = re.compile(r"""<!--.*?-->|<(/?)([A-Za-z][^\s/>]*)((?:[^>"']|"[^"]*"|'[^']*')*)>"""
                    r"|([^<]+|<)", re.S)
_ATTRIBUTE = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")


def tokens(text: str, base: str) -> list[Token]:
    """HTML as tokens: start tags (name, sorted attributes: references decoded, relative URLs
    resolved from the page at URL ``base``), end tags, text (references decoded, whitespace
    collapsed). A scanner rather than :mod:`html.parser`, which is ten times slower: both
    sides are read by the same rules, and bok's side is serialized by its sanitizer."""
    found: list[Token] = []
    page = "/" + base
    for match in _TOKEN.finditer(text):
        closing, tag, attributes, data = match.groups()
        if tag is not None:
            if closing:
                found.append(("/", tag.lower()))
                continue
            values = []
            for attr in _ATTRIBUTE.finditer(attributes):
                name = attr.group(1).lower()
                value = html.unescape(next((v for v in attr.groups()[1:] if v is not None), ""))
                values.append((name, _url(page, name, value)))
            found.append(("<", tag.lower(), tuple(sorted(values))))
        elif data is not None:
            words = " ".join(html.unescape(data).split())
            if not words:
                continue
            if found and found[-1][0] == "t":  # text split by a comment
                found[-1] = ("t", f"{found[-1][1]} {words}")
            else:
                found.append(("t", words))
    return found


def _url(page: str, name: str, value: str) -> str:
    if name not in _URL_ATTRIBUTES:
        return value
    value = value.strip()
    if not value or value.startswith(("#", "/")) or _SCHEME.match(value):
        return value
    path, hash_, fragment = value.partition("#")
    return f"{_resolve(page, path)}{hash_}{fragment}"


def _resolve(base: str, path: str) -> str:
    """``path`` from the page at ``base`` (``/a/b/``), as a path from the site's root; a link
    that climbs above the root keeps its ``..`` (it reaches nothing, and must not look as if
    it did)."""
    parts: list[str] = []
    for part in [*base.split("/")[:-1], *path.split("/")]:
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            else:
                parts.append("..")
        elif part not in ("", "."):
            parts.append(part)
    folder = path.endswith("/") or path in ("", ".") or path.endswith("/.")
    return "/" + "/".join(parts) + ("/" if folder and parts else "")


def holds(built: list[Token], staged: list[Token]) -> bool:
    """True if ``staged`` appears, token for token, in ``built``."""
    if not staged:
        return True
    first, size = staged[0], len(staged)
    return any(token == first and built[i:i + size] == staged for i, token in enumerate(built))


def built_file(site_dir: Path, url: str) -> Path:
    """The file an engine writes for the page at ``url`` (``a/b/``, ``a/b.html``, ``""``)."""
    return site_dir / (url + "index.html" if url == "" or url.endswith("/") else url)


def theme_scripts(html: str) -> set[str]:
    """The inline scripts of a page, relative paths aside: the theme's own on ``404.html``."""
    return {_RELATIVE_LITERAL.sub('"."', body.strip()) for attrs, body in _SCRIPT.findall(html)
            if body.strip()}


def script_problems(html: str, allowed: set[str]) -> list[str]:
    """Scripts of a built page that are not the theme's: inline ones ``404.html`` does not
    have, files from another site."""
    problems = []
    for attrs, body in _SCRIPT.findall(html):
        kind = _SCRIPT_TYPE.search(attrs)
        if kind and kind.group(1).lower() in _NOT_EXECUTED:
            continue
        src = _SCRIPT_SRC.search(attrs)
        if src and (_SCHEME.match(src.group(1)) or src.group(1).startswith("//")):
            problems.append(f"a script from {src.group(1)}")
        if body.strip() and _RELATIVE_LITERAL.sub('"."', body.strip()) not in allowed:
            problems.append(f"an inline script the theme does not write ({body.strip()[:60]!r})")
    return problems


def _article(html: str) -> str:
    """The theme's ``<article>`` (where both engines' Material themes put a page's content),
    so the navigation is not read; the whole page if there is none."""
    start, end = html.find("<article"), html.rfind("</article>")
    return html[start:end] if 0 <= start < end else html


def check_site(site_dir: Path, staged: stage.Stage,
               checked: Collection[str] = ()) -> list[str]:
    """What of the built site is not what bok staged, one line per page (empty: all is).

    bok's side of each link is resolved from where bok wrote it from (``links_from``), the
    engine's from the page it is on: the two must reach the same page. ``checked``: pages
    (by ``src_uri``) whose bytes are those of a site this check passed, laid out the same
    way from the same staged page (:mod:`bok.pagereuse`): they are not read again.
    """
    not_found = built_file(site_dir, "404.html")
    allowed = theme_scripts(not_found.read_text(encoding="utf-8")) if not_found.is_file() \
        else set()
    problems = []
    for page in sorted(staged.pages.values(), key=lambda p: p.src_uri):
        if page.html is None or page.src_uri in checked:
            continue
        path = built_file(site_dir, page.url)
        shown = path.relative_to(site_dir).as_posix()
        if not path.is_file():
            problems.append(f"{shown}: the engine did not write the page for "
                            f"{stage.STAGE}/{page.src_uri}")
            continue
        built = path.read_text(encoding="utf-8", errors="replace")
        untouched = page.links_from == page.url and page.html in built
        if not untouched and not holds(tokens(_article(built), page.url),
                                       tokens(page.html, page.links_from)):
            problems.append(f"{shown}: the page's content is not what bok staged (the engine "
                            "changed its HTML, or where its links lead)")
        problems += [f"{shown}: {problem}" for problem in script_problems(built, allowed)]
    return problems


def ensure(site_dir: Path, staged: stage.Stage, checked: Collection[str] = ()) -> None:
    """Raise :class:`BokError` naming the first pages of ``site_dir`` that are not what bok
    staged (see :func:`check_site`)."""
    problems = check_site(site_dir, staged, checked)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise BokError("the built site is not what bok staged: " + "; ".join(problems[:3])
                       + more)
