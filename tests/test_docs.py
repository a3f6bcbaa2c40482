"""The repository's documents stand on their own.

- No file points outside the repository for its rules: every "spec §x" and rule id the code, the
  tests and the documents cite is a section or a rule of docs/grading-rules.md.
- The README is a README (at most 8,000 characters) and gives exactly the test command CI runs.
- Every relative link in README.md and docs/*.md reaches a file (and a heading) that exists.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "docs" / "grading-rules.md"
README = ROOT / "README.md"
README_MAX_CHARS = 8_000
# Built from parts so that this file does not name what it forbids.
OUTSIDE_REFERENCES = ("../" + "shared", "shared/" + "clinical", "grading" + "-spec")
SKIP_DIRS = {".git", "data", "artifacts", "__pycache__", ".pytest_cache", ".ruff_cache",
             ".hypothesis", ".venv", "node_modules"}
CITING = (".py", ".md", ".toml", ".json", ".txt", ".cfg", ".ini", ".yml", ".yaml")

SECTION_CITED = re.compile(r"§\s?(\d+(?:\.\d+)?)(?:\s*[-–]\s*§?(\d+(?:\.\d+)?))?")
RULE_ID_CITED = re.compile(r"\b(?:CRS|ICANS)-R\d+b?\b")
AMBIGUITY_CITED_BARE = re.compile(r"\b[AB][1-9]\b")  # grading/ cites A3, B4 … without "spec"
AMBIGUITY_CITED = re.compile(r"\bspec (?:§1\.8 |§2\.7 )?([AB][1-9])\b")
CASE_CITED = re.compile(r"§8,? (?:edge )?cases? (\d+)")


def tracked_files() -> list[Path]:
    """The files git tracks (a clean checkout), or every file outside build and data folders."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True, timeout=60).stdout
        names = [n for n in out.decode().split("\0") if n]
    except (OSError, subprocess.SubprocessError):
        names = []
    if names:
        return [ROOT / n for n in names if (ROOT / n).is_file()]
    found = []
    for here, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        found += [Path(here) / f for f in files]
    return found


def rules_text() -> str:
    return RULES.read_text(encoding="utf-8")


def defined_sections() -> set[str]:
    text = rules_text()
    headings = re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.?\s", text, re.M)
    items = re.findall(r"^- \*\*(\d+\.\d+)\*\*", text, re.M)  # the numbered points of §9
    return set(headings) | set(items)


def defined_rule_ids() -> set[str]:
    return set(re.findall(r"^\| ((?:CRS|ICANS)-R\d+b?|[AB]\d|[NEHITL]\d) \|", rules_text(), re.M))


def defined_cases() -> set[str]:
    text = rules_text()
    return set(re.findall(r"^\| (\d+) \|", text[text.index("\n## 8."):text.index("\n## 9.")],
                          re.M))


def text_files(suffixes: tuple[str, ...] = CITING) -> list[Path]:
    return [p for p in tracked_files() if p.suffix in suffixes and p != Path(__file__).resolve()]


def citations(text: str, *, bare_ambiguities: bool) -> set[tuple[str, str]]:
    """(kind, id) of every section, rule id, A/B note and §8 case the text cites."""
    out = {("section", g) for m in SECTION_CITED.finditer(text) for g in m.groups() if g}
    out |= {("rule", m.group()) for m in RULE_ID_CITED.finditer(text)}
    out |= {("rule", m.group(1)) for m in AMBIGUITY_CITED.finditer(text)}
    if bare_ambiguities:
        out |= {("rule", m.group()) for m in AMBIGUITY_CITED_BARE.finditer(text)}
    out |= {("case", m.group(1)) for m in CASE_CITED.finditer(text)}
    return out


# ------------------------------------------------------------------ nothing outside the repository
def test_no_file_refers_to_rules_or_documents_outside_the_repository():
    offenders = []
    for path in tracked_files():
        if path == Path(__file__).resolve():
            continue
        data = path.read_bytes()
        offenders += [f"{path.relative_to(ROOT)}: {ref}" for ref in OUTSIDE_REFERENCES
                      if ref.encode() in data]
    assert offenders == []


def test_the_rules_document_says_spec_means_itself_and_the_decisions_point_at_it():
    head = rules_text()[:1200]
    assert '"spec"' in head and "this document" in head
    decisions = (ROOT / "docs" / "clinical-decisions.md").read_text(encoding="utf-8")[:1500]
    assert "grading-rules.md" in decisions and '"spec"' in decisions


def test_the_rules_document_has_every_section_and_rule_id_of_the_original_numbering():
    sections = defined_sections()
    expected = {"0.1", "0.2", "0.3", "0.4", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7",
                "1.8", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "3.1", "3.2", "3.3",
                "3.4", "3.5", "3.6", "3.7", "4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "5.1",
                "5.2", "5.3", "5.4", "5.5", "6.1", "6.2", "6.3", "7", "8", "9", "10"}
    assert expected <= sections
    ids = defined_rule_ids()
    assert {f"CRS-R{i}" for i in range(1, 11)} | {"CRS-R3b", "CRS-R4b"} <= ids
    assert {f"ICANS-R{i}" for i in range(1, 11)} <= ids
    assert {f"A{i}" for i in range(1, 10)} | {f"B{i}" for i in range(1, 8)} <= ids
    assert {str(i) for i in range(1, 66)} == defined_cases()


def test_every_rule_the_grading_code_cites_is_in_the_rules_document():
    known = ({("section", s) for s in defined_sections()}
             | {("rule", r) for r in defined_rule_ids()}
             | {("case", c) for c in defined_cases()})
    files = [p for p in text_files((".py",)) if "grading" in p.relative_to(ROOT).parts[:1]]
    assert len(files) > 10  # the engine's modules were found
    missing = {f"{p.relative_to(ROOT)}: {kind} {ident}" for p in files
               for kind, ident in citations(p.read_text(encoding="utf-8"), bare_ambiguities=True)
               if (kind, ident) not in known}
    assert sorted(missing) == []


def test_every_spec_citation_elsewhere_in_the_repository_is_in_the_rules_document():
    known = ({("section", s) for s in defined_sections()}
             | {("rule", r) for r in defined_rule_ids()}
             | {("case", c) for c in defined_cases()})
    missing = {f"{p.relative_to(ROOT)}: {kind} {ident}" for p in text_files()
               if p.parts[len(ROOT.parts)] != "grading"
               for kind, ident in citations(p.read_text(encoding="utf-8", errors="replace"),
                                            bare_ambiguities=False)
               if (kind, ident) not in known}
    assert sorted(missing) == []


@pytest.mark.parametrize("text, cited", [
    ("# CRS-R1: >= 38.0 °C (A1); spec §1.6", {("rule", "CRS-R1"), ("rule", "A1"),
                                               ("section", "1.6")}),
    ("spec §5.2-§5.5 and §4.1–4.4.", {("section", "5.2"), ("section", "5.5"),
                                      ("section", "4.1"), ("section", "4.4")}),
    ("spec §8 case 23, spec B4", {("section", "8"), ("case", "23"), ("rule", "B4")}),
])
def test_the_citation_reader_finds_sections_ranges_rule_ids_and_cases(text, cited):
    assert citations(text, bare_ambiguities=True) == cited


def test_a_citation_the_rules_do_not_hold_is_noticed():
    assert ("section", "4.7") not in {("section", s) for s in defined_sections()}
    assert "CRS-R11" not in defined_rule_ids() and "A10" not in defined_rule_ids()


# ------------------------------------------------------------------ the README
def test_the_readme_is_at_most_8000_characters():
    assert len(README.read_text(encoding="utf-8")) <= README_MAX_CHARS


def test_the_readme_gives_exactly_the_test_command_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    runs = [line.strip() for line in ci.splitlines()
            if "pytest" in line and not line.lstrip().startswith("#")]
    assert runs, "no pytest command in .ci/run"
    readme_blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    readme_lines = {line.strip() for block in readme_blocks for line in block.splitlines()}
    assert runs[-1] in readme_lines


def test_the_readme_names_the_demo_accounts_and_their_password():
    from monitoring import demo

    text = README.read_text(encoding="utf-8")
    assert demo.DEMO_PASSWORD in text
    assert all(f"`{name}`" in text for name in demo.DEMO_ACCOUNTS)


# ------------------------------------------------------------------ links
def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return {slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}


MARKDOWN = [README, *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: p.name)
def test_every_relative_link_reaches_a_file_and_heading_that_exist(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: not checked here
            continue
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        missing_heading = (dest.exists() and bool(anchor) and dest.suffix == ".md"
                           and anchor not in anchors(dest))
        if not dest.exists() or missing_heading:
            broken.append(target)
    assert broken == []


# ------------------------------------------------------------------ the canonical format
def test_every_canonical_column_is_described_in_the_format_documents():
    from grading.fields import FIELDS

    text = "".join((ROOT / "docs" / name).read_text(encoding="utf-8")
                   for name in ("design.md", "cli.md"))
    assert [f.name for f in FIELDS if f"`{f.name}`" not in text] == []
