"""bok.sanitize: no script reaches a reader, Material's markup survives; bok.unsafe: a
reviewer is told where a chapter tries."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import markdown
import pytest

from bok.sanitize import clean_html, clean_text
from bok.unsafe import unsafe_constructs, unsafe_text

EXTENSIONS = [
    "attr_list", "md_in_html", "tables", "fenced_code", "footnotes", "admonition",
    "pymdownx.superfences", "pymdownx.highlight", "pymdownx.details", "pymdownx.tasklist",
    "toc",
]  # fmt: skip


def render(src: str, **configs) -> str:
    return clean_html(markdown.markdown(src, extensions=EXTENSIONS, extension_configs=configs))


class Elements(HTMLParser):
    """Every start tag of a document as (tag, {attribute: value})."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.feed(document)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for t, attrs in self.elements if t == tag]


FORBIDDEN_TAGS = {
    "script", "iframe", "object", "embed", "form", "base", "meta", "style", "svg", "math",
    "link", "frame", "frameset", "applet", "template", "noscript",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster",
                  "background", "srcset", "cite", "content"}
BAD_SCHEME = re.compile(r"(javascript|vbscript|data)\s*:", re.IGNORECASE)


def assert_harmless(document: str) -> None:
    lowered = document.lower()
    for tag in ("<script", "<iframe", "<object", "<embed", "<form", "<base", "<meta",
                "<style", "<svg", "<math"):
        assert tag not in lowered, document
    # inside a tag, not in escaped text such as <code>&lt;a onclick=...&gt;</code>
    assert not re.search(r"<[^>]*\son\w+\s*=", lowered), document
    for tag, attrs in Elements(document).elements:
        assert tag not in FORBIDDEN_TAGS, document
        for name, value in attrs.items():
            assert not name.startswith("on"), document
            assert name != "style" or tag in {"td", "th"}, document
            if name in URL_ATTRIBUTES and value:
                # what a browser would see: entities decoded, tabs/newlines dropped
                seen = re.sub(r"[\x00-\x20]", "", value)
                assert not BAD_SCHEME.match(seen), document
        if tag == "input":
            assert attrs.get("type") in {None, "checkbox", "radio"}, document
            assert set(attrs) <= {"type", "name", "id", "checked", "disabled", "class",
                                  "title", "lang", "dir"}, document


# (markdown source, description unsafe_constructs must report, its line)
VECTORS = [
    ("<script>alert(1)</script>", "raw <script> tag", 1),
    ("Text\n\n<SCRIPT SRC=//e.x/x.js></SCRIPT>", "raw <script> tag", 3),
    ("<img src=x onerror=alert(1)>", "event handler attribute onerror", 1),
    ("<img/src=x/onerror=alert(1)>", "event handler attribute onerror", 1),
    ("<svg/onload=alert(1)>", "raw <svg> tag", 1),
    ('[x](https://e.x){: onclick="alert(1)" }', "event handler attribute onclick", 1),
    ("![x](https://e.x/a.png){ onerror=alert(1) }", "event handler attribute onerror", 1),
    ('# Heading {: onmouseover="alert(1)" }', "event handler attribute onmouseover", 1),
    ("[x](javascript:alert(1))", "javascript: URL", 1),
    ("[x](JaVaScRiPt:alert(1))", "javascript: URL", 1),
    ("[x](jav&#x09;ascript:alert(1))", "javascript: URL", 1),
    ("[x](&#106;avascript:alert(1))", "javascript: URL", 1),
    ("[x](jav&Tab;ascript&colon;alert(1))", "javascript: URL", 1),
    ("See [x][r].\n\n[r]: javascript:alert(1)", "javascript: URL", 3),
    ("![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)", "data: URL", 1),
    ('<a href="data:text/html,alert(1)">x</a>', "data: URL", 1),
    ('<a href="vbscript:msgbox(1)">x</a>', "vbscript: URL", 1),
    ('<a href="java\nscript:alert(1)">x</a>', "javascript: URL", 1),
    ('<a href=" &#x20;javascript:alert(1)">x</a>', "javascript: URL", 1),
    ('<iframe src="https://e.x/"></iframe>', "raw <iframe> tag", 1),
    ('<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>', "raw <iframe> tag", 1),
    ('<object data="x.swf"></object>', "raw <object> tag", 1),
    ('<embed src="x.swf">', "raw <embed> tag", 1),
    ('<form action="https://e.x"><input type=submit value=Go></form>', "raw <form> tag", 1),
    ('<base href="https://e.x/">', "raw <base> tag", 1),
    ('<meta http-equiv="refresh" content="0;url=javascript:alert(1)">', "raw <meta> tag", 1),
    ("<style>@import 'https://e.x/x.css';</style>", "raw <style> tag", 1),
    ("<svg><script>alert(1)</script></svg>", "raw <svg> tag", 1),
    ("<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>", "raw <svg> tag", 1),
    ("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
     "raw <math> tag", 1),
    ("<details open ontoggle=alert(1)><summary>s</summary></details>",
     "event handler attribute ontoggle", 1),
    ('<div markdown="1">\n\n**b** <span onmouseover="alert(1)">x</span>\n\n</div>',
     "event handler attribute onmouseover", 3),
    ('<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
     "event handler attribute onerror", 1),
    ("<a href='javascript:alert(1)' title='x'>x</a>", "javascript: URL", 1),
    ('<img src="x" alt="a" onerror\n="alert(1)">', "event handler attribute onerror", 1),
    ('!!! note "x"\n    <img src=x onerror=alert(1)>', "event handler attribute onerror", 2),
    ("Intro\n\n```\ncode\n```\n\n<script>alert(1)</script>", "raw <script> tag", 7),
]


def test_there_are_enough_vectors():
    assert len(VECTORS) >= 20


@pytest.mark.parametrize(("src", "description", "line"), VECTORS)
def test_vector_is_harmless_after_clean_html(src, description, line):
    assert_harmless(render(src))


@pytest.mark.parametrize(("src", "description", "line"), VECTORS)
def test_vector_is_reported_at_review(src, description, line):
    assert (line, description) in unsafe_constructs(src)


# Raw HTML straight into clean_html: parser-differential / mutation XSS classics.
RAW_HTML_VECTORS = [
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
    '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
    '<math><mi><mglyph><svg><mtext><textarea><path id="</textarea><img onerror=alert(1) src=1>">',
    '<noscript><img src=x title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<xmp><img src=x onerror=alert(1)></xmp>",
    "<select><style></select><img src onerror=alert(1)>",
    "<template><script>alert(1)</script></template>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<!--><script>alert(1)</script>-->",
    '<a href="&#1;javascript:alert(1)">x</a>',
    '<a href="\x01javascript:alert(1)">x</a>',
    '<a href="javascript&colon;alert(1)">x</a>',
    '<a href="  JAVASCRIPT:alert(1)">x</a>',
    '<img src="javascript:alert(1)"><img srcset="x 1x, javascript:alert(1) 2x">',
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    '<table><tr><td style="text-align:expression(alert(1))">x</td></tr></table>',
    '<div style="background:url(javascript:alert(1))">d</div>',
    '<input type="image" src="x" onerror=alert(1)><input type="hidden" name="x">',
    '<button formaction="javascript:alert(1)">b</button>',
    "<video><source onerror=alert(1)></video><audio src=x onerror=alert(1)>",
    '<svg><animate attributeName="href" to="javascript:alert(1)"/></svg>',
    '<iframe/src="data:text/html,<script>alert(1)</script>">',
    '<link rel="stylesheet" href="https://e.x/x.css"><body onload=alert(1)>',
]


@pytest.mark.parametrize("hostile", RAW_HTML_VECTORS)
def test_raw_html_vector_is_harmless(hostile):
    assert_harmless(clean_html(hostile))


def test_clean_html_on_raw_hostile_html():
    hostile = (
        '<a href="javascript:alert(1)" onclick="x()">a</a>'
        '<img src="data:image/png;base64,AAAA" onerror="x()">'
        '<input type="text" name="q" formaction="javascript:x()" autofocus onfocus="x()">'
        '<input type="image" src="x">'
        '<label for="x" onclick="x()">l</label>'
        '<div style="background:url(javascript:x)" data-x="1">d</div>'
        '<a href="#" target="_blank" rel="opener">t</a>'
        "<!--[if IE]><script>alert(1)</script><![endif]-->"
        "<table><tr><td style=\"text-align: right; background: url(x)\">c</td></tr></table>"
    )
    cleaned = clean_html(hostile)
    assert_harmless(cleaned)
    elements = Elements(cleaned)
    assert "<!--" not in cleaned
    assert "data-x" not in cleaned and "target" not in cleaned and "rel=" not in cleaned
    assert elements.find("td") == [{"style": "text-align:right"}]
    assert clean_html('<input type="text">') == "<input>"  # a bare text box at worst
    assert elements.find("div") == [{}]


def test_material_reserved_ids_cannot_be_clobbered():
    cleaned = clean_html(
        '<div id="__config">{"search": "evil.js"}</div>'
        '<input type="checkbox" id="__drawer"><label for="__search">s</label>'
        '<span id="__codelineno-0-1"></span><input type="radio" id="__tabbed_1_1"'
        ' name="__tabbed_1">'
    )
    assert "__config" not in cleaned and "__drawer" not in cleaned
    assert "__search" not in cleaned
    assert 'id="__codelineno-0-1"' in cleaned and 'name="__tabbed_1"' in cleaned
    assert unsafe_constructs('<div id="__config">{}</div>') == [(1, "reserved id __config")]
    out = render("## `__init__` methods\n\n## `__config`")
    assert '<h2 id="__init__-methods">' in out and "<h2>" in out
    assert unsafe_constructs("Text\n\n## Setup {#__drawer}") == [(3, "reserved id __drawer")]


# ------------------------------------------------------------------ what must survive


def test_admonition_survives():
    out = render('!!! note "Heads up"\n    Body *text*.')
    assert '<div class="admonition note">' in out
    assert '<p class="admonition-title">Heads up</p>' in out


def test_details_survive():
    out = render('???+ tip "More"\n    Hidden.')
    assert '<details class="tip" open="open">' in out
    assert "<summary>More</summary>" in out


def test_heading_keeps_id_and_headerlink():
    out = render("## Brake pads\n\nText.", toc={"permalink": True})
    assert '<h2 id="brake-pads">' in out
    assert '<a class="headerlink" href="#brake-pads" title="Permanent link">' in out


def test_highlighted_code_keeps_pygments_markup():
    src = '```python linenums="1"\ndef f(x):\n    return x < 1\n```'
    out = render(src, **{"pymdownx.highlight": {"anchor_linenums": True, "line_spans": "__span"}})
    assert '<table class="highlighttable">' in out
    assert '<td class="linenos">' in out
    assert '<span class="k">def</span>' in out
    assert '<span class="o">&lt;</span>' in out
    assert "<pre><span></span><code>" in out
    assert 'id="__span-0-1"' in out and 'href="#__codelineno-0-1"' in out


def test_table_survives_with_alignment():
    out = render("| a | b |\n|:--|--:|\n| 1 | 2 |")
    elements = Elements(out)
    assert [t for t, _ in elements.elements][:3] == ["table", "thead", "tr"]
    assert elements.find("th") == [{"style": "text-align:left"}, {"style": "text-align:right"}]


def test_footnotes_survive():
    out = render("Claim[^1].\n\n[^1]: Source.")
    assert '<sup id="fnref:1"><a class="footnote-ref" href="#fn:1">1</a></sup>' in out
    assert '<div class="footnote">' in out and "<hr>" in out
    assert '<li id="fn:1">' in out
    assert 'class="footnote-backref" href="#fnref:1"' in out


def test_task_list_checkbox_survives():
    out = render("- [x] done\n- [ ] todo")
    inputs = Elements(out).find("input")
    assert inputs == [
        {"type": "checkbox", "disabled": "", "checked": ""},
        {"type": "checkbox", "disabled": ""},
    ]
    assert '<ul class="task-list">' in out


def test_tabbed_survives():
    src = '=== "One"\n    1\n\n=== "Two"\n    2'
    html_out = markdown.markdown(src, extensions=["pymdownx.tabbed"],
                                 extension_configs={"pymdownx.tabbed": {"alternate_style": True}})
    out = clean_html(html_out)
    elements = Elements(out)
    assert elements.find("div")[0] == {"class": "tabbed-set tabbed-alternate", "data-tabs": "1:2"}
    assert elements.find("input")[0] == {"checked": "checked", "id": "__tabbed_1_1",
                                         "name": "__tabbed_1", "type": "radio"}
    assert elements.find("label")[0] == {"for": "__tabbed_1_1"}


def test_image_with_relative_src_survives():
    out = render('![Diagram](img/brakes.png "Brakes"){ width="300" height="200" }')
    assert Elements(out).find("img") == [
        {"alt": "Diagram", "height": "200", "src": "img/brakes.png", "title": "Brakes",
         "width": "300"}
    ]


def test_links_survive():
    out = render("[m](mailto:desk@example.com) [w](https://example.com/a?b=1&c=2) "
                 "[r](../pads.md#wear) [f](#top)")
    hrefs = [a["href"] for a in Elements(out).find("a")]
    assert hrefs == ["mailto:desk@example.com", "https://example.com/a?b=1&c=2",
                     "../pads.md#wear", "#top"]
    assert "rel=" not in out


def test_inline_semantics_survive():
    src = ("<abbr title=\"Anti-lock\">ABS</abbr> <mark>m</mark> <kbd>Ctrl</kbd> <del>d</del> "
           "<ins>i</ins> H<sub>2</sub>O x<sup>2</sup> <span class=\"k\">s</span>\n\n"
           "Term\n:   Definition")
    out = clean_html(markdown.markdown(src, extensions=[*EXTENSIONS, "def_list"]))
    for fragment in ('<abbr title="Anti-lock">ABS</abbr>', "<mark>m</mark>", "<kbd>Ctrl</kbd>",
                     "<del>d</del>", "<ins>i</ins>", "<sub>2</sub>", "<sup>2</sup>",
                     '<span class="k">s</span>', "<dl>", "<dt>Term</dt>",
                     "<dd>Definition</dd>"):
        assert fragment in out


# ------------------------------------------------------------------ code is not flagged


def test_script_in_fenced_code_is_escaped_text_and_not_flagged():
    src = (
        "# XSS 101\n\nNever write:\n\n"
        '```html\n<script>alert(1)</script>\n<img src=x onerror="alert(1)">\n'
        "<a href=\"javascript:alert(1)\">x</a>\n```\n\n"
        "~~~\n<iframe src=x></iframe>\n[x](javascript:alert(1))\n~~~\n\n"
        "Inline: `<script>`, `` <a onclick=\"x\"> `` and `[x](javascript:y)`.\n"
    )
    out = render(src)
    assert_harmless(out)
    assert "&lt;script&gt;" in out and "&lt;iframe" in out
    assert unsafe_constructs(src) == []


def test_unclosed_fence_is_not_code():
    assert unsafe_constructs("```\n<script>alert(1)</script>\n") == [(2, "raw <script> tag")]


def test_fence_closed_by_a_longer_fence_matches_markdown():
    # Python-Markdown only closes a fence with the identical fence: all of this is code.
    src = "```\ncode\n````\n<script>alert(1)</script>\n```\n"
    assert "&lt;script&gt;" in render(src)
    assert unsafe_constructs(src) == []


def test_code_span_inside_raw_html_block_is_flagged():
    # Backticks mean nothing inside a raw HTML block: the script would be live.
    src = "Intro\n\n<div>\n`<script>alert(1)</script>`\n</div>\n"
    assert "<script>" in markdown.markdown(src, extensions=EXTENSIONS)
    assert unsafe_constructs(src) == [(4, "raw <script> tag")]


def test_escaped_backticks_are_not_code():
    assert unsafe_constructs(r"\`<script>alert(1)</script>\`") == [(1, "raw <script> tag")]


def test_prose_about_urls_is_not_flagged():
    src = "A javascript: URL is bad, metadata: is fine, and data: sets are big. one = 1\n"
    assert unsafe_constructs(src) == []


def test_heading_that_closes_the_title_is_flagged_even_in_code():
    # MkDocs keeps the H1's code text escaped and Material's `striptags` unescapes it
    # into <title>: the code span does not protect here.
    src = "# Using `</title><script>alert(1)</script>`\n\nText."
    assert (1, "heading closes the page <title> element") in unsafe_constructs(src)
    src = "Intro\n\n# A &amp;lt;/title&amp;gt;"
    assert unsafe_constructs(src) == [(3, "heading closes the page <title> element")]
    assert unsafe_constructs("# Escaping `<script>` in pages") == []


# ------------------------------------------------------------------ front matter text


def test_clean_text_escapes_markup():
    assert clean_text('<img src=x onerror=alert(1)> & "q" \'s\'') == (
        "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;q&quot; &#x27;s&#x27;"
    )
    escaped = clean_text('"><script>alert(1)</script>')
    assert "<" not in escaped and '"' not in escaped
    assert html.unescape(escaped) == '"><script>alert(1)</script>'


def test_unsafe_text():
    assert unsafe_text("Brake pads: wear & tear < 3 mm") == []
    assert unsafe_text("Pads <img src=x onerror=alert(1)>") == [
        "tag-like markup '<img src=x onerror=alert(1)>'"
    ]
    assert len(unsafe_text("</title><script>alert(1)</script>")) == 3
