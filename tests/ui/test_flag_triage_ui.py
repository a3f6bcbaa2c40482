"""Closing several flags at once on a page, and who is offered it (issue 18, points 3 and 7;
decisions E12, E13). AppTest on a copy of the demo ward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .conftest import go, texts

REVIEW = "ui/pages/review.py"
RECORD = "ui/pages/patient.py"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def raise_three(store, pid: str, respond: str = "nurse in charge, at this round") -> list[int]:
    return [store.raise_flag(pid, code, "urgent", text, NOW - timedelta(minutes=m),
                             respond=respond)
            for m, code, text in ((30, "spo2_low", "SpO2 93 % below the target"),
                                  (20, "hypotension", "Hypotension: SBP 88"),
                                  (10, "news2_5", "NEWS2 5"))]


def open_page(signed_in, role: str, pid: str, page: str = REVIEW):
    at = signed_in(role)
    at.session_state["patient_id"] = pid
    go(at, page)
    assert not at.exception, at.exception
    return at


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_a_nurse_acknowledges_two_flags_at_once_with_one_action(signed_in, store):
    pid = "DEMO-001"
    ids = raise_three(store, pid)
    at = open_page(signed_in, "nurse", pid)
    pick = at.multiselect(key=f"review_{pid}_many_pick")
    assert button(at, "Acknowledge the chosen flags").disabled
    pick.select(ids[0]).select(ids[2]).run()
    at.text_area(key=f"review_{pid}_many_action").input("physician informed, obs hourly").run()
    button(at, "Acknowledge 2 flags").click().run()
    assert not at.exception, at.exception
    assert "2 flags acknowledged." in texts(at)
    history = {f["id"]: f for f in store.flags(pid)}
    assert [(history[i]["ack_action"], history[i]["ack_by"]) for i in (ids[0], ids[2])] == [
        ("physician informed, obs hourly", "demo.nurse")] * 2
    assert {f["id"] for f in store.open_flags(pid)} & set(ids) == {ids[1]}
    acks = [e["entity_id"] for e in store.audit(pid) if e["action"] == "acknowledge"]
    assert acks == [str(ids[0]), str(ids[2])]


def test_choose_all_then_dismiss_with_one_reason(signed_in, store):
    pid = "DEMO-001"
    ids = raise_three(store, pid)
    at = open_page(signed_in, "physician", pid)
    button(at, "Choose all open flags").click().run()
    chosen = at.multiselect(key=f"review_{pid}_many_pick").value
    assert sorted(chosen) == sorted(f["id"] for f in store.open_flags(pid))
    assert set(ids) <= set(chosen)
    at.checkbox(key=f"review_{pid}_many_dismiss").check().run()
    at.text_area(key=f"review_{pid}_many_reason").input("monitor artefact: repeated").run()
    button(at, f"Dismiss {len(chosen)} flags").click().run()
    assert f"{len(chosen)} flags dismissed." in texts(at)
    assert not {f["id"] for f in store.open_flags(pid)} & set(chosen)
    assert {(f["ack_dismissed"], f["ack_reason"], f["ack_by"]) for f in store.flags(pid)
            if f["id"] in chosen} == {(True, "monitor artefact: repeated", "demo.physician")}


def test_a_nurse_is_told_a_flag_for_the_physician_is_not_hers_to_dismiss(signed_in, store):
    pid = "DEMO-001"
    ids = raise_three(store, pid, respond="physician, within 30 min")
    at = open_page(signed_in, "nurse", pid)
    at.multiselect(key=f"review_{pid}_many_pick").select(ids[0]).select(ids[1]).run()
    at.checkbox(key=f"review_{pid}_many_dismiss").check().run()
    at.text_area(key=f"review_{pid}_many_reason").input("not needed").run()
    button(at, "Dismiss 2 flags").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        "a flag that asks for a physician is dismissed by a physician only: acknowledge it "
        "with the action taken instead (for example, physician informed)"]
    assert {ids[0], ids[1]} <= {f["id"] for f in store.open_flags(pid)}


def test_an_administrator_is_not_offered_to_acknowledge_a_patients_flags(signed_in, store):
    store.admit({"patient_id": "R-1", "infusion_time": NOW - timedelta(days=2)},
                by="demo.physician")
    ids = raise_three(store, "R-1")
    at = open_page(signed_in, "admin", "R-1", RECORD)
    assert "Only a nurse or a physician acknowledges this patient's flags." in texts(at)
    assert "Acknowledge" not in {b.label for b in at.button}
    assert not [m for m in at.multiselect if m.key and m.key.endswith("_many_pick")]
    assert set(ids) <= {f["id"] for f in store.open_flags("R-1")}


def test_the_flag_history_tells_filed_and_record_closed_flags_from_a_persons(store):
    from monitoring import ward
    from ui.flags import history_frame

    pid = "DEMO-001"
    ids = raise_three(store, pid)
    store.acknowledge_flags([ids[0]], ward.FILED, by="system")
    store.acknowledge_flags([ids[1]], "closed: the fever attributed to another cause",
                            by="system")
    store.acknowledge_flags([ids[2]], "physician informed", by="demo.nurse")
    frame = history_frame(store, pid).set_index("Flag")
    assert list(frame.loc[["SpO2 93 % below the target", "Hypotension: SBP 88", "NEWS2 5"],
                          "State"]) == ["filed (about the past)", "closed by the record",
                                        "acknowledged"]
