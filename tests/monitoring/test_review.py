"""The review data: graded course with and without attributions, who recorded each row,
tocilizumab doses, notes (append-only, migration 0003), the CSV export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from monitoring import library, review
from monitoring.store import StoreError, WardStore
from tests.monitoring.revisions import upgrade_to
from tests.monitoring.test_reliability import _head_revision

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
INFUSION = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # before the course (decision C17)


def admitted(store: WardStore) -> None:
    store.admit({"patient_id": "P1", "infusion_time": INFUSION, "weight_kg": 70}, by="drx")


def rec(store: WardStore, hours: float, **values) -> int:
    return store.record_assessment("P1", {"time": T0 + timedelta(hours=hours), **values},
                                   by="nina")


def test_the_grade_3_demo_case_reviews_as_its_card_says(store):
    library.load_case(store, library.builtin_case("DEMO-005"))  # the whole case (W16)
    rv = review.patient_review(store, "DEMO-005")
    assert (rv.summary.crs_max_grade, rv.summary.icans_max_grade) == (3, 0)
    assert len(rv.results) == len(rv.rows) == len(rv.ids) == 51
    assert [d["crs"] for d in review.course_table(rv)][:4] == [0, 3, 3, 0]
    assert len(rv.tocilizumab_given) == 2  # two doses charted on the rows (imported)
    assert rv.unattributed is None
    assert {by for by, _ in rv.recorded.values()} == {"system"}


def test_a_dose_recorded_and_charted_on_the_row_counts_once(store):
    admitted(store)
    rec(store, 0, temp_c=38.5, sbp_mmhg=85, dbp_mmhg=50, fluid_bolus_given=True)
    store.record_administration("P1", "tocilizumab", T0 + timedelta(hours=1), by="nina",
                                dose=560)
    rec(store, 2, temp_c=38.2)  # the administration sets this row's tocilizumab_given
    rv = review.patient_review(store, "P1")
    assert rv.rows[-1]["tocilizumab_given"] is True
    assert rv.tocilizumab_given == [T0 + timedelta(hours=1)]
    toci = review.tocilizumab(rv, T0 + timedelta(hours=3))
    assert toci["dose"][0] == 560 and toci["count"].last_24h == 1


def test_an_attribution_shows_the_grade_with_and_without_it(store):
    admitted(store)
    rec(store, 0, temp_c=37.0, sbp_mmhg=120, dbp_mmhg=70, spo2_pct=98, o2_device="room_air")
    febrile = rec(store, 1, temp_c=38.6, sbp_mmhg=120, dbp_mmhg=70, spo2_pct=98)
    store.attribute(febrile, "fever", "line infection, cultures positive", by="drx")
    rv = review.patient_review(store, "P1")
    assert rv.results[-1].crs.grade == 0
    assert rv.unattributed is not None and rv.unattributed[-1].crs.grade == 1
    assert [a["reason"] for a in rv.attributions] == ["line infection, cultures positive"]


def test_notes_are_for_physicians_and_never_edited(store):
    admitted(store)
    with pytest.raises(StoreError, match="needs"):
        store.add_note("P1", "x", by="nina")
    with pytest.raises(StoreError, match="text"):
        store.add_note("P1", "   ", by="drx")
    nid = store.add_note("P1", "tocilizumab discussed with the family", by="drx")
    assert [n["text"] for n in store.notes("P1")] == ["tocilizumab discussed with the family"]
    assert store.audit("P1")[-1]["action"] == "note"
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), \
            store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE notes SET text = 'changed' WHERE id = :i"), {"i": nid})


def test_migration_0003_adds_notes_to_a_database_made_before_it(tmp_path):
    url = f"sqlite:///{tmp_path}/old.db"
    upgrade_to(url, "0002")  # a database from before revision 0003
    engine = sa.create_engine(url)
    assert not sa.inspect(engine).has_table("notes")
    engine.dispose()
    store = WardStore(url)
    with store.engine.connect() as conn:
        assert "notes" in sa.inspect(conn).get_table_names()
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == \
            _head_revision()
        triggers = {r[0] for r in conn.execute(sa.text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'notes'"))}
    assert triggers == {"notes_no_update", "notes_no_delete", "notes_no_replace"}
    store.engine.dispose()


def test_a_patient_without_assessments_has_no_review_yet(store):
    admitted(store)
    with pytest.raises(StoreError, match="no assessments yet"):
        review.patient_review(store, "P1")


def test_icu_prompts_follow_the_current_state(store):
    library.load_case(store, library.builtin_case("DEMO-005"))  # the whole case (W16)
    rv = review.patient_review(store, "DEMO-005")
    assert review.icu_now(rv) == []  # the case has resolved


def test_an_attribution_says_what_it_changes_and_where_else_the_finding_counts(store):
    """Before recording: the grade at that assessment with it, and the later assessments the
    same finding still decides (decision C5: one attribution, one assessment)."""
    from ui.common import attribution_effect_text

    admitted(store)
    rec(store, 0, temp_c=37.0, sbp_mmhg=120, dbp_mmhg=70, spo2_pct=98, o2_device="room_air")
    rec(store, 1, temp_c=38.6, sbp_mmhg=85, dbp_mmhg=50, fluid_bolus_given=True)
    rec(store, 2, temp_c=38.4, sbp_mmhg=86, dbp_mmhg=50)
    rec(store, 6, temp_c=38.1, sbp_mmhg=118, dbp_mmhg=70)  # the bolus 5 h before: not counted
    rv = review.patient_review(store, "P1")
    assert [r.crs.grade for r in rv.results] == [0, 2, 2, 1]
    e = review.attribution_effect(rv, 1, "hypotension")
    assert (e.before.crs.grade, e.after.crs.grade) == (2, 1)
    assert e.also_decides == [rv.results[2].time]
    text = attribution_effect_text(e, "hypotension", UTC)
    assert text.startswith("With this attribution at 02 Mar 09:00: CRS 1")
    assert "still counts at 1 later assessment (02 Mar 10:00)" in text
    nothing = review.attribution_effect(rv, 3, "hypotension")  # SBP 118: no hypotension
    assert (nothing.after.crs, nothing.also_decides) == (nothing.before.crs, [])
    assert attribution_effect_text(nothing, "hypotension", UTC) == (
        "Attributing hypotension here changes no grade at 02 Mar 14:00: it is not what "
        "decides them.")


@pytest.mark.parametrize(("pid", "crs", "icans"), [
    ("DEMO-003", (1, 9), (3, 38)), ("DEMO-004", (2, 22), (2, 43)), ("DEMO-001", None, None)])
def test_the_highest_grade_is_found_at_the_assessment_where_it_was_first_reached(
        pid, crs, icans):
    from monitoring.store import WardStore
    s = WardStore.in_memory()
    from monitoring.demo import standard_cases
    for case in standard_cases():  # the whole cases (the demo ward shows them up to now, W16)
        library.load_case(s, case)
    rv = review.patient_review(s, pid)
    for syndrome, expected in (("crs", crs), ("icans", icans)):
        row = review.maximum_row(rv, syndrome)
        if expected is None:  # no episode: grade 0 all along, nothing to jump to
            assert row is None
            continue
        grade, index = expected
        assert row == index
        grades = [getattr(r, syndrome).grade for r in rv.results]
        assert grades[index] == grade == max(g for g in grades if g is not None)
        assert grade not in grades[:index]
