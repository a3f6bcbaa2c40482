"""The FHIR pages (issue 19; decisions W18, W19): the import page for physicians and
administrators (files checked, a progress bar, the outcome in a clinician's words, every
problem of a refused file in a table, a second import of the same file "nothing new"), and the
"Download FHIR bundle" of one patient on the review page and the import page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitoring.fhir import Outcome
from tests.monitoring.fhir_helpers import med, patient, vital
from ui import fhir as page
from ui.text import shown

from .conftest import ROOT, go, texts
from .test_clinician_words import internal, page_text

PAGE = "ui/pages/fhir_import.py"
SAMPLE = ROOT / "sample_data" / "fhir" / "patient1_bundle.json"
MB = 2**20


def sample() -> page.Upload:
    return page.Upload("patient1_bundle.json", SAMPLE.read_bytes())


def lines_of(*resources: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in resources).encode()


# ------------------------------------------------------------------------------ who
def test_physicians_and_administrators_open_the_fhir_page_nurses_and_educators_do_not():
    from ui import session
    assert [r for r in ("nurse", "physician", "educator", "admin")
            if "fhir" in session.allowed_pages(r)] == ["physician", "admin"]


# (the page itself refuses a nurse and an educator: tests/ui/test_sign_in.py
# test_every_page_checks_the_role_on_the_server)


# ------------------------------------------------------------------------------ the files
@pytest.mark.parametrize(("files", "said"), [
    ([], "choose one or more FHIR files first"),
    ([("a.json", 10)] * 21, "at most 20 files are imported at a time (21 chosen)"),
    ([("a.json", 30 * MB), ("b.ndjson", 20 * MB + 1)],
     "at most 50 MB are imported at a time (these files hold 50.0 MB)"),
    ([("a.json", 10), ("notes.csv", 10)],
     "only FHIR Bundles (.json) and Bulk Data files (.ndjson) are imported, not notes.csv"),
    ([("a.json", 0)], "empty file: a.json"),
])
def test_too_many_too_large_other_or_empty_files_are_refused_in_plain_words(files, said):
    assert page.upload_problem(files).startswith(said)


@pytest.mark.parametrize("files", [
    [("a.json", 10)] * 20, [("a.json", 50 * MB)], [("A.JSON", 1), ("b.NDJSON", 1)]])
def test_up_to_20_files_and_50_mb_of_json_or_ndjson_are_accepted(files):
    assert page.upload_problem(files) is None


# ------------------------------------------------------------------------------ the import
def test_an_import_reports_its_progress_and_what_it_stored_in_clinician_words(store):
    seen: list[tuple[float, str]] = []
    result = page.run_import(store, [sample()], "demo.admin", lambda v, t: seen.append((v, t)))
    assert result.ok and not result.nothing_new and not result.problems
    assert result.headline == "Imported from patient1_bundle.json."
    assert result.lines[0].startswith("1 patient admitted from the hospital record: "
                                      "FHIR-DEMO-1.")
    assert "4 assessments added" in result.lines[1]
    assert result.lines[2].startswith("1 medication recorded as given, as if entered on "
                                      "Medications and labs")
    assert result.lines[3] == "2 lab results recorded (see Medications and labs)."
    # the record's own progress callback, with its total, drives the bar
    assert [t for _, t in seen] == [
        "Reading 1 file…", "Reading and checking every resource of 1 file…",
        "Checked 24 of 24 resources; importing…",
        "Imported 4 of 4 assessments…",
        "Recorded 3 of 3 medications and lab results; bringing grades and flags up to date…",
        "Import finished."]
    assert [v for v, _ in seen] == sorted(v for v, _ in seen) and seen[-1][0] == 1.0
    assert len([h for h in store.history("FHIR-DEMO-1") if h.status == "final"]) == 4


def test_the_bar_follows_the_medications_and_lab_results_and_says_when_there_are_none(
        store, monkeypatch):
    from monitoring.fhir import load
    monkeypatch.setattr(load, "TREAT_STEP", 1)
    seen: list[tuple[float, str]] = []
    page.run_import(store, [sample()], "demo.admin", lambda v, t: seen.append((v, t)))
    writes = [(v, t) for v, t in seen if "medications" in t]
    assert [t for _, t in writes] == [
        "Recording 1 of 3 medications and lab results…",
        "Recording 2 of 3 medications and lab results…",
        "Recorded 3 of 3 medications and lab results; bringing grades and flags up to date…"]
    assert [v for v, _ in seen] == sorted(v for v, _ in seen)
    seen.clear()  # vital signs only: the bar still says what comes after the writes
    page.run_import(store, [page.Upload("v.ndjson", lines_of(
        patient(), vital("h", "8867-4", 90, "/min")))], "demo.admin",
        lambda v, t: seen.append((v, t)))
    assert [t for _, t in seen][-3:] == ["Imported 1 of 1 assessments…",
                                         "Bringing grades and flags up to date…",
                                         "Import finished."]


def test_importing_the_same_file_again_says_nothing_new_and_stores_nothing(store):
    page.run_import(store, [sample()], "demo.admin")
    rows = len(store.history("FHIR-DEMO-1"))
    again = page.run_import(store, [sample()], "demo.admin")
    assert again.ok and again.nothing_new
    assert again.headline == "Nothing new: everything in this file is in the ward record " \
                             "already."
    # the patient, 20 vital-sign and 2 lab Observations and 1 medication of the sample
    assert again.lines == ["24 resources imported before and unchanged: nothing added for "
                           "them."]
    assert len(store.history("FHIR-DEMO-1")) == rows


def test_the_steps_of_a_large_import_count_up_to_the_total(store, monkeypatch):
    obs = [vital(f"h{i}", "8867-4", 80 + i % 20, "/min",
                 at=f"2026-03-{1 + i // 24:02d}T{i % 24:02d}:00:00+00:00") for i in range(30)]
    seen: list[tuple[float, str]] = []
    # the record reports each chunk of rows it writes (5000 a chunk): 7 here, to see steps
    whole = store.import_csv
    monkeypatch.setattr(store, "import_csv", lambda *a, **k: whole(*a, chunk=7, **k))
    result = page.run_import(store, [page.Upload("o.ndjson", lines_of(patient(), *obs))],
                             "demo.physician", lambda v, t: seen.append((v, t)))
    assert result.ok and "30 assessments added" in result.lines[1]
    steps = [t for _, t in seen if "of 30" in t]
    assert steps == [f"Importing {n} of 30 assessments…" for n in (7, 14, 21, 28)] + [
        "Imported 30 of 30 assessments…"]
    assert seen[-2][1] == "Bringing grades and flags up to date…"  # no medications or labs
    assert [v for v, _ in seen] == sorted(v for v, _ in seen)


def test_an_amendment_a_withdrawal_and_an_unread_export_are_said_in_words():
    lines = page.outcome_lines(Outcome(amended=1, marked=2, not_charted=1, unchanged=1,
                                       derived=3), [])
    assert lines == [
        "1 entry amended: the hospital record sent a correction. The earlier version stays "
        "in the record's history.",
        "2 entries withdrawn: entered in error (or, for a medication, not done) in the "
        "hospital record. They stay in the history and no longer count.",
        "1 resource not recorded: sent as entered in error, never imported before.",
        "1 resource imported before and unchanged: nothing added for it.",
        "3 grades, episodes or flags from a ward export not imported: the ward grades again "
        "from the observations."]


def test_a_withdrawal_in_a_later_import_is_news_not_nothing_new(store):
    first = lines_of(patient(), vital("h", "8867-4", 90, "/min"),
                     vital("t", "8310-5", 37.0, "Cel"))
    page.run_import(store, [page.Upload("a.ndjson", first)], "demo.admin")
    later = lines_of(patient(), vital("h", "8867-4", 90, "/min", status="entered-in-error"),
                     vital("t", "8310-5", 37.0, "Cel"))
    result = page.run_import(store, [page.Upload("b.ndjson", later)], "demo.admin")
    assert result.ok and not result.nothing_new
    assert any(line.startswith("1 entry withdrawn") for line in result.lines)


def test_a_file_with_a_bad_resource_imports_nothing_and_lists_each_problem(store):
    bad = lines_of(patient(), vital("h", "8867-4", 90, "/min"),
                   vital("t", "8310-5", 37.0, "mg"))
    result = page.run_import(store, [page.Upload("ward 7 export.ndjson", bad)], "demo.admin")
    assert not result.ok
    assert result.headline.startswith("Nothing was imported: 1 problem in this file. An "
                                      "import is all or nothing")
    (row,) = result.problems
    assert row == {"File and place": "ward 7 export.ndjson line 3",
                   "Resource": "Observation/t", "Element": "valueQuantity.code",
                   "Value": "mg", "Why": "the unit must be UCUM Cel or [degF] for LOINC 8310-5"}
    assert store.patient("MRN-1") is None


def test_a_value_the_record_refuses_is_named_by_its_resource(store):
    bad = lines_of(patient(), vital("h", "8867-4", 400, "/min"))
    result = page.run_import(store, [page.Upload("b.ndjson", bad)], "demo.admin")
    (row,) = result.problems
    assert (row["File and place"], row["Resource"], row["Value"]) == (
        "b.ndjson line 2", "Observation/h", "400")
    assert row["Element"].startswith("value (Heart rate")
    assert row["Why"] == "out of range; allowed: a whole number from 0 to 300 /min"
    assert store.patient("MRN-1") is None


def test_a_file_too_deeply_nested_to_read_is_refused_without_a_traceback(store, caplog):
    result = page.run_import(store, [page.Upload("deep.json", b"[" * 200_000)], "demo.admin")
    assert not result.ok and result.headline.startswith("Nothing was imported: 1 problem")
    (row,) = result.problems
    assert row["Why"] == "the JSON is nested too deeply to be a FHIR resource"
    assert "Traceback" not in result.headline


def test_an_educator_cannot_import_and_is_told_why(store):
    result = page.run_import(store, [sample()], "demo.educator")
    assert not result.ok and result.headline.startswith("Nothing was imported: user "
                                                        "'demo.educator'")
    assert store.patient("FHIR-DEMO-1") is None


# ------------------------------------------------------------------------------ the page
def import_on_the_page(at, name: str, data: bytes):
    at.get("file_uploader")[0].set_value((name, data, "application/json"))
    at.run()
    next(b for b in at.button if b.label == "Import").click()
    at.run()
    assert not at.exception, at.exception
    return at


def test_an_administrator_imports_on_the_page_and_a_second_import_says_nothing_new(
        signed_in, store):
    at = go(signed_in("admin"), PAGE)
    assert at.title[0].value == "FHIR import and export"
    import_on_the_page(at, "patient1_bundle.json", SAMPLE.read_bytes())
    said = texts(at)
    assert [shown(s.value) for s in at.success] == ["Imported from patient1_bundle.json."]
    assert "1 patient admitted from the hospital record: FHIR-DEMO-1." in said
    assert "4 assessments added" in said
    (bar,) = at.get("progress")
    assert bar.proto.value == 100 and bar.proto.text == "Import finished."
    next(b for b in at.button if b.label == "Import").click()
    at.run()
    assert [shown(i.value) for i in at.info] == [
        "Nothing new: everything in this file is in the ward record already."]
    assert len([h for h in store.history("FHIR-DEMO-1") if h.status == "final"]) == 4
    assert internal(page_text(at)) == []


def test_the_page_warns_of_imported_tocilizumab_doses_past_the_limits_naming_the_patient(
        signed_in, store):
    doses = [med(f"t{i}", "tocilizumab", dose=560, at=f"2026-03-{at}:00+00:00")
             for i, at in enumerate(["01T00:00", "01T08:00", "01T16:00", "02T00:00",
                                     "02T08:00"])]
    at = go(signed_in("physician"), PAGE)
    import_on_the_page(at, "doses.ndjson", lines_of(patient(), *doses))
    assert [shown(w.value) for w in at.warning] == [
        "patient MRN-1: an imported tocilizumab dose, given 02 Mar 08:00, went past the dosing "
        "limits; before it: 4 doses in total: the limit is 4 (ASCO 2021). A physician checks "
        "the doses on Medications and labs."]
    assert len(store.administrations("MRN-1")) == 5   # recorded: the page says, never refuses
    assert internal(page_text(at)) == []


def test_a_physician_sees_the_problems_of_a_refused_file_in_a_table(signed_in, store):
    at = go(signed_in("physician"), PAGE)
    bad = lines_of(patient(), vital("t", "8310-5", 37.0, "mg"))
    import_on_the_page(at, "bad.ndjson", bad)
    assert shown(at.error[0].value).startswith("Nothing was imported: 1 problem in this file.")
    (table,) = [d.value for d in at.table]
    assert [table.index.name, *table.columns] == ["File and place", "Resource", "Element",
                                                  "Value", "Why"]
    assert [shown(c) for c in [table.index[0], *table.iloc[0]]] == [
        "bad.ndjson line 2", "Observation/t", "valueQuantity.code", "mg",
        "the unit must be UCUM Cel or [degF] for LOINC 8310-5"]
    assert (at.get("progress")[0].proto.text, at.get("progress")[0].proto.value) == (
        "Stopped: nothing was imported.", 100)
    assert "Traceback" not in texts(at)
    assert internal(page_text(at)) == []


def test_a_long_list_of_problems_shows_the_first_100_and_downloads_them_all(signed_in):
    at = go(signed_in("admin"), PAGE)
    bad = lines_of(patient(), *[vital(f"t{i}", "8310-5", 37.0, "mg",
                                      at=f"2026-03-01T{i // 60:02d}:{i % 60:02d}:00+00:00")
                                for i in range(101)])
    import_on_the_page(at, "many.ndjson", bad)
    assert len(at.table[0].value) == 100
    assert "The first 100 of 101 problems; the download below lists all of them." in texts(at)
    assert [b.proto.label for b in at.get("download_button")
            if "problem" in b.proto.label] == ["Every problem (CSV)"]


def test_the_problems_csv_lists_every_problem_and_is_formula_safe():
    rows = [dict(zip(page.PROBLEM_COLUMNS, ("a.ndjson line 1", "Patient/x", "name",
                                             "=HYPERLINK(\"http://x\")", "why")))]
    text = page.problems_csv(rows).decode()
    assert text.splitlines()[0] == "File and place,Resource,Element,Value,Why"
    assert "\"'=HYPERLINK(\"\"http://x\"\")\"" in text.splitlines()[1]


def test_the_page_refuses_more_than_20_files_before_importing(signed_in):
    at = go(signed_in("admin"), PAGE)
    at.get("file_uploader")[0].set_value([(f"p{i}.ndjson", lines_of(patient()),
                                           "application/json") for i in range(21)])
    at.run()
    assert next(b for b in at.button if b.label == "Import").disabled
    assert [shown(e.value) for e in at.error] == [
        "Not imported: at most 20 files are imported at a time (21 chosen): import the "
        "others in a second round."]


# ------------------------------------------------------------------------------ the download
def test_the_bundle_file_name_has_the_patient_and_the_ward_date_not_an_iso_time():
    at = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    assert page.bundle_file_name("DEMO-001", at, ZoneInfo("UTC")) == \
        "DEMO-001-FHIR-06-12-2026.json"
    # the ward's date: 23:30 UTC is already 7 December in Berlin
    assert page.bundle_file_name("../x y", at, ZoneInfo("Europe/Berlin")) == \
        "x_y-FHIR-07-12-2026.json"
    assert not re.search(r"\d{4}-\d\d-\d\d", page.bundle_file_name("P", at, ZoneInfo("UTC")))


# (the bundle itself, its audit and who may export: tests/monitoring/test_fhir_download.py)


@pytest.mark.parametrize("role", ["nurse", "physician"])
def test_the_review_page_offers_the_fhir_bundle_to_nurses_and_physicians(signed_in, role):
    at = signed_in(role)
    at.session_state["patient_id"] = "DEMO-001"
    go(at, "ui/pages/review.py")
    buttons = [b for b in at.get("download_button") if "FHIR" in b.proto.label]
    (fhir,) = buttons
    assert fhir.proto.label == "Download FHIR bundle"
    assert "ASTCT 2019" in texts(at)


def test_the_review_of_a_patient_never_assessed_for_icans_says_not_evaluable(signed_in,
                                                                              store):
    page.run_import(store, [sample()], "demo.admin")  # vital signs only: no neuro items
    at = signed_in("physician")
    at.session_state["patient_id"] = "FHIR-DEMO-1"
    go(at, "ui/pages/review.py")
    assert "Maximum so far: CRS 2, ICANS not evaluable" in texts(at)
    assert "ICANS None" not in texts(at)


def test_the_fhir_page_offers_any_patients_bundle_to_an_administrator(signed_in):
    at = go(signed_in("admin"), PAGE)
    assert not [b for b in at.get("download_button")]
    at.selectbox(key="fhir_export_patient").select("DEMO-002").run()
    (fhir,) = at.get("download_button")
    assert fhir.proto.label == "Download FHIR bundle"


def test_the_import_page_is_listed_with_the_pages_every_size_test_opens():
    from ui import session
    assert session.PAGES["fhir"][0] == PAGE and Path(ROOT / PAGE).is_file()
