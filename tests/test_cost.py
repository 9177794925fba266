"""Bounded cost on hostile input: size limits from the (base) policy, Markdown shapes refused
before anything renders them, and a review-time scanner linear in the page."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bok import document, limits, unsafe

from .conftest import findings, state_of
from .test_site import build

ABS = "content/brakes/abs.md"


def limit_findings(data: dict, path: str) -> list[dict]:
    return findings(data, "file-too-large", path) + findings(data, "markdown-too-complex", path)


# ------------------------------------------------------------------ sizes, through the CLI


def test_chapter_over_the_size_limit_is_refused_before_it_is_decoded(repo):
    # invalid UTF-8 too: the size is checked first, so nothing else is said about the file
    repo.write(ABS, b"---\ntitle: Big\nauthors: [alice]\n---\n" + b"\xff" + b"a" * 140_000)
    result = repo.bok("check")
    assert result.exit_code == 1
    assert (f"{ABS}: error: 137 KB is over the chapter size limit of 128 KB [file-too-large] "
            "Split it, or raise limits.chapter_kb in reviews/policy.yml") in result.output
    data = repo.check_json()
    assert [f["rule"] for f in findings(data, path=ABS)] == ["file-too-large"]
    assert state_of(data, ABS) == "invalid"


def test_size_limit_is_adjustable_in_the_policy(repo):
    repo.chapter(ABS, body="Plain words.\n" * 11_000)  # 140 KB
    assert findings(repo.check_json(), "file-too-large", ABS)
    repo.write("reviews/policy.yml", "limits:\n  chapter_kb: 256\n")
    assert not findings(repo.check_json(), "file-too-large", ABS)
    repo.write("reviews/policy.yml", "limits:\n  chapter_kb: 0\n  pages: 3\n")
    data = repo.check_json()
    assert findings(data, "invalid-chapter_kb", "reviews/policy.yml")
    assert findings(data, "unknown-key", "reviews/policy.yml")
    assert findings(data, "file-too-large", ABS)  # an invalid value leaves the default


def test_pull_request_cannot_raise_its_own_limit(repo):
    repo.git("checkout", "-q", "-b", "change")
    repo.write("reviews/policy.yml", "limits:\n  chapter_kb: 100000\n")
    repo.chapter(ABS, body="Plain words.\n" * 11_000)
    repo.commit("raise the limit and add a big chapter")
    result = repo.bok("check", "--base", "main", "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    [finding] = findings(data, "file-too-large", ABS)
    assert "limit of 128 KB" in finding["message"]


def test_review_record_over_its_limit_is_refused(repo):
    repo.chapter(ABS)
    repo.review("sign", ABS, "alice")
    record = "reviews/brakes/abs/alice.md"
    repo.write(record, repo.read(record) + "Padding.\n" * 8_000)
    data = repo.check_json()
    [finding] = findings(data, "file-too-large", record)
    assert "over the review record size limit of 64 KB" in finding["message"]
    assert "limits.record_kb" in finding["fix"]


def test_domain_page_and_home_page_have_the_limit_too(repo):
    repo.write("content/brakes/index.md", "---\ntitle: Brakes\n---\n" + "x\n" * 70_000)
    repo.write("content/index.md", "# Home\n" + "x\n" * 70_000)
    data = repo.check_json()
    assert findings(data, "file-too-large", "content/brakes/index.md")
    assert findings(data, "file-too-large", "content/index.md")


# ------------------------------------------------------------------ hostile Markdown, via CLI

HOSTILE = {
    # the inputs: the HTML block parser under md_in_html, quadratic in unclosed tags
    "unclosed tags": "<a " * 20_000,
    "unclosed brackets": "[" * 3_000,
    "unclosed links": "[a](" * 1_000,
    "CDATA": "<![CDATA[>" * 1_000,
    "headings in one block": "# h\n" * 6_000,
    "rules in one block": "---\n" * 6_000,
    "fences": "~~~\n" * 25_000,
    "footnote references": "x[^1] " * 2_000 + "\n\n[^1]: n\n",
    "dense emphasis": "*a* " * 25_000,
    "nested lists": "".join("    " * i + "- a\n" for i in range(40)),
    "nested quotes": ">" * 40 + " a\n",
    "blocks": "a\n\n" * 9_000,
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_markdown_is_refused_before_rendering(repo, name):
    repo.chapter(ABS, body=HOSTILE[name])
    started = time.perf_counter()
    data = repo.check_json()
    elapsed = time.perf_counter() - started
    found = findings(data, "markdown-too-complex", ABS)
    assert found and all(f["fix"] for f in found)
    assert state_of(data, ABS) == "invalid"
    assert elapsed < 30  # a generous bound; before, several of these ran for minutes


def test_five_megabytes_of_plain_markdown_are_refused_by_size(repo):
    repo.chapter(ABS, body="Plain words in a line.\n" * 230_000 + "&amp;\n")
    data = repo.check_json()
    assert [f["rule"] for f in limit_findings(data, ABS)] == ["file-too-large"]


def test_refusal_names_the_line(repo):
    body = "Intro.\n\n" + "Text.\n" * 5 + "\n" + "[" * 3_000 + "\n"
    repo.chapter(ABS, body=body)
    [finding] = findings(repo.check_json(), "markdown-too-complex", ABS)
    assert finding["line"] == 13  # front matter (4 lines), intro, blank, text (5), blank, [


def test_record_comments_are_bounded_like_pages(repo):
    repo.chapter(ABS)
    repo.review("sign", ABS, "alice")
    record = "reviews/brakes/abs/alice.md"
    repo.write(record, repo.read(record) + "<a " * 10_000)  # 30 KB: under the size limit
    assert findings(repo.check_json(), "markdown-too-complex", record)


def test_a_long_chapter_of_real_writing_passes():
    """The limits refuse shapes, not ordinary writing: bok's largest chapter, repeated to just
    under the size limit (tables, lists, code, links, headings: the handbook's own writing)."""
    largest = (Path(__file__).parents[1] / "content/publishing/the-site.md").read_bytes()
    one = document.parse(largest).body
    body = one * (127 * 1024 // len(one.encode()))
    assert 64 * 1024 < len(body.encode()) < 128 * 1024
    assert limits.markdown_problems(body) == []


# ------------------------------------------------------------------ the build


def test_refused_chapter_is_not_published(repo, monkeypatch):
    from .test_site import MKDOCS
    monkeypatch.setenv("BOK_TODAY", "2026-11-22")
    repo.write("mkdocs.yml", MKDOCS)
    repo.chapter(ABS, title="Big ABS", body="Plain words.\n" * 6_000)  # 78 KB
    repo.endorse_fully(ABS)
    repo.commit("endorsed, under the limit")
    assert (build(repo) / "brakes" / "abs" / "index.html").exists()
    repo.write("reviews/policy.yml", "limits:\n  chapter_kb: 64\n")
    assert findings(repo.check_json(), "file-too-large", ABS)
    site = build(repo)
    assert not (site / "brakes" / "abs" / "index.html").exists()
    assert "Big ABS" not in (site / "index.html").read_text(encoding="utf-8")


# ------------------------------------------------------------------ linear cost


def _best_of_three(function, text: str) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        function(text)
        best = min(best, time.perf_counter() - started)
    return best


def _source_scan(text: str) -> None:
    """bok.unsafe without the render (Python-Markdown's cost is bok.limits' business)."""
    unsafe._scan(text)
    unsafe._code_mask(text)
    unsafe._title_breakouts(text)
    unsafe._needs_render(text, [])


# Each of these was super-linear in some part of the old scanner or would be in a naive one.
SCANNER_INPUTS = ["{=", "](&", "`<script>` ", '<a "', "`a", "a\n=\n", "< ", "{ . "]


@pytest.mark.parametrize("unit", SCANNER_INPUTS)
def test_scanner_is_linear(unit):
    """8 times the input costs about 8 times the time; quadratic would be 64 and cubic 512, so
    the bound of 32 leaves room for caches and a busy machine without letting either pass."""
    small = unit * (64_000 // len(unit))
    large = unit * (8 * 64_000 // len(unit))
    ratio = _best_of_three(_source_scan, large) / _best_of_three(_source_scan, small)
    assert ratio < 32, ratio


@pytest.mark.parametrize("unit", ["[", "<a ", "- a\n", "*a* ", "~~~\n", "a\n\n"])
def test_limits_check_is_linear(unit):
    small = unit * (64_000 // len(unit))
    large = unit * (8 * 64_000 // len(unit))
    check = limits.markdown_problems
    ratio = _best_of_three(check, large) / _best_of_three(check, small)
    assert ratio < 32, ratio


def test_confirming_renders_have_a_budget(monkeypatch):
    """Many live constructs the heuristic took for code cost a few renders, not one each."""
    rendered: list[int] = []
    real = unsafe._render_counts

    def counting(text, *options):
        rendered.append(len(text))
        return real(text, *options)

    monkeypatch.setattr(unsafe, "_render_counts", counting)
    # in a raw HTML block backticks mean nothing: every one of these scripts is live
    body = "<div>\n" + "`<script>x</script>`\n" * 2_000 + "</div>\n"
    found = unsafe.unsafe_constructs(body)
    assert len(found) == 2_000  # each is still reported, at its line
    assert sum(rendered) <= len(body) + max(unsafe.CONFIRM_BUDGET, 4 * len(body))
