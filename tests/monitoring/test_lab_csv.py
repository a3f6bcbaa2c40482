"""The lab CSV import (issue 20 point 1; docs/markers.md "Lab CSV format"; decisions M10, M11):
every row checked first and every problem named (row, column, value, what is allowed), then
all results stored in one transaction under the patients' locks, audited, flags resynced — or
nothing. Fuzzed like the assessment import: any bytes give a named problem or a clean import,
a file with any bad row stores nothing, a good file round-trips to the canonical values."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grading.lab_scores import units
from grading.parse import PROBLEM_CODES, InputError
from monitoring import cli, lab_csv, services
from monitoring.store import StoreError, WardStore
from tests.fuzz_files import run_in_process

INFUSION = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HEADER = "patient_id,taken_at,test,value,unit\n"


def admitted(store: WardStore, *pids: str) -> None:
    for pid in pids or ("P1",):
        services.admit(store, {"patient_id": pid, "infusion_time": INFUSION}, by="drx")


def problems_of(store: WardStore, text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(InputError) as e:
        services.import_labs(store, data, by="nina")
    return e.value.lines


def lab_count(store: WardStore, *pids: str) -> int:
    return sum(len(store.treatment_history(p)["labs"]) for p in pids or ("P1",))


# ------------------------------------------------------------------------------ a good file
def test_a_good_file_stores_every_result_converted_audited_with_key_or_loinc(store):
    admitted(store, "P1", "P2")
    n = services.import_labs(store, (
        HEADER + "P1,2026-03-03T08:00+01:00,ferritin,1200,µg/L\n"
        "P1,2026-03-03T09:00Z,2276-4,1300,ng/mL\n"    # the LOINC code of ferritin
        "P2,2026-03-03T07:00Z,crp,52,mg/L\n").encode(), by="nina")
    assert n == 3
    p1 = store.labs("P1")
    assert [(x["test"], x["value"], x["unit"], x["entered_value"], x["entered_unit"])
            for x in p1] == [("ferritin", 1200.0, "ng/mL", 1200.0, "µg/L"),
                             ("ferritin", 1300.0, "ng/mL", 1300.0, "ng/mL")]
    assert p1[0]["taken_at"] == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)  # the offset read
    (crp,) = store.labs("P2")
    assert crp["value"] == pytest.approx(5.2) and crp["unit"] == "mg/dL"
    audit = [e for p in ("P1", "P2") for e in store.audit(p) if e["entity"] == "lab"]
    assert [e["action"] for e in audit] == ["import"] * 3  # not as typed on the page
    assert {e["username"] for e in audit} == {"nina"}


def test_each_imported_result_is_audited_as_an_import_with_the_file_name_and_its_row(
        store, tmp_path):
    admitted(store, "P1", "P2")
    path = tmp_path / "labs-03-03.csv"
    path.write_text(HEADER + "P2,2026-03-03T07:00Z,crp,52,mg/L\n"
                    "P1,2026-03-03T08:00Z,ferritin,1200,ng/mL\n", encoding="utf-8")
    services.import_labs(store, path, by="nina")           # the path's name
    services.import_labs(store, (HEADER + "P1,2026-03-04T08:00Z,crp,9,mg/L\n").encode(),
                         by="nina", file_name="upload.csv")  # an upload's name
    got = [(e["action"], e["patient_id"], json.loads(e["after"])["imported_from"])
           for p in ("P1", "P2") for e in store.audit(p) if e["entity"] == "lab"]
    assert got == [
        ("import", "P1", {"via": "lab CSV", "file": "labs-03-03.csv", "row": 2}),
        ("import", "P1", {"via": "lab CSV", "file": "upload.csv", "row": 1}),
        ("import", "P2", {"via": "lab CSV", "file": "labs-03-03.csv", "row": 1})]


def test_an_import_of_bytes_without_a_name_says_it_came_from_a_lab_csv(memory_store):
    admitted(memory_store)
    services.import_labs(memory_store, (HEADER + "P1,2026-03-03T08:00Z,crp,5,mg/dL\n").encode(),
                         by="nina")
    ((action, after),) = [(e["action"], json.loads(e["after"]))
                          for e in memory_store.audit("P1") if e["entity"] == "lab"]
    assert action == "import" and after["imported_from"] == {"via": "lab CSV", "row": 1}


def test_a_formula_prefix_of_an_export_is_undone_and_windows_line_ends_and_bom_are_read(
        memory_store):
    admitted(memory_store, "=P1")
    data = ("\ufeff" + HEADER + "'=P1,2026-03-03T08:00Z,crp,5,mg/dL\r\n").encode()
    assert services.import_labs(memory_store, data, by="nina") == 1
    assert memory_store.labs("=P1")[0]["value"] == 5.0


# ------------------------------------------------------------------------------ problems
@pytest.mark.parametrize(("row", "field", "code", "words"), [
    ("P1,2026-03-03T08:00,crp,5,mg/dL", "taken_at", "not_a_time", "no offset from UTC"),
    ("P1,03/03/2026 08:00+01:00,crp,5,mg/dL", "taken_at", "not_a_time", "with its offset"),
    ("P1,2026-02-30T08:00Z,crp,5,mg/dL", "taken_at", "not_a_time", "exists"),
    ("P1,1999-03-03T08:00Z,crp,5,mg/dL", "taken_at", "hard_limit", "2000 to 2199"),
    ("P1,2199-03-03T08:00Z,crp,5,mg/dL", "taken_at", "future_time", "in the future"),
    ("P1,,crp,5,mg/dL", "taken_at", "required", "required"),
    ("P1,2026-03-03T08:00Z,il7,5,pg/mL", "test", "not_allowed", "ferritin"),
    ("P1,2026-03-03T08:00Z,99999-9,5,pg/mL", "test", "not_allowed", "LOINC"),
    ("P1,2026-03-03T08:00Z,sil2r,800,U/mL", "unit", "not_allowed", "pg/mL, ng/L, ng/mL"),
    ("P1,2026-03-03T08:00Z,crp,5,", "unit", "not_allowed", "mg/dL, mg/L"),
    ("P1,2026-03-03T08:00Z,crp,five,mg/dL", "value", "not_a_number", "number with a point"),
    ("P1,2026-03-03T08:00Z,crp,\"5,2\",mg/dL", "value", "not_a_number", "thousands"),
    ("P1,2026-03-03T08:00Z,il6,<2,pg/mL", "value", "not_a_number", "no < or >"),
    ("P1,2026-03-03T08:00Z,crp,1e400,mg/dL", "value", "not_a_number", "number"),
    ("P1,2026-03-03T08:00Z,crp,,mg/dL", "value", "required", "required"),
    ("P1,2026-03-03T08:00Z,crp,-1,mg/dL", "value", "hard_limit", "allowed 0 to 100 mg/dL"),
    ("P1,2026-03-03T08:00Z,crp,100.01,mg/dL", "value", "hard_limit", "allowed 0 to 100 mg/dL"),
    ("P1,2026-03-03T08:00Z,platelets,150000,10^9/L", "value", "hard_limit",
     "allowed 0 to 5000 10^9/L"),
    ("P1,2026-03-03T08:00Z,fibrinogen,20.5,g/L", "value", "hard_limit", "allowed 0 to 20 g/L"),
    (",2026-03-03T08:00Z,crp,5,mg/dL", "patient_id", "required", "required"),
    ("P9,2026-03-03T08:00Z,crp,5,mg/dL", "patient_id", "not_allowed", "unknown patient 'P9'"),
])
def test_each_bad_cell_is_named_with_row_column_value_and_what_is_allowed_and_nothing_stored(
        memory_store, row, field, code, words):
    admitted(memory_store)
    good = "P1,2026-03-03T07:00Z,ferritin,900,ng/mL\n"
    with pytest.raises(InputError) as e:
        services.import_labs(memory_store, (HEADER + good + row + "\n").encode(), by="nina")
    (p,) = e.value.problems
    assert (p.row, p.field, p.code) == (2, field, code), e.value.lines
    assert words in p.message, p.message
    assert f"row 2, column {field}" in str(p)
    assert lab_count(memory_store) == 0


def test_a_result_at_its_limit_imports_and_just_above_is_refused(memory_store):
    admitted(memory_store)
    top = units.LAB_MAXIMUM["ferritin"]
    assert services.import_labs(memory_store, (HEADER + f"P1,2026-03-03T07:00Z,ferritin,{top!r},"
                                               "ng/mL\n").encode(), by="nina") == 1
    lines = problems_of(memory_store, HEADER + f"P1,2026-03-03T08:00Z,ferritin,{top + 1!r},"
                        "ng/mL\n")
    assert "allowed 0 to 1000000 ng/mL" in lines[0]


def test_every_problem_of_the_file_is_listed_not_only_the_first(memory_store):
    admitted(memory_store)
    lines = problems_of(memory_store, HEADER + "P1,2026-03-03T08:00Z,crp,x,mg/dL\n"
                        "P1,2026-03-03T08:00,crp,5,mg/dL\nP1,2026-03-03T09:00Z,il6,5,U/mL\n")
    assert [x.split(":")[0] for x in lines] == [
        "row 1, column value, value 'x'", "row 2, column taken_at, value '2026-03-03T08",
        "row 3, column unit, value 'U/mL'"]


def test_the_same_test_twice_at_one_instant_in_a_file_is_a_duplicate_whatever_the_offset(
        memory_store):
    admitted(memory_store)
    lines = problems_of(memory_store, HEADER + "P1,2026-03-03T08:00+01:00,ferritin,900,ng/mL\n"
                        "P1,2026-03-03T07:00Z,2276-4,950,ng/mL\n"
                        "P1,2026-03-03T07:00Z,crp,5,mg/dL\n")  # another test: not a duplicate
    assert len(lines) == 1 and lines[0].startswith("row 2, column taken_at")
    assert "same time as row 1" in lines[0]


def test_a_result_already_stored_for_the_patient_test_and_time_refuses_the_file(store):
    admitted(store)
    services.record_lab(store, "P1", "ferritin", 900, "ng/mL",
                        datetime(2026, 3, 3, 7, 0, tzinfo=UTC), by="nina")
    lines = problems_of(store, HEADER + "P1,2026-03-03T06:00Z,crp,5,mg/dL\n"
                        "P1,2026-03-03T08:00+01:00,ferritin,900,ng/mL\n")
    assert len(lines) == 1 and "row 2, column taken_at" in lines[0]
    assert "already has a ferritin taken at this time (900 ng/mL" in lines[0]
    assert "correct that result on the lab page" in lines[0]
    assert len(store.labs("P1")) == 1


def test_a_result_marked_in_error_no_longer_blocks_a_new_one_at_its_time(memory_store):
    admitted(memory_store)
    at = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    lab = services.record_lab(memory_store, "P1", "ferritin", 9000, "ng/mL", at, by="nina")
    services.lab_in_error(memory_store, "P1", lab, "wrong patient", by="nina")
    assert services.import_labs(memory_store, (HEADER + "P1,2026-03-03T07:00Z,ferritin,900,"
                                               "ng/mL\n").encode(), by="nina") == 1


@pytest.mark.parametrize(("text", "words"), [
    ("", "the file is empty"),
    (HEADER, "no result rows"),
    ("patient_id,taken_at,test,value\nP1,2026-03-03T08:00Z,crp,5\n", "required column"),
    (HEADER.replace("unit", "unit,comment") + "P1,2026-03-03T08:00Z,crp,5,mg/dL,x\n",
     "unknown column"),
    (HEADER.replace("unit", "unit,unit") + "P1,2026-03-03T08:00Z,crp,5,mg/dL,mg/dL\n",
     "more than once"),
    (HEADER + "P1,2026-03-03T08:00Z,crp,5\n", "4 cells where the header has 5"),
    (HEADER + "\nP1,2026-03-03T08:00Z,crp,5,mg/dL\n", "empty line"),
    (HEADER + 'P1,2026-03-03T08:00Z,crp,"5,mg/dL\n', "not valid CSV"),
])
def test_a_malformed_file_is_named_and_nothing_stored(memory_store, text, words):
    admitted(memory_store)
    lines = problems_of(memory_store, text)
    assert any(words in x for x in lines), lines
    assert lab_count(memory_store) == 0


def test_a_file_that_is_not_utf8_or_too_big_is_refused_before_reading(memory_store, tmp_path):
    admitted(memory_store)
    assert "not UTF-8" in problems_of(memory_store, HEADER.encode() + b"P1,\xff\n")[0]
    big = tmp_path / "big.csv"
    big.write_bytes(HEADER.encode() + b"x" * lab_csv.MAX_BYTES)
    with pytest.raises(InputError, match="at most 1,000,000"):
        services.import_labs(memory_store, big, by="nina")


def test_an_educator_may_not_import_results_of_a_real_patient(store):
    admitted(store)
    with pytest.raises(StoreError, match="educator"):
        services.import_labs(store, (HEADER + "P1,2026-03-03T08:00Z,crp,5,mg/dL\n").encode(),
                             by="eddie")
    assert store.labs("P1") == []


def test_one_patients_refusal_stores_nothing_for_the_other_patient_either(store):
    admitted(store, "P1", "P2")
    services.record_lab(store, "P2", "crp", 5, "mg/dL", datetime(2026, 3, 3, 8, tzinfo=UTC),
                        by="nina")
    problems_of(store, HEADER + "P1,2026-03-03T08:00Z,crp,5,mg/dL\n"
                "P2,2026-03-03T08:00Z,crp,6,mg/dL\n")
    assert store.labs("P1") == [] and len(store.labs("P2")) == 1


def test_an_import_resyncs_the_flags_in_the_same_transaction(memory_store):
    admitted(memory_store)
    services.import_labs(memory_store, (HEADER + "P1,2026-03-03T08:00Z,fibrinogen,1.2,g/L\n"
                                        ).encode(), by="nina")
    (flag,) = [f for f in memory_store.flags("P1") if f["code"] == "fibrinogen_low"]
    assert flag["severity"] == "urgent" and "Fibrinogen 120 mg/dL" in flag["message"]


# ------------------------------------------------------------------------------ the CLI
def test_cli_labs_import_stores_all_or_lists_every_problem_on_stderr(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/ward.db")
    assert run_in_process(cli.main, "init")[0] == 0
    assert run_in_process(cli.main, "user", "add", "n1", "--role", "nurse")[0] == 0
    assert run_in_process(cli.main, "user", "add", "d1", "--role", "physician")[0] == 0
    store = WardStore(f"sqlite:///{tmp_path}/ward.db")
    services.admit(store, {"patient_id": "P1", "infusion_time": INFUSION}, by="d1")
    f = tmp_path / "labs.csv"
    f.write_text(HEADER + "P1,2026-03-03T08:00Z,crp,5,mg/dL\nP1,2026-03-03T09:00Z,crp,x,mg/dL\n")
    code, out, err = run_in_process(cli.main, "labs", "import", str(f), "--user", "n1")
    assert (code, out) == (2, "") and "row 2, column value, value 'x'" in err
    assert "Traceback" not in err and store.labs("P1") == []
    f.write_text(HEADER + "P1,2026-03-03T08:00Z,crp,5,mg/dL\n")
    code, out, err = run_in_process(cli.main, "labs", "import", str(f), "--user", "n1")
    assert (code, out.strip()) == (0, f"imported 1 lab results from {f}"), err
    assert len(store.labs("P1")) == 1
    code, out, err = run_in_process(cli.main, "labs", "import", str(tmp_path / "no.csv"),
                                    "--user", "n1")
    assert code == 2 and "no such file" in err
    store.engine.dispose()


# ------------------------------------------------------------------------------ fuzzing
FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
_fresh = itertools.count()
CELLS = {
    "patient_id": ["P1", "P2", "", "=P1", "'=P1", " P1 ", "P1\x00", "😀", "P" * 70],
    "taken_at": ["2026-03-03T08:00Z", "2026-03-03T08:00+01:00", "2026-03-03T08:00",
                 "2026-03-03 08:00:30.5-05:00", "2026-02-30T08:00Z", "2199-01-01T00:00Z",
                 "0001-01-01T00:00Z", "", "now", "2026-03-03T25:00Z", "2026-03-03T08:00+2"],
    "test": [*units.ANALYTES, *units.BY_LOINC, "", "IL6", "il-6", "1988", "=cmd"],
    "value": ["0", "1", "1.5", "-1", "1e3", "1e309", "nan", "inf", "", "1,5", "<5", "0x10",
              " 7 ", "9" * 30, ".5", "5."],
    "unit": sorted({u for a in units.ANALYTES.values() for u in a.factors}) + ["", "U/mL", "%"],
}


@FUZZ
@given(data=st.binary(max_size=400))
def test_any_bytes_give_a_named_problem_or_a_clean_import_never_a_crash(memory_store, data):
    admitted_once(memory_store)
    before = lab_count(memory_store, "P1", "P2")
    try:
        n = services.import_labs(memory_store, HEADER.encode() + data, by="nina")
    except InputError as e:
        assert e.problems and all(p.code in PROBLEM_CODES and p.message for p in e.problems)
        assert lab_count(memory_store, "P1", "P2") == before
    else:
        assert lab_count(memory_store, "P1", "P2") == before + n


def admitted_once(store: WardStore) -> None:
    for pid in ("P1", "P2"):
        if store.patient(pid) is None:
            admitted(store, pid)


rows_of_cells = st.lists(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in CELLS.items()}),
                         min_size=1, max_size=6)


@FUZZ
@given(rows=rows_of_cells)
def test_a_file_with_any_bad_row_stores_nothing_and_a_good_one_stores_every_row(
        memory_store, rows):
    admitted_once(memory_store)
    minute = next(_fresh)  # fresh times each example: no clash with an earlier example
    clock = f"{minute // 60 % 24:02d}:{minute % 60:02d}"
    text = HEADER + "".join(
        f"{r['patient_id']},{r['taken_at'].replace('08:00', clock)},"
        f"{r['test']},\"{r['value']}\",{r['unit']}\n" for r in rows)
    before = lab_count(memory_store, "P1", "P2")
    try:
        n = services.import_labs(memory_store, text.encode(), by="nina")
    except (InputError, StoreError) as e:
        assert str(e)
        assert lab_count(memory_store, "P1", "P2") == before
    else:
        assert n == len(rows)
        assert lab_count(memory_store, "P1", "P2") == before + n


good_rows = st.lists(st.tuples(
    st.sampled_from(sorted(units.ANALYTES)), st.data()), min_size=1, max_size=8)


@FUZZ
@given(picks=good_rows, data=st.data())
def test_a_good_file_round_trips_to_the_canonical_values(memory_store, picks, data):
    pid = f"R{next(_fresh)}"
    admitted(memory_store, pid)
    start = datetime(2026, 3, 3, 8, tzinfo=UTC)
    lines, expected = [], []
    for i, (test, _) in enumerate(picks):
        a = units.ANALYTES[test]
        unit = data.draw(st.sampled_from(sorted(a.factors)))
        top = a.maximum / a.factors[unit]
        value = data.draw(st.floats(0, top, allow_nan=False, allow_infinity=False))
        code = data.draw(st.sampled_from([test, *a.loinc]))
        at = start + timedelta(minutes=i)
        lines.append(f"{pid},{at.isoformat()},{code},{value!r},{unit}\n")
        expected.append((test, value * a.factors[unit], value, unit, at))
    assert services.import_labs(memory_store, (HEADER + "".join(lines)).encode(),
                                by="nina") == len(picks)
    got = [(x["test"], x["value"], x["entered_value"], x["entered_unit"], x["taken_at"])
           for x in memory_store.labs(pid)]
    assert sorted(got, key=lambda x: x[4]) == expected


def test_the_same_file_imported_twice_at_once_lands_once_and_the_other_is_told_why(store):
    """The check for a result already stored and the write are held together by the
    patients' locks (decision M11): two workstations importing one file at the same moment
    store it once; the other import is refused whole, naming the results already there."""
    from tests.monitoring.test_concurrent_saves import at_once
    admitted(store)
    for i in range(5):
        data = (HEADER + f"P1,2026-03-03T08:0{i}Z,ferritin,900,ng/mL\n"
                f"P1,2026-03-03T08:0{i}Z,crp,5,mg/dL\n").encode()
        outcomes = at_once(lambda d=data: services.import_labs(store, d, by="nina"),
                           lambda d=data: services.import_labs(store, d, by="drx"))
        assert sorted(k for k, _ in outcomes) == ["error", "ok"], outcomes
        (_, error), = [o for o in outcomes if o[0] == "error"]
        assert isinstance(error, InputError) and "already has a" in str(error), repr(error)
    assert len(store.labs("P1")) == 10
