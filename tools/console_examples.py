#!/usr/bin/env python3
"""Replay the ```console examples of README.md and the handbook, so they cannot drift.

Each scenario below is a story told across one or more ```console blocks: a fresh HOME (its
own ~/.gitconfig, no init.defaultBranch, no ssh-agent), real ssh-keygen keys, Git with pinned
dates, ``BOK_TODAY`` pinned, and the ``bok`` next to this Python. Steps the reader does not see
(making a key for Bob, adding Bob and Carol to the registry) run hidden between the blocks. Every
``$ command`` of a block runs in one bash session, in order, and what it prints (stdout and
stderr, as a terminal shows them) is compared with the lines under it in the document. The
sandbox's HOME prints as ``~``.

    python tools/console_examples.py           # compare; exit 1 with a diff if any drifted
    python tools/console_examples.py --write   # regenerate the outputs in the documents

Blocks that no scenario replays yet are listed in PENDING, counted per file, so a new block
cannot go unnoticed: tests/test_console_examples.py fails when the counts do not add up.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-11-22"
FENCE = re.compile(r"^([ \t]*)```console\n(.*?)^\1```", re.M | re.S)  # also in list items


@dataclass(frozen=True)
class Block:
    """One ```console block: where it is, and its text."""

    file: str  # relative to ROOT
    index: int  # among the file's console blocks, from 0
    start: int  # offset of the block's text in the file
    text: str
    indent: str = ""  # a block in a list item is indented

    def commands(self) -> list[tuple[str, list[str]]]:
        """Each ``$ command`` with the output lines documented under it."""
        found: list[tuple[str, list[str]]] = []
        for line in self.text.splitlines():
            line = line.removeprefix(self.indent)
            if found and not found[-1][1] and found[-1][0].endswith("\\"):
                found[-1] = (f"{found[-1][0]}\n{line}", [])  # a command goes on
            elif line.startswith("$ "):
                found.append((line[2:], []))
            elif found:
                found[-1][1].append(line)
        return [(cmd, _trim(out)) for cmd, out in found]


def blocks(file: str) -> list[Block]:
    text = (ROOT / file).read_text(encoding="utf-8")
    return [Block(file, i, m.start(2), m.group(2), m.group(1))
            for i, m in enumerate(FENCE.finditer(text))]


def documents() -> list[str]:
    """README.md and every handbook chapter."""
    return ["README.md", *sorted(p.relative_to(ROOT).as_posix()
                                 for p in (ROOT / "content").rglob("*.md"))]


def _trim(lines: list[str]) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


# -- the scenarios ------------------------------------------------------------------------------

ALICE = ('ssh-keygen -q -t ed25519 -N "" -C alice@laptop -f ~/.ssh/id_ed25519 && '
         'git config --global user.name "Alice Martin" && '
         "git config --global user.email alice@example.invalid && "
         "mkdir -p ~/keys && for who in bob carol; do "
         'ssh-keygen -q -t ed25519 -N "" -C $who@laptop -f ~/keys/$who; done')
EXPERTS = r"""for who in bob carol; do
  name=$( [ $who = bob ] && echo "Bob Okafor" || echo "Carol Lin")
  printf '  %s:\n    name: %s\n    email: %s@example.invalid\n    keys:\n      - %s\n' \
    $who "$name" $who "$(cat ~/keys/$who.pub)" >> reviews/members.yml
  printf '    expert_in: [brakes]\n' >> reviews/members.yml
done"""

# The handbook's story: Mara, a steward and brakes expert, and Joe, Kim and Lena, experts of a
# scratch "Workshop Book". Their keys are fixed (tools/console_keys/, throwaway keys made for
# this), so the records, digests and signatures the handbook prints are reproducible.
KEYS = ROOT / "tools" / "console_keys"
MARA_KEY = (f"cp {KEYS}/mara ~/.ssh/id_ed25519 && cp {KEYS}/mara.pub ~/.ssh/id_ed25519.pub && "
            "chmod 600 ~/.ssh/id_ed25519")
MARA = (f"{MARA_KEY} && git config --global user.name 'Mara Example' && "
        "git config --global user.email mara@example.invalid && "
        "bok init workshop --site-name 'Workshop Book' && cd workshop && "
        "git config user.signingkey ~/.ssh/id_ed25519")
#: after the handbook's own ``ssh-keygen``: Mara's fixed key replaces the one it made
MARA_SWAP = (f"{MARA_KEY} && sed -i \"s|^      - ssh-ed25519 .* mara@laptop$|      - "
             "$(cat ~/.ssh/id_ed25519.pub)|\" reviews/members.yml")
#: Joe and Kim join, Mara becomes an expert of the new domain ``brakes``, the site gets its
#: address (for the feed) and CODEOWNERS follows; committed on main
BRAKES = rf"""mkdir -p ~/keys && cp {KEYS}/joe* {KEYS}/kim* {KEYS}/lena* ~/keys/
chmod 600 ~/keys/joe ~/keys/kim ~/keys/lena
sed -i -e 's/expert_in: \[handbook\]/expert_in: [handbook, brakes]/' \
  -e 's/^    email: mara@example.invalid$/&\n    github: mara-example/' reviews/members.yml
for who in joe kim; do
  printf '  %s:\n    name: %s Example\n    email: %s@example.invalid\n' $who "${{who^}}" $who
  printf '    github: %s-example\n    keys:\n      - %s\n    expert_in: [brakes]\n' \
    $who "$(cat ~/keys/$who.pub)"
done >> reviews/members.yml
mkdir -p content/brakes
printf -- '---\ntitle: Brakes\ndescription: Servicing hydraulic brakes and ABS units.\n---\n' \
  > content/brakes/index.md
sed -i '1a site_url: https://books.example.invalid/workshop/' mkdocs.yml && bok codeowners
git add -A && git commit -qm 'The brakes domain; Joe and Kim'"""
CASE_TEMPLATE = (r"mkdir -p .bok/templates && printf '\n## Vehicle\n\nMake, model, year and "
                 r"mileage.\n\n## Symptom\n\n...\n\n## Diagnosis\n\n...\n\n## Repair\n\n...\n' "
                 "> .bok/templates/case.md")
DRAFT = r"sed -i '0,/^type: case$/s//type: case\ndraft: true/' content/brakes/squeal-2026.md"
BLEEDING_STEPS = (r"sed -i 's/^1\. \.\.\.$/1. Top up the reservoir.\n2. Open the bleed screw; "
                  r"pump until no bubbles remain./' content/brakes/bleeding.md")
KIM_STEP = (r"sed -i 's/^2\. Open the bleed screw.*$/&\n3. Pressure-test the line before the "
            r"wheel goes back on./' content/brakes/bleeding.md")
ENDORSE = ("bok endorse content/brakes/bleeding.md --as joe --key ~/keys/joe -m 'Matches the "
           "workshop manual, section 4.' && bok endorse content/brakes/bleeding.md --as kim "
           "--key ~/keys/kim -m 'Pressure test added; good.'")
COMMIT = "git add -A && git commit -qm 'A step of the story'"

#: the book as the reviewing chapters find it: Mara wrote and signed the bleeding chapter
BLEEDING = [MARA, BRAKES, "bok new brakes/bleeding --title 'Bleeding hydraulic brakes'",
            BLEEDING_STEPS, "bok sign content/brakes/bleeding.md", COMMIT]

#: Lena joins brakes, committed on main
LENA = (r"printf '  lena:\n    name: Lena Example\n    email: lena@example.invalid\n    github: "
        r"lena-example\n    keys:\n      - %s\n    expert_in: [brakes]\n' "
        "\"$(cat ~/keys/lena.pub)\" >> reviews/members.yml && bok codeowners && "
        "git add -A && git commit -qm 'Lena joins brakes'")
#: back to what is committed
RESET = "git checkout -q -- . && git clean -qfd"

#: the book at the end of "Writing and signing a chapter", with Lena registered, on main
WORKSHOP = [MARA, BRAKES,
            "bok new brakes/abs --title 'ABS units' --author mara --author joe --type reference",
            CASE_TEMPLATE, "bok new brakes/squeal-2026 --title 'A squeal that was not the pads' "
            "--type case", DRAFT, *BLEEDING[2:4], KIM_STEP, "bok sign content/brakes/bleeding.md",
            ENDORSE, COMMIT, "bok mv content/brakes/bleeding.md "
            "content/brakes/bleeding-hydraulic.md", COMMIT, LENA]
#: merge the branch on main
MERGE = ("git add -A && git commit -qm 'A change' && b=$(git branch --show-current) && "
         "git switch -q main && git merge -q --ff-only $b")

#: WORKSHOP before Lena joins: her entry is added, not yet committed
LENA_ENTRY = LENA.removesuffix(" && git add -A && git commit -qm 'Lena joins brakes'")
#: back to main as it was after Lena joined (the tag ``lena``)
BACK = "git checkout -q -- . && git clean -qfd && git switch -q main && git reset -q --hard lena"
JOE = r"/^  joe:$/,/^    expert_in:/"
REGISTRY = "content/stewarding/registry.md"
CI_GATE = "content/publishing/ci-gate.md"
OUTPUT = "content/publishing/output-formats.md"
FORMAT = "content/authoring/format.md"
INTEGRATIONS = "content/publishing/integrations.md"
SITE = "content/publishing/the-site.md"

#: scenario name -> steps: a string is a hidden shell step, (file, index) a block to replay.
SCENARIOS: dict[str, list[str | tuple[str, int]]] = {
    "readme": [
        ALICE,
        ("README.md", 0),  # Quick start: init, new, sign, check, build
        "git add -A && git commit -qm 'Start the book'",
        ("README.md", 1),  # a domain and its experts, on a branch
        EXPERTS,
        ("README.md", 2),  # the steward's sign-off; merged first
        ("README.md", 3),  # Alice's chapter
        ("README.md", 4),  # the gate fails
        ("README.md", 5),  # Bob and Carol endorse
    ],
    "handbook-writing": [
        ("content/authoring/writing-a-chapter.md", 0),  # key, identity, bok init
        MARA_SWAP, BRAKES,
        ("content/authoring/writing-a-chapter.md", 1),  # bok new
        ("content/authoring/writing-a-chapter.md", 2),  # co-authors
        ("content/authoring/writing-a-chapter.md", 3),  # what bok new refuses
        CASE_TEMPLATE,
        ("content/authoring/writing-a-chapter.md", 4),  # the book's own template
        BLEEDING_STEPS,
        ("content/authoring/writing-a-chapter.md", 5),  # check and status
        DRAFT,
        ("content/authoring/writing-a-chapter.md", 6),  # a draft cannot be signed
        ("content/authoring/writing-a-chapter.md", 7),  # bok sign
        ("content/authoring/writing-a-chapter.md", 8),  # who may sign, who may endorse
        KIM_STEP,
        ("content/authoring/writing-a-chapter.md", 9),  # sign again
        ENDORSE, COMMIT,
        ("content/authoring/writing-a-chapter.md", 10),  # bok mv
    ],
    "handbook-endorsement-rules": [
        *BLEEDING, KIM_STEP, "bok sign content/brakes/bleeding.md", ENDORSE, COMMIT,
        ("content/reviewing/endorsement-rules.md", 0),  # an edit after endorsement
        RESET, LENA,
        ("content/reviewing/endorsement-rules.md", 1),  # endorsements lapse
        ("content/reviewing/endorsement-rules.md", 2),  # re-validation
    ],
    "handbook-policy": [
        *WORKSHOP, "printf 'domains:\\n  brakes: {endorsements: 3}\\n' >> reviews/policy.yml",
        ("content/stewarding/policy.md", 0),  # a policy change and its sign-off
        MERGE,
        ("content/stewarding/policy.md", 1),  # what it does to the chapters
    ],
    "handbook-troubleshooting": [
        *WORKSHOP, "sed -i 's/^Pressure test added; good.$/Pressure test added; very good./' "
        "reviews/brakes/bleeding-hydraulic/kim.md",
        ("content/authoring/troubleshooting.md", 0),  # a record edited by hand
        RESET, "sed -i 's/github: lena-example/github: lena-ex/' reviews/members.yml",
        ("content/authoring/troubleshooting.md", 1),  # commands that stop
    ],
    "handbook-review": [
        *BLEEDING,
        ("content/reviewing/review-workflow.md", 0),  # what awaits review
        ("content/reviewing/review-workflow.md", 1),  # Joe endorses
        ("content/reviewing/review-workflow.md", 2),  # Kim objects
        KIM_STEP, "bok sign content/brakes/bleeding.md",
        ("content/reviewing/review-workflow.md", 3),  # both endorse the new content
        ("content/reviewing/review-workflow.md", 4),  # a record
        ("content/reviewing/review-workflow.md", 5),  # checked with ssh-keygen alone
    ],
    "handbook-registry": [
        *WORKSHOP[:-1], LENA_ENTRY,
        (REGISTRY, 0),  # Lena joins, signed off by a steward
        (REGISTRY, 1),  # the sign-off record
        MERGE, "git tag lena && git switch -q -c joe-steward && "
        f"sed -i '{JOE} s/^    expert_in: .*$/&\\n    steward: true/' reviews/members.yml",
        (REGISTRY, 2),  # Joe cannot promote himself
        BACK, f"sed -i '{JOE} s|^      - ssh-ed25519 .*$|      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"
        "AAAAICUFVul+uCWItUyaw6e8PY8KMR5Yv3uPli7pFZpMhb44 joe@new-laptop|' reviews/members.yml",
        (REGISTRY, 3),  # a key swapped in one step passes the gate
        MERGE,
        (REGISTRY, 4),  # ... and costs Joe's endorsements on main
        BACK, r"sed -i '/^  kim:$/,/^    expert_in:/ s/\[brakes\]/[]/' reviews/members.yml "
        "&& bok codeowners",
        (REGISTRY, 5),  # Kim retires from brakes
        MERGE,
        (REGISTRY, 6),  # her endorsements stop counting
        (REGISTRY, 7),  # what bok status shows
        BACK, f"sed -i '{JOE}d' reviews/members.yml && bok codeowners",
        (REGISTRY, 8),  # the gate refuses removing an author
        MERGE,
        (REGISTRY, 9),  # past the gate, main breaks
    ],
    "handbook-ci-gate": [
        *BLEEDING, KIM_STEP, "bok sign content/brakes/bleeding.md", ENDORSE, COMMIT,
        "git tag before-lena",
        (CI_GATE, 0),  # an endorsed chapter edited: the gate refuses
        RESET, "git switch -q main", LENA,
        (CI_GATE, 1),  # signed and endorsed again: it passes
        "git checkout -q -- . && git clean -qfd && git switch -q main && "
        "git reset -q --hard before-lena", LENA_ENTRY,
        (CI_GATE, 2),  # a registry change, signed off by a steward
        (CI_GATE, 3),  # a new member acts only after the registration is merged
        "cd ~ && git init -q -b main fresh && cd fresh && echo '# Notes' > README.md && "
        "git add -A && git commit -qm 'A README'",
        (CI_GATE, 4),  # the first commit of a book cannot pass the gate
        "git add -A && git commit -qm 'The book' && git switch -q main && git merge -q "
        "start-book && git branch -q -d start-book && git branch -m main master",
        (CI_GATE, 5),  # a base that does not exist
    ],
    "handbook-output-formats-gate": [
        *BLEEDING, KIM_STEP, "bok sign content/brakes/bleeding.md", ENDORSE, COMMIT,
        "git switch -q -c fix-wording && sed -i 's/Top up the reservoir/Top up the brake "
        "reservoir/' content/brakes/bleeding.md",
        (OUTPUT, 0),  # text
        (OUTPUT, 2),  # JSON
        (OUTPUT, 4),  # GitHub annotations
        (OUTPUT, 5),  # the step summary
    ],
    "handbook-output-formats-book": [
        *WORKSHOP,
        (OUTPUT, 1),  # bok status
        (OUTPUT, 3),  # with jq
    ],
    "handbook-format": [
        *WORKSHOP,
        (FORMAT, 0),  # the scratch book's files
        r"""printf -- '---\ntitle: Replacing brake pads\nauthors: mara\ntype: howto\ndraft: yes\n"""
        r"""tilte: Pads\n---\n' > content/brakes/pads.md
printf -- '\n---\ntitle: Discs\nauthors: [mara]\ntype: practice\n---\n' > content/brakes/discs.md
printf -- '---\ntitle: &name Fluid\nauthors: [mara]\ntype: practice\n---\n' \
  > content/brakes/fluid.md
printf -- '---\ntitle: Hoses\nauthors: [zoe]\nsummary: <b>Hoses</b>\ntype: practice\n---\n' \
  > content/brakes/hoses.md""",
        (FORMAT, 1),  # a broken chapter
        (FORMAT, 2),  # the whole report
    ],
    "handbook-integrations": [
        *WORKSHOP,
        (INTEGRATIONS, 0),  # bok codeowners
        "git switch -q -c retire-kim && "
        r"sed -i '/^  kim:$/,/^    expert_in:/ s/\[brakes\]/[]/' reviews/members.yml",
        (INTEGRATIONS, 1),  # codeowners-stale
        (INTEGRATIONS, 2),  # the schemas
        (INTEGRATIONS, 3),  # the modelines
    ],
    "handbook-site": [
        *WORKSHOP,
        (SITE, 0),  # bok build
        (SITE, 1),  # a drafts preview
        (SITE, 4),  # what the index stores
        (SITE, 5),  # the preview indexes its drafts
        (SITE, 3),  # a year and a week on: expired
        (SITE, 6),  # a reserved domain name
        RESET, "mkdir ../notes && echo 'my notes' > ../notes/notes.txt",
        (SITE, 10),  # what --site-dir accepts
        "sed -i '/^  - bok  /d' mkdocs.yml",
        (SITE, 11),  # no bok plugin
        RESET, r"sed -i 's/^  - tags$/  - search\n  - tags/' mkdocs.yml",
        (SITE, 12),  # Material's search plugin is switched off
    ],
    "handbook-site-pending": [
        *WORKSHOP,
        (SITE, 2),  # a reword committed on main: pending
        (SITE, 7),  # a symbolic link
        RESET, "echo 'See [the brakes](brakes/index.md) and [tyres](tyres/index.md).' "
        ">> content/index.md",
        (SITE, 8),  # --strict
        RESET,
        (SITE, 9),  # a shallow clone
    ],
}

#: file -> how many of its console blocks no scenario replays yet (the handbook's long story
#: of Mara's workshop book, told across chapters).
PENDING: dict[str, int] = {}


@dataclass
class Replayed:
    block: Block
    outputs: list[list[str]]  # what each command printed


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "BOK_", "SSH_AUTH", "GITHUB_"))}
    bin_dir = str(Path(sys.executable).parent)
    env.update({"HOME": str(home), "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
                "GIT_CONFIG_NOSYSTEM": "1", "XDG_CONFIG_HOME": str(home / ".config"),
                "BOK_TODAY": TODAY, "PATH": f"{bin_dir}:{env.get('PATH', '')}",
                "GIT_AUTHOR_DATE": f"{TODAY}T12:00:00+00:00",
                "GIT_COMMITTER_DATE": f"{TODAY}T12:00:00+00:00", "LC_ALL": "C.UTF-8",
                "COLUMNS": "100"})
    return env


def replay(name: str) -> list[Replayed]:
    """Run a scenario in a fresh sandbox; return what each block's commands printed."""
    steps = SCENARIOS[name]
    with tempfile.TemporaryDirectory(prefix="bok-console-") as tmp:
        home = Path(tmp) / "home"
        (home / ".ssh").mkdir(parents=True)
        (home / ".gitconfig").write_text("", encoding="utf-8")
        script = ["exec 2>&1", "cd ~"]
        plan: list[Block] = []
        marker = 0
        for step in steps:
            if isinstance(step, str):
                script.append(f"{{ {step}\n}} > /dev/null || {{ echo 'hidden step failed: "
                              f"{marker}'; exit 99; }}")
                continue
            block = blocks(step[0])[step[1]]
            plan.append(block)
            for command, _ in block.commands():
                script.append(f"__s=$?; printf '\\n@@{marker}@@\\n'; (exit $__s)")
                script.append(command)
                marker += 1
        script.append("printf '\\n@@end@@\\n'")
        result = subprocess.run(["bash", "--noprofile", "--norc", "-c", "\n".join(script)],
                                env=_environment(home), cwd=home, capture_output=True,
                                text=True, stdin=subprocess.DEVNULL, timeout=600,
                                start_new_session=True)
        output = result.stdout.replace(str(home), "~")
    parts = re.split(r"\n@@(\d+|end)@@\n", "\n" + output)
    if "hidden step failed" in parts[0] or parts[-2:-1] != ["end"]:
        raise RuntimeError(f"scenario {name!r} did not run to its end:\n{output[-2000:]}")
    printed = {int(parts[i]): _trim(parts[i + 1].splitlines())
               for i in range(1, len(parts) - 2, 2)}
    replayed, n = [], 0
    for block in plan:
        count = len(block.commands())
        replayed.append(Replayed(block, [printed[n + i] for i in range(count)]))
        n += count
    return replayed


def render(block: Block, outputs: list[list[str]]) -> str:
    """The block's text with each command's output replaced by what it printed."""
    lines = []
    for (command, _), printed in zip(block.commands(), outputs, strict=True):
        lines += [f"$ {command}".replace("\n", f"\n{block.indent}"), *printed]
    return "".join(f"{block.indent}{line}".rstrip() + "\n" for line in lines)


def drift() -> list[str]:
    """A unified diff for every replayed block whose document says something else."""
    diffs = []
    for name in SCENARIOS:
        for item in replay(name):
            want = render(item.block, item.outputs)
            if want != item.block.text:
                diffs.append("".join(difflib.unified_diff(
                    item.block.text.splitlines(keepends=True), want.splitlines(keepends=True),
                    f"{item.block.file} (console block {item.block.index + 1}, documented)",
                    f"{item.block.file} (console block {item.block.index + 1}, replayed)")))
    return diffs


def write() -> list[str]:
    """Rewrite the documents with the replayed outputs; return the files changed."""
    new_text: dict[str, list[tuple[Block, str]]] = {}
    for name in SCENARIOS:
        for item in replay(name):
            new_text.setdefault(item.block.file, []).append(
                (item.block, render(item.block, item.outputs)))
    changed = []
    for file, replacements in new_text.items():
        path = ROOT / file
        text = path.read_text(encoding="utf-8")
        for block, rendered in sorted(replacements, key=lambda r: -r[0].start):
            text = text[:block.start] + rendered + text[block.start + len(block.text):]
        if text != path.read_text(encoding="utf-8"):
            path.write_text(text, encoding="utf-8")
            changed.append(file)
    return changed


def coverage() -> dict[str, tuple[int, int, int]]:
    """file -> (console blocks, replayed, pending), for the documents that have any."""
    replayed: dict[str, int] = {}
    for steps in SCENARIOS.values():
        for step in steps:
            if not isinstance(step, str):
                replayed[step[0]] = replayed.get(step[0], 0) + 1
    return {f: (len(blocks(f)), replayed.get(f, 0), PENDING.get(f, 0))
            for f in documents() if blocks(f) or f in replayed or f in PENDING}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true",
                        help="rewrite the documents' outputs with what the commands print")
    args = parser.parse_args()
    if args.write:
        for file in write():
            print(f"rewrote {file}")
        return 0
    diffs = drift()
    for diff in diffs:
        print(diff)
    if diffs:
        print(f"{len(diffs)} console block(s) drifted; regenerate with "
              "python tools/console_examples.py --write", file=sys.stderr)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
