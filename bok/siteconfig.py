"""The site's configuration, ``mkdocs.yml``, read strictly and judged.

mkdocs.yml shapes every page: it can load a script on every page (``extra_javascript``), run
Python during the publish job (``hooks:``, plugins), replace the theme's templates
(``theme.custom_dir``), publish drafts (the bok plugin's ``drafts: true``) and write links into
every page (``repo_url``, social links, the copyright notice). So it is a governed file (see
:mod:`bok.governance`): a change needs a steward's sign-off, which pins the configuration *and*
every local file it makes the build read. This module says which files those are, and what
bok refuses outright because no sign-off of mkdocs.yml could cover it:

* ``INHERIT`` (another file's configuration, with its own references), and
  ``pymdownx.snippets`` (a chapter could include any file of the repository, unreviewed);
* a hook at the top of the repository: MkDocs puts a hook's folder on ``sys.path``, so it could
  import any Python file there; keep hooks in a folder of their own (``hooks/``), all of which
  the sign-off pins;
* a path outside the repository, an absolute path, a symbolic link;
* the bok plugin's ``drafts: true``: chapters nobody endorsed would reach readers;
* a URL that reaches a page and is not http(s) (``javascript:``, ``data:``, ...);
* YAML tags such as ``!!python/name:`` (they run code) and ``!ENV``: :mod:`bok.strictyaml`
  refuses every tag;
* an ``mkdocs.yml`` that is not a regular file (a link would make the engines read a file no
  sign-off pins), and any other engine's configuration at the book's root
  (:data:`ENGINE_CONFIGS`): MkDocs reads ``mkdocs.yaml`` when ``mkdocs.yml`` is missing,
  Zensical reads ``zensical.toml`` before ``mkdocs.yml``, ProperDocs reads ``properdocs.yml``;
* a committed file where builds write (:func:`build_folder_findings`): a tracked
  ``.bok/stage/`` would be laid out by an engine run in the book, a tracked ``site/`` makes the
  publish job refuse to build.

:func:`load_site_config` is pure (it reads through a tree, a working tree or a Git revision)
and is used by the gate, ``bok endorse mkdocs.yml`` and the build; :func:`build_refusals` is
what stops ``bok build`` and ``bok serve`` before MkDocs reads anything.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from . import document, strictyaml, unsafe
from .errors import FileProblem, Finding
from .model import CONTENT, DEFAULT_ENGINE, ENGINES, SITE_CONFIG, content_digest
from .trees import FILE, LINK, WorkTree

HTTP = ("http://", "https://")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:")
_DANGEROUS = ("javascript:", "vbscript:", "data:", "file:")
_IGNORED_IN_URLS = re.compile(r"[\x00-\x20]")
#: Configuration files the site engines read at the book's root besides mkdocs.yml (MkDocs'
#: fallback, Zensical's own, ProperDocs'): bok governs mkdocs.yml alone, so each is refused.
ENGINE_CONFIGS = ("mkdocs.yaml", "zensical.toml", "properdocs.yml", "properdocs.yaml")
#: Folders builds write to: nothing in them may be committed, except bok's own templates and
#: schemas under .bok/.
BUILD_FOLDERS = (".bok", "site")
KEPT_IN_BUILD_FOLDERS = (".bok/templates/", ".bok/schemas/")
REFUSED_EXTENSIONS = {"pymdownx.snippets": "it includes any file of the repository into a page, "
                                           "unreviewed"}


@dataclass(frozen=True)
class SiteConfig:
    """mkdocs.yml as data, with the local files it makes the build read."""

    data: dict[str, Any]
    lines: dict[tuple, int] = field(default_factory=dict, compare=False)
    references: tuple[str, ...] = ()  # the local paths it names; folders end with "/"
    files: tuple[str, ...] = ()  # every file under them: what a sign-off pins besides itself
    digest: str = ""  # what a steward's sign-off pins: see pinned_digest


def pinned_digest(config_bytes: bytes, files: dict[str, bytes]) -> str:
    """The digest of mkdocs.yml alone when it names no local file, else of the set.

    The set's digest is that of a manifest, one line ``<digest>  <path>`` per file, mkdocs.yml
    first, then the others by path: a change to any of them, or a file added under a folder
    mkdocs.yml names, changes it.
    """
    if not files:
        return content_digest(config_bytes)
    lines = [f"{content_digest(config_bytes)}  {SITE_CONFIG}"]
    lines += [f"{content_digest(data)}  {path}" for path, data in sorted(files.items())]
    return content_digest("\n".join(lines).encode())


def load_site_config(tree) -> tuple[SiteConfig | None, list[Finding]]:
    """Read mkdocs.yml from ``tree``; None if there is none. Every problem is a finding."""
    findings: list[Finding] = []
    kind = tree.kind(SITE_CONFIG)
    if kind == LINK:
        return None, [Finding(SITE_CONFIG, "symlink", "symbolic link is not allowed (bok never "
                              "follows one, and the engines would read the file it names, "
                              "which no sign-off pins)",
                              fix="Replace the link with the file itself.")]
    if kind not in (None, FILE):
        return None, [Finding(SITE_CONFIG, "site-config-refused", "mkdocs.yml is not a regular "
                              "file", fix="Replace it with the file itself.")]
    raw = tree.read(SITE_CONFIG)
    if raw is None:
        return None, []
    try:
        data, lines = strictyaml.load(document.decode(raw))
    except FileProblem as problem:
        return SiteConfig({}, digest=content_digest(raw)), [problem.finding(SITE_CONFIG)]
    if not isinstance(data, dict):
        findings.append(Finding(SITE_CONFIG, "schema", "mkdocs.yml must be a mapping of keys",
                                fix="Start from the mkdocs.yml that 'bok init' writes."))
        return SiteConfig({}, digest=content_digest(raw)), findings
    check = _Checker(data, lines, findings)
    references = check.references()
    check.urls()
    files: dict[str, bytes] = {}
    for reference in references:
        for path in _files_under(tree, reference, lines, findings):
            blob = tree.read(path)
            if blob is not None:
                files[path] = blob
    return SiteConfig(data, lines, tuple(references), tuple(sorted(files)),
                      pinned_digest(raw, files)), findings


def engine_config_findings(tree) -> list[Finding]:
    """Each engine configuration at the book's root besides mkdocs.yml: an engine would read
    it instead of, or before, the governed one."""
    return [Finding(name, "engine-config", f"{name} is a site engine's configuration; the "
                    "engines would read it instead of mkdocs.yml, which alone is governed",
                    fix=f"Delete {name}; configure the site in mkdocs.yml (a steward signs off).")
            for name in ENGINE_CONFIGS if tree.kind(name) is not None]


def build_folder_findings(tracked: list[str]) -> list[Finding]:
    """Committed files where builds write (``tracked``: the files Git tracks under
    :data:`BUILD_FOLDERS`), besides bok's templates and schemas."""
    return [Finding(path, "build-folder-tracked", "is committed in a folder builds write to, "
                    "so an engine run in the book would publish it, or the publish job would "
                    "refuse to build", fix=f"git rm --cached {path}")
            for path in sorted(tracked)
            if path.split("/", 1)[0] in BUILD_FOLDERS
            and not path.startswith(KEPT_IN_BUILD_FOLDERS)]


def build_refusals(tree: WorkTree) -> tuple[bytes, list[Finding]]:
    """The bytes of mkdocs.yml that a build may hand the engine, and the errors that stop it:
    no regular mkdocs.yml, one that breaks a rule of this module, another engine's
    configuration beside it."""
    site, findings = load_site_config(tree)
    findings = [f for f in [*findings, *engine_config_findings(tree)] if f.is_error]
    raw = tree.read(SITE_CONFIG) if site is not None else None
    return raw or b"", findings


def _files_under(tree, reference: str, lines: dict, findings: list[Finding]) -> list[str]:
    if not reference.endswith("/"):
        kind = tree.kind(reference)
        if kind == LINK:
            findings.append(Finding(SITE_CONFIG, "symlink", f"'{reference}' is a symbolic link",
                                    fix="Replace the link with the file itself."))
        return [reference] if kind == FILE else []
    found = []
    for entry in tree.walk(reference.rstrip("/")):
        if entry.kind == LINK:
            findings.append(Finding(SITE_CONFIG, "symlink", f"'{entry.path}', under a folder "
                                    "mkdocs.yml names, is a symbolic link",
                                    fix="Replace the link with the file itself."))
        elif entry.kind == FILE:
            found.append(entry.path)
    return found


def url_scheme(value: str) -> str | None:
    """The scheme a browser would see in ``value`` (entities decoded, blanks dropped)."""
    seen = _IGNORED_IN_URLS.sub("", html.unescape(value)).lower()
    match = _SCHEME.match(seen)
    return match.group(0) if match else None


class _Checker:
    """The rules for one mkdocs.yml; each adds findings with the key's line."""

    def __init__(self, data: dict, lines: dict, findings: list[Finding]):
        self.data, self.lines, self.findings = data, lines, findings
        self.checked: set[tuple] = set()  # values already judged as links

    def line(self, *path: Any) -> int | None:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path)

    def refuse(self, path: tuple, message: str, fix: str) -> None:
        self.findings.append(Finding(SITE_CONFIG, "site-config-refused", message,
                                     self.line(*path), fix=fix))

    def local(self, path: tuple, value: Any, base: str) -> str | None:
        """A local path named in mkdocs.yml, as a path of the repository (or None)."""
        if not isinstance(value, str) or not value.strip():
            return None
        value = value.strip().replace("\\", "/")
        if url_scheme(value) or value.startswith("//"):
            return None
        parts = [p for p in f"{base}/{value}".split("/") if p not in ("", ".")]
        if value.startswith("/") or ".." in parts:
            self.refuse(path, f"'{value}' is outside the repository, so no review covers it",
                        "Name a path inside the repository, without '..'.")
            return None
        return "/".join(parts)

    # -- what the build reads ----------------------------------------------------------------
    def references(self) -> list[str]:
        data, refs = self.data, []
        if "INHERIT" in data:
            self.refuse(("INHERIT",), "'INHERIT' loads another configuration, which no sign-off "
                        "of mkdocs.yml covers", "Write the whole configuration in mkdocs.yml.")
        theme = data.get("theme")
        if isinstance(theme, dict):
            custom = self.local(("theme", "custom_dir"), theme.get("custom_dir"), ".")
            if custom is not None:
                if custom == "":
                    self.refuse(("theme", "custom_dir"), "'custom_dir' is the whole repository",
                                "Keep theme overrides in a folder of their own (overrides/).")
                else:
                    refs.append(custom + "/")
            for key in ("logo", "favicon"):
                if isinstance(theme.get(key), str):
                    self.link(("theme", key), theme[key])
                    found = self.local(("theme", key), theme[key], CONTENT)
                    if found:
                        refs.append(found)
        for index, hook in enumerate(_as_list(data.get("hooks"))):
            found = self.local(("hooks", index), hook, ".")
            if found is None:
                continue
            folder = found.rsplit("/", 1)[0] if "/" in found else ""
            if not folder:
                self.refuse(("hooks", index), f"the hook '{found}' is at the top of the "
                            "repository, so it can import any Python file there",
                            "Move hooks into a folder of their own, such as hooks/.")
                continue
            refs.append(folder + "/")
        for key in ("extra_javascript", "extra_css", "extra_templates"):
            for index, item in enumerate(_as_list(data.get(key))):
                value = item.get("path") if isinstance(item, dict) else item
                if not isinstance(value, str):
                    continue
                self.link((key, index), value)
                found = self.local((key, index), value, CONTENT)
                if found:
                    refs.append(found)
        for index, (name, _options) in enumerate(named(data.get("markdown_extensions"))):
            if name in REFUSED_EXTENSIONS:
                self.refuse(("markdown_extensions", index), f"'{name}' is not allowed: "
                            f"{REFUSED_EXTENSIONS[name]}", f"Remove '{name}'.")
        for index, (name, options) in enumerate(named(data.get("plugins"))):
            engine = options.get("engine", DEFAULT_ENGINE) if isinstance(options, dict) else None
            if name == "bok" and engine is not None and engine not in ENGINES:
                self.findings.append(Finding(
                    SITE_CONFIG, "schema", f"the bok plugin's 'engine' is {engine!r}; expected "
                    f"one of {', '.join(ENGINES)}", self.line("plugins", index),
                    fix=f"Set 'engine: {DEFAULT_ENGINE}' or 'engine: zensical', or remove it."))
            if name == "bok" and isinstance(options, dict) and \
                    str(options.get("drafts", "")).lower() == "true":
                self.refuse(("plugins", index), "the bok plugin's 'drafts: true' publishes "
                            "chapters nobody endorsed",
                            "Remove it; preview drafts with 'bok serve --drafts'.")
        return sorted(set(refs))

    # -- links on every page -----------------------------------------------------------------
    def link(self, path: tuple, value: str, relative: bool = True, mailto: bool = False) -> None:
        """A URL that reaches a page: http(s), or relative where ``relative``."""
        self.checked.add(path)
        scheme = url_scheme(value)
        if scheme in ("http:", "https:") or (mailto and scheme == "mailto:"):
            return
        if scheme is None and relative:
            return
        allowed = "http(s)" + (" or mailto" if mailto else "") + (" or relative" * relative)
        self.findings.append(Finding(
            SITE_CONFIG, "unsafe-url", f"'{'.'.join(map(str, path))}' is {value.strip()!r}: "
            f"a URL on the site must be {allowed}", self.line(*path),
            fix="Use an https:// address."))

    def urls(self) -> None:
        data = self.data
        for key in ("repo_url", "site_url"):
            if isinstance(data.get(key), str):
                self.link((key,), data[key], relative=False)
        for key in ("edit_uri", "edit_uri_template"):
            if isinstance(data.get(key), str):
                self.link((key,), data[key])
        extra: dict = data["extra"] if isinstance(data.get("extra"), dict) else {}
        for index, item in enumerate(_as_list(extra.get("social"))):
            if isinstance(item, dict) and isinstance(item.get("link"), str):
                self.link(("extra", "social", index, "link"), item["link"], relative=False,
                          mailto=True)
        for index, item in enumerate(_as_list(extra.get("alternate"))):
            if isinstance(item, dict) and isinstance(item.get("link"), str):
                self.link(("extra", "alternate", index, "link"), item["link"])
        self.nav(data.get("nav"), ("nav",))
        if isinstance(data.get("copyright"), str):
            for _line, description in unsafe.unsafe_constructs(data["copyright"]):
                self.findings.append(Finding(
                    SITE_CONFIG, "unsafe-url", f"'copyright' contains {description}",
                    self.line("copyright"), fix="Write the notice as text and https:// links."))
        self.anywhere(data, ())

    def nav(self, value: Any, path: tuple) -> None:
        if isinstance(value, str):
            self.link(path, value)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.nav(item, (*path, index))
        elif isinstance(value, dict):
            for key, item in value.items():
                self.nav(item, (*path, key))

    def anywhere(self, value: Any, path: tuple) -> None:
        """Any value that a theme template might turn into a link: no script schemes."""
        if isinstance(value, str):
            if url_scheme(value) in _DANGEROUS and path not in self.checked:
                self.link(path, value)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.anywhere(item, (*path, index))
        elif isinstance(value, dict):
            for key, item in value.items():
                self.anywhere(item, (*path, key))


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def plugin_options(data: dict, wanted: str) -> dict | None:
    """The options of plugin ``wanted`` in mkdocs.yml's data ({} for none); None if absent."""
    for name, options in named(data.get("plugins")):
        if name == wanted:
            return options if isinstance(options, dict) else {}
    return None


def named(value: Any) -> list[tuple[str, Any]]:
    """Plugins and extensions: a list of names or one-key mappings, or a mapping."""
    if isinstance(value, dict):
        return list(value.items())
    named = []
    for item in _as_list(value):
        if isinstance(item, str):
            named.append((item, None))
        elif isinstance(item, dict) and len(item) == 1:
            named.append(next(iter(item.items())))
    return named
