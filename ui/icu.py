"""Intensive care stays on the Patient record page (decision R10): a physician or nurse records
"Transferred to ICU" and "Returned to the ward", sees every stay with its corrections (the
originals stay visible), and corrects one, or marks it entered in error, with a reason. The
record's refusals (a return at or before the transfer, two stays at once, a time after a
recorded death) are shown in words naming the field; the registry summary reads these stays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from monitoring import limits, services
from ui import recording
from ui.common import local
from ui.recording import save
from ui.text import md

ICU_CLOCK = "%d/%m/%Y %H:%M"  # 04/03/2026 08:00: a stay spans days, so the year is shown
TRANSFERRED = "Transferred to ICU"
RETURNED = "Returned to the ward"


def when(at: datetime | None, tz: Any) -> str:
    return "" if at is None else local(at, tz, ICU_CLOCK)


def length(stay: dict[str, Any]) -> str:
    """A stay's length in days and hours ("1 d 6 h"; under an hour in minutes, "40 min"),
    blank while it has no return."""
    if stay["returned_at"] is None:
        return ""
    minutes = round((stay["returned_at"] - stay["transferred_at"]) / timedelta(minutes=1))
    if minutes < 60:  # a short stay in minutes, never "0 h"
        return f"{minutes} min"
    hours = round(minutes / 60)
    days, hours = divmod(hours, 24)
    return (f"{days} d " if days else "") + f"{hours} h"


def status_words(rows: list[dict[str, Any]]) -> dict[int, str]:
    """Each version's status: current, replaced by a later version (the return recorded, or a
    correction), entered in error, or the marking itself."""
    later = {r["replaces_id"]: r for r in rows if r["replaces_id"] is not None}
    out = {}
    for r in rows:
        if r["status"] == "entered_in_error":
            out[r["id"]] = "marking: entered in error"
        elif r["id"] not in later:
            out[r["id"]] = "current"
        elif later[r["id"]]["status"] == "entered_in_error":
            out[r["id"]] = "entered in error"
        else:
            out[r["id"]] = "replaced by a later version"
    return out


def open_since(stays: list[dict[str, Any]]) -> datetime | None:
    return next((s["transferred_at"] for s in stays if s["returned_at"] is None), None)


def after_death_problem(at: datetime | None, died_at: datetime | None, what: str,
                        tz: Any) -> str | None:
    """Why ``at`` cannot be recorded for ``what`` when it follows the recorded death (the
    record refuses it too, R10), shown before the button is pressed; else None."""
    if at is None or died_at is None or at <= died_at:
        return None
    return (f"{what}: the patient's death is recorded at {when(died_at, tz)}; nothing can "
            "follow it")


def death_time(history: list[Any]) -> datetime | None:
    """The time of the current assessment recording "Died of", if any (decision R4)."""
    return next((h.assessed_at for h in history
                 if h.status == "final" and h.values.get("died_of") is not None), None)


def died_there(since: datetime | None, died_at: datetime | None) -> bool:
    """Whether the death was recorded during the stay with no return (R10): the patient
    died in intensive care, and no return to the ward follows."""
    return since is not None and died_at is not None and since <= died_at


def before_death(since: datetime, died_at: datetime | None, tz: Any) -> str:
    """After "in intensive care since ...": a transfer charted after the recorded death is
    a record to correct (R10), never shown as a plain stay ("" otherwise)."""
    if died_at is None or since <= died_at:
        return ""
    return (f" (but the death is recorded at {when(died_at, tz)}, before this transfer: "
            "check the record)")


def overview_lines(entries: list[tuple[str, datetime, datetime | None]], tz: Any) -> list[str]:
    """The overview's captions from (patient label, open stay's transfer, recorded death):
    "In intensive care: ..." for those there now, "Died in intensive care: ..." for those
    whose death is recorded during the stay (never listed as in intensive care)."""
    there = [f"{label} since {when(since, tz)}{before_death(since, died, tz)}"
             for label, since, died in entries if not died_there(since, died)]
    dead = [f"{label} (transferred {when(since, tz)}, death recorded at {when(died, tz)})"
            for label, since, died in entries if died_there(since, died)]
    return ([f"In intensive care: {'; '.join(there)}."] if there else []) + (
        [f"Died in intensive care: {'; '.join(dead)}."] if dead else [])


def ward_lines(store: services.Ward, statuses: list[Any],
               label: Callable[[dict[str, Any]], str]) -> list[str]:
    """The "In intensive care" / "Died in intensive care" captions under a ward table (the
    ward overview, the educators' demo ward) for its patients (``statuses``, in table order;
    ``label``: how the table names a patient, escaped for markdown)."""
    in_icu = store.in_icu([s.patient["patient_id"] for s in statuses])
    # the death as the overview's course read it (decision S12: nothing due after it)
    return overview_lines(
        [(label(s.patient), in_icu[s.patient["patient_id"]], s.due.died_at)
         for s in statuses if s.patient["patient_id"] in in_icu], store.tz)


def returned_words(row: dict[str, Any], current_open: int | None, died: bool,
                   tz: Any) -> str:
    """The "Returned to the ward" cell: the time; for the current stay with no return "not
    yet", or "died in intensive care" when the death is recorded during it; for an earlier
    version or a marking with none, "none recorded" (it is not still open)."""
    if row["returned_at"] is not None:
        return when(row["returned_at"], tz)
    if row["id"] != current_open:
        return "none recorded"
    return "died in intensive care" if died else "not yet"


def after_death(stays: list[dict[str, Any]], died_at: datetime | None, tz: Any) -> list[str]:
    """The current stays with a transfer or return charted after the recorded death, in
    words (decision R10: the death is never refused for them; the stay is the entry to
    correct, so the panel says so)."""
    if died_at is None:
        return []
    out = []
    for s in stays:
        late = [f"{what} at {when(s[k], tz)}" for k, what in
                (("transferred_at", "transferred to ICU"), ("returned_at", "returned to the ward"))
                if s[k] is not None and s[k] > died_at]
        if late:
            out.append(f"ICU stay #{s['id']}: {' and '.join(late)}, after the death recorded "
                       f"at {when(died_at, tz)}. Check both records and correct the stay (or "
                       "the assessment) with a reason.")
    return out


def stays_frame(history: list[dict[str, Any]], stays: list[dict[str, Any]],
                died_at: datetime | None, tz: Any) -> pd.DataFrame:
    """Every version of every stay, newest first, in words (``history``: the record's
    versions; ``stays``: the current ones)."""
    words = status_words(history)
    current_open = next((s["id"] for s in stays if s["returned_at"] is None), None)
    died = died_there(open_since(stays), died_at)
    return pd.DataFrame([{
        "ID": r["id"], TRANSFERRED: when(r["transferred_at"], tz),
        RETURNED: returned_words(r, current_open, died, tz),
        "Length": length(r),
        "Status": words[r["id"]],
        "Corrects": "" if r["replaces_id"] is None else f"#{r['replaces_id']}",
        "Reason": r["reason"] or "",
        "Recorded": f"{when(r['recorded_at'], tz)} by {r['recorded_by']}"}
        for r in reversed(history)])


CAUSE_WORDS = {"crs": "CRS", "icans": "ICANS", "other": "another cause"}


def header_state(last_row: dict[str, Any], last_time: datetime, icu_since: datetime | None,
                 tz: Any) -> str:
    """The patient review header's words after the patient's details: in intensive care
    since when (an open stay, R10), or the death recorded on the last row (a death is the last
    assessment), "died in intensive care" when it came inside an open stay. Empty: neither."""
    cause = last_row.get("died_of")
    if cause is None:
        return "" if icu_since is None else f" · **in intensive care since {when(icu_since, tz)}**"
    where = "died in intensive care: " if died_there(icu_since, last_time) else ""
    return (f" · **{where}death recorded {when(last_time, tz)} (cause: "
            f"{CAUSE_WORDS.get(cause, cause)})**")


def draw(store: services.Ward, user: dict[str, Any], pid: str, now: datetime,
         done_key: str, died_at: datetime | None = None) -> None:
    """The intensive care panel of one patient; ``died_at``: the recorded death, if any."""
    tz = store.tz
    by = user["username"]
    stays = store.icu_stays(pid)
    since = open_since(stays)
    st.markdown("**Intensive care**")
    for words in after_death(stays, died_at, tz):
        st.error(md(words), icon=":material/error:")
    if died_there(since, died_at):
        st.info(f"Died in intensive care: transferred {when(since, tz)}, death recorded at "
                f"{when(died_at, tz)}.", icon=":material/local_hospital:")
    elif since is not None:
        st.warning(f"In intensive care since {when(since, tz)} (no return to the ward "
                   "recorded).", icon=":material/local_hospital:")
    n = st.session_state.setdefault(f"icu_added_{pid}", 0)  # fresh fields after each save
    if died_there(since, died_at):
        pass  # nothing follows a death: no return to record
    elif since is not None and died_at is not None:  # the stay opens after the death (red)
        st.caption("No return to the ward can follow the recorded death: correct this stay "
                   "(or the assessment) below.")
    elif since is None:
        # after a recorded death a transfer can only be one charted late, before it: the
        # time starts at the death (not now, which nothing can follow) and must be set
        at, problem = recording.when_input(f"icu_in_{pid}_{n}", died_at or now, TRANSFERRED,
                                           tz, TRANSFERRED)
        problem = problem or recording.future(at, TRANSFERRED, now, tz) or \
            after_death_problem(at, died_at, TRANSFERRED, tz)
        unset = died_at is not None and at == died_at
        if problem:
            st.error(md(problem), icon=":material/error:")
        elif unset:
            st.caption(f"Death recorded at {when(died_at, tz)}: a transfer to intensive care "
                       "charted now must be before it. Set the time of the transfer.")
        if st.button("Record the transfer to intensive care", type="primary",
                     key=f"icu_in_save_{pid}", disabled=problem is not None or unset):
            def transfer() -> int:
                got = services.record_icu_transfer(store, pid, at, by=by)
                st.session_state[f"icu_added_{pid}"] = n + 1
                return got
            save(transfer, lambda _: f"Transferred to intensive care at {when(at, tz)}: "
                 "saved.", done_key)
    else:
        stay = next(s for s in stays if s["returned_at"] is None)
        at, problem = recording.when_input(f"icu_out_{pid}_{n}", now, RETURNED, tz, RETURNED)
        problem = problem or recording.future(at, RETURNED, now, tz)
        after = f"after the transfer to intensive care at {when(stay['transferred_at'], tz)}"
        if problem is None and at < stay["transferred_at"]:
            problem = f"{RETURNED}: must be {after}"
        problem = problem or after_death_problem(at, died_at, RETURNED, tz)
        if problem:
            st.error(md(problem), icon=":material/error:")
        elif at == stay["transferred_at"]:  # the default, right after the transfer: no alarm
            st.caption(f"Set the time of the return: it must be {after}.")
        if st.button("Record the return to the ward", type="primary",
                     key=f"icu_out_save_{pid}",
                     disabled=problem is not None or at <= stay["transferred_at"]):
            def back() -> int:
                got = services.record_icu_return(store, pid, stay["id"], at, by=by)
                st.session_state[f"icu_added_{pid}"] = n + 1
                return got
            save(back, lambda _: f"Returned to the ward at {when(at, tz)}: saved.", done_key)

    history = store.icu_history(pid)
    if not history:
        st.caption("No stay in intensive care recorded.")
        return
    # a static table: every column wraps and shows at 820 px (a scrolling grid hid the
    # reason and who recorded it); user text escaped, st.table renders Markdown in its cells
    st.table(stays_frame(history, stays, died_at, tz).map(md), hide_index=True)
    if not stays:
        return
    with st.expander("Correct a stay in intensive care"):
        current = {s["id"]: s for s in reversed(stays)}
        chosen = st.selectbox(
            "Stay", list(current), key=f"icu_pick_{pid}",
            format_func=lambda i: f"#{i} · from {when(current[i]['transferred_at'], tz)}"
            + (f" to {when(current[i]['returned_at'], tz)}" if current[i]["returned_at"]
               else " (no return recorded)"))
        s = current[chosen]
        action = st.radio("Correction", ("Correct the times", "Mark entered in error"),
                          horizontal=True, key=f"icu_action_{chosen}")
        reason = st.text_input("Reason (required)", key=f"icu_reason_{chosen}",
                               max_chars=limits.most("reason"),
                               placeholder="e.g. transfer charted an hour late")
        if action == "Mark entered in error":
            st.caption("The stay stays in the list, marked entered in error, and no longer "
                       "counts (overview, review, registry).")
            sure = st.checkbox("This stay was entered in error (e.g. wrong patient)",
                               key=f"icu_eie_sure_{chosen}")
            if st.button("Mark entered in error", key=f"icu_eie_{chosen}",
                         disabled=not (sure and reason.strip())):
                save(lambda: services.icu_stay_in_error(store, pid, chosen, reason.strip(),
                                                        by=by),
                     lambda _: f"ICU stay #{chosen} marked entered in error; it stays in the "
                     "list and no longer counts.", done_key)
            return
        fix_in, bad_in = recording.when_input(f"icu_fix_in_{chosen}", s["transferred_at"],
                                              TRANSFERRED, tz, TRANSFERRED)
        returned = st.checkbox(f"{RETURNED} (a return is recorded)",
                               value=s["returned_at"] is not None, key=f"icu_fix_has_{chosen}")
        fix_out, bad_out = recording.when_input(
            f"icu_fix_out_{chosen}", s["returned_at"] or now, RETURNED, tz, RETURNED) \
            if returned else (None, None)
        bad = bad_in or bad_out or recording.future(fix_in, TRANSFERRED, now, tz) or (
            recording.future(fix_out, RETURNED, now, tz) if fix_out else None)
        if bad is None and fix_out is not None and fix_out <= fix_in:
            bad = f"{RETURNED}: must be after {TRANSFERRED} ({when(fix_in, tz)})"
        bad = bad or after_death_problem(fix_in, died_at, TRANSFERRED, tz)
        late_return = after_death_problem(fix_out, died_at, RETURNED, tz)
        if bad is None and late_return:
            bad = (f"{late_return}. If the patient died in intensive care, untick "
                   f"\"{RETURNED} (a return is recorded)\": the stay then has no return")
        if bad:
            st.error(md(bad), icon=":material/error:")
        if st.button("Save the correction", key=f"icu_fix_save_{chosen}",
                     disabled=bool(bad) or not reason.strip()):
            save(lambda: services.amend_icu_stay(store, pid, chosen, fix_in, fix_out,
                                                 reason.strip(), by=by),
                 lambda new: f"ICU stay #{chosen} corrected: the new version is #{new}; the "
                 "original stays in the list.", done_key)
