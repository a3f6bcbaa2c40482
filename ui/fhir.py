"""FHIR R4 on the pages (issue 19; docs/fhir.md; decisions W18, W19): the uploaded files
checked for number, size and kind, imported through ``services.import_fhir`` with a progress
bar, what the import did said in a clinician's words (or, refused, every problem as a table
row), and the FHIR download of one patient's grades.

The import logic takes names and bytes and a progress callback, not widgets, so tests call it
directly; the page (ui/pages/fhir_import.py) draws the widgets around it.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from grading import csvsafe
from monitoring import services
from monitoring.fhir import FhirError, FhirProblem, Outcome
from monitoring.services import DatabaseError, StoreError
from ui import session
from ui.text import file_part, md

LOG = logging.getLogger(__name__)

MAX_FILES = 20          # files in one import
MAX_TOTAL_MB = 50       # megabytes in one import, all files together (also each file's limit)
KINDS = ("json", "ndjson")
MIME = "application/fhir+json"
SHOWN_NAME = 80         # characters of an uploaded file's name shown back
SHOWN_VALUE = 80        # characters of a refused value shown in the problems table
PROBLEM_COLUMNS = ("File and place", "Resource", "Element", "Value", "Why")
FAILED = ("The import stopped for a reason the ward app did not expect. Nothing was stored: "
          "an import is all or nothing. The details are in the server log for the "
          "administrator.")

STOPPED = "Stopped: nothing was imported."
UPDATING = "bringing grades and flags up to date"
SHOWN_PROBLEMS = 100    # rows of the problems table; all of them in its CSV download
Progress = Callable[[float, str], None]   # (fraction done 0-1, what is happening)


@dataclass(frozen=True)
class Upload:
    """One uploaded file: its name as the browser gave it, and its bytes."""

    name: str
    data: bytes


@dataclass
class ImportResult:
    """What an import did, for the page: ``ok`` False and ``problems`` when refused."""

    ok: bool
    headline: str
    files: list[str]
    lines: list[str] = field(default_factory=list)      # what was stored, in words
    notices: list[str] = field(default_factory=list)    # for a person to look at
    limits: list[str] = field(default_factory=list)     # tocilizumab doses past the limits
    problems: list[dict[str, str]] = field(default_factory=list)  # table rows
    nothing_new: bool = False


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def shown_name(name: str) -> str:
    return name if len(name) <= SHOWN_NAME else name[:SHOWN_NAME - 1] + "…"


def upload_problem(files: Sequence[tuple[str, int]]) -> str | None:
    """Why these files (name, size in bytes) are not imported, in plain words, or None."""
    if not files:
        return "choose one or more FHIR files first"
    if len(files) > MAX_FILES:
        return (f"at most {MAX_FILES} files are imported at a time ({len(files)} chosen): "
                "import the others in a second round")
    total = sum(size for _, size in files)
    if total > MAX_TOTAL_MB * 2**20:
        return (f"at most {MAX_TOTAL_MB} MB are imported at a time (these files hold "
                f"{total / 2**20:.1f} MB): split the export and import it in parts")
    wrong = [shown_name(n) for n, _ in files if Path(n).suffix.lower().lstrip(".") not in KINDS]
    if wrong:
        return ("only FHIR Bundles (.json) and Bulk Data files (.ndjson) are imported, not "
                + ", ".join(wrong))
    empty = [shown_name(n) for n, size in files if size == 0]
    if empty:
        return "empty file: " + ", ".join(empty)
    return None


KNOWN_COUNTS = ("added", "unchanged", "amended", "marked", "not_charted", "derived",
                "medications", "labs", "not_given")


def other_counts(o: Outcome) -> dict[str, int]:
    """Counts of an ``Outcome`` beyond those this module words (a kind of resource the
    import learns later): shown by their name rather than lost, and counted as new."""
    return {f.name: getattr(o, f.name) for f in dataclasses.fields(o)
            if f.name not in KNOWN_COUNTS and isinstance(getattr(o, f.name), int)
            and not isinstance(getattr(o, f.name), bool) and getattr(o, f.name) > 0}


def outcome_lines(o: Outcome, admitted: Sequence[str]) -> list[str]:
    """What an import stored, one sentence each, in a clinician's words."""
    lines = []
    if admitted:
        lines.append(f"{_plural(len(admitted), 'patient')} admitted from the hospital record: "
                     + ", ".join(admitted) + ". Their bed, product and infusion time are not "
                     "in the FHIR files: complete them on Admission and discharge, so the "
                     "days after infusion are counted.")
    if o.added:
        lines.append(f"{_plural(o.added, 'assessment')} added (observations of one patient "
                     "within 5 minutes of each other make one assessment), graded and "
                     "flagged like any charted at the bedside.")
    if o.medications:
        lines.append(f"{_plural(o.medications, 'medication')} recorded as given, as if "
                     "entered on Medications and labs (the same checks, and the same effect on "
                     "the grades, the tocilizumab doses and the flags).")
    if o.labs:
        lines.append(f"{_plural(o.labs, 'lab result')} recorded (see Medications and labs).")
    if o.amended:
        lines.append(f"{_plural(o.amended, 'entry', 'entries')} amended: the hospital record "
                     "sent a correction. The earlier version stays in the record's history.")
    if o.marked:
        lines.append(f"{_plural(o.marked, 'entry', 'entries')} withdrawn: entered in error "
                     "(or, for a medication, not done) in the hospital record. They stay in "
                     "the history and no longer count.")
    if o.not_charted:
        lines.append(f"{_plural(o.not_charted, 'resource')} not recorded: sent as entered "
                     "in error, never imported before.")
    if o.not_given:
        lines.append(f"{_plural(o.not_given, 'medication')} sent as not given: nothing "
                     "recorded for " + ("it." if o.not_given == 1 else "them."))
    if o.unchanged:
        lines.append(f"{_plural(o.unchanged, 'resource')} imported before and unchanged: "
                     "nothing added for "
                     + ("it." if o.unchanged == 1 else "them."))
    for name, n in other_counts(o).items():  # a count this page has no words for yet
        lines.append(f"{name.replace('_', ' ').capitalize()}: {n:,}.")
    if o.derived:
        what = _plural(o.derived, "grade, episode or flag", "grades, episodes or flags")
        lines.append(f"{what} from a ward export not imported: the ward grades again from "
                     "the observations.")
    return lines


def _problem_row(p: FhirProblem | str, names: dict[str, str]) -> dict[str, str]:
    """One problem as a table row, the temporary file paths replaced by the uploaded names."""
    def named(text: str) -> str:
        for path, name in names.items():
            text = text.replace(path, name)
        return text

    if isinstance(p, FhirProblem):
        value = p.value if len(p.value) <= SHOWN_VALUE else p.value[:SHOWN_VALUE - 1] + "…"
        cells = (named(p.where), p.resource, p.element, value, named(p.why))
    else:
        cells = ("", "", "", "", named(str(p)))
    return dict(zip(PROBLEM_COLUMNS, cells))


def refused(files: list[str], why: str) -> ImportResult:
    return ImportResult(False, f"Nothing was imported: {why}", files)


def run_import(store: Any, uploads: Sequence[Upload], by: str,
               progress: Progress = lambda *_: None) -> ImportResult:
    """Import the uploaded FHIR files through ``services.import_fhir`` (all or nothing),
    telling ``progress`` what is happening. A refusal comes back as an ``ImportResult`` with
    the problems; a database outage is raised (the app says so, app.py)."""
    files = [shown_name(u.name) for u in uploads]
    problem = upload_problem([(u.name, len(u.data)) for u in uploads])
    if problem is not None:
        return refused(files, problem + ".")
    progress(0.0, f"Reading {_plural(len(uploads), 'file')}…")
    with tempfile.TemporaryDirectory(prefix="ward-fhir-") as tmp:
        paths, names = [], {}
        for i, u in enumerate(uploads, 1):
            folder = Path(tmp) / str(i)   # one folder a file: two uploads of one name
            folder.mkdir()
            suffix = Path(u.name).suffix.lower()
            path = folder / (file_part(Path(u.name).stem, most=60) + suffix)
            path.write_bytes(u.data)
            paths.append(path)
            names[str(path)] = shown_name(u.name)
        before = {p["patient_id"] for p in store.patients()}
        started = datetime.now().astimezone()

        def checked(done: int, total: int) -> None:  # the FHIR models: the slow part
            progress(0.05 + 0.45 * done / total,
                     f"Checked {done:,} of {total:,} resources" + ("…" if done < total else
                                                                   "; importing…"))

        def step(done: int, total: int) -> None:  # the assessment rows
            progress(0.5 + 0.25 * done / total,
                     f"Importing {done:,} of {total:,} assessments…" if done < total else
                     f"Imported {total:,} of {total:,} assessments…")

        def treated(done: int, total: int) -> None:  # medications and labs: the writes' end
            if total == 0:
                progress(0.9, UPDATING[0].upper() + UPDATING[1:] + "…")
            elif done < total:
                progress(0.75 + 0.15 * done / total, f"Recording {done:,} of {total:,} "
                                                     "medications and lab results…")
            else:
                progress(0.9, f"Recorded {total:,} of {total:,} medications and lab "
                              f"results; {UPDATING}…")

        progress(0.05, f"Reading and checking every resource of "
                       f"{_plural(len(uploads), 'file')}…")
        try:
            outcome = services.import_fhir(store, paths, by, progress=step, checking=checked,
                                           treating=treated)
        except FhirError as e:
            progress(1.0, STOPPED)
            rows = [_problem_row(p, names) for p in e.problems]
            return ImportResult(
                False, f"Nothing was imported: {_plural(len(rows), 'problem')} in "
                + ("this file" if len(uploads) == 1 else "these files") + ". An import is "
                "all or nothing: correct the files (or ask the hospital record's team to) "
                "and import them again.", files, problems=rows)
        except StoreError as e:
            progress(1.0, STOPPED)
            return refused(files, str(e) + ".")
        except DatabaseError:
            raise
        except Exception:  # e.g. a file nested too deep to read: logged, never a traceback
            LOG.exception("FHIR import of %s by %s failed", files, by)
            progress(1.0, STOPPED)
            return ImportResult(False, FAILED, files)
    admitted = sorted(p["patient_id"] for p in store.patients()
                      if p["patient_id"] not in before and p["created_by"] == by
                      and p["created_at"] >= started)
    progress(1.0, "Import finished.")
    lines = outcome_lines(outcome, admitted)
    nothing_new = not (admitted or outcome.added or outcome.medications or outcome.labs
                       or outcome.amended or outcome.marked or other_counts(outcome))
    if nothing_new:
        headline = ("Nothing new: everything in " + ("this file" if len(uploads) == 1
                                                     else "these files")
                    + " is in the ward record already." if outcome.unchanged else
                    "Nothing new: nothing in " + ("this file" if len(uploads) == 1 else
                                                  "these files") + " was recorded.")
    else:
        headline = "Imported from " + ", ".join(files) + "."
    return ImportResult(True, headline, files, lines, list(outcome.notices),
                        list(outcome.tocilizumab_limits), nothing_new=nothing_new)


# ------------------------------------------------------------------------------ drawing
def show_result(result: ImportResult) -> None:
    """The outcome of the last import: what was stored, or every problem as a table row."""
    if result.ok:
        (st.info if result.nothing_new else st.success)(md(result.headline),
                                                        icon=":material/check:")
        for line in result.lines:
            st.markdown(f"- {md(line)}")
        for limit in result.limits:  # as the medications page warns of a dose (ASCO 2021)
            st.warning(md(limit), icon=":material/warning:")
        for notice in result.notices:
            st.warning(md(notice), icon=":material/person_search:")
        return
    st.error(md(result.headline), icon=":material/error:")
    if not result.problems:
        return
    # a table (not a data grid): the long "why" wraps on a tablet instead of being cut off;
    # its cells render Markdown, so the text from the files is escaped
    shown = result.problems[:SHOWN_PROBLEMS]
    st.table(pd.DataFrame([{k: md(v) for k, v in row.items()} for row in shown],
                          columns=list(PROBLEM_COLUMNS)).set_index("File and place"))
    if len(result.problems) > len(shown):
        st.caption(f"The first {len(shown)} of {len(result.problems):,} problems; the "
                   "download below lists all of them.")
    problems = result.problems
    st.download_button("Every problem (CSV)", session.guarded(lambda: problems_csv(problems)),
                       file_name="FHIR-import-problems.csv", mime="text/csv",
                       key="fhir_problems_csv", on_click="ignore")


def problems_csv(problems: Sequence[dict[str, str]]) -> bytes:
    """The problems of a refused import as a formula-safe CSV (grading/csvsafe.py)."""
    out = io.StringIO()
    w = csvsafe.writer(out)
    w.writerow(PROBLEM_COLUMNS)
    w.writerows([row[c] for c in PROBLEM_COLUMNS] for row in problems)
    return out.getvalue().encode("utf-8")


def bundle_file_name(patient_id: str, at: datetime, tz: Any) -> str:
    """``<patient>-FHIR-<DD-MM-YYYY>.json``: the ward's date, as people write it."""
    return f"{file_part(patient_id)}-FHIR-{at.astimezone(tz):%d-%m-%Y}.json"


def download_bundle(store: Any, patient_id: str, user: dict[str, Any], key: str) -> None:
    """The "Download FHIR bundle" button of one patient: the Bundle is made when clicked,
    while the user is still signed in (``session.guarded``), and audited."""
    st.download_button(
        "Download FHIR bundle",
        session.guarded(lambda: services.fhir_bundle(store, patient_id, user["username"])),
        file_name=bundle_file_name(patient_id, session.now(), store.tz), mime=MIME, key=key,
        on_click="ignore", icon=":material/download:")
    st.caption("For the hospital record (FHIR R4, JSON): the patient, the observations, "
               "medications given and lab results, each assessment's CRS and ICANS grade by "
               "ASTCT 2019 with why, each episode with the ICD-10-CM code of its maximum "
               "grade, and the open flags.")
