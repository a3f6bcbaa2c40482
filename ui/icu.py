"""Intensive care stays on the Patient record page (decision R10): a physician or nurse records
"Transferred to ICU" and "Returned to the ward", sees every stay with its corrections (the
originals stay visible), and corrects one, or marks it entered in error, with a reason. The
record's refusals (a return at or before the transfer, two stays at once, a time after a
recorded death) are shown in words naming the field; the registry summary reads these stays."""

from __future__ import annotations

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
    """A stay's length in days and hours ("1 d 6 h"), blank while it has no return."""
    if stay["returned_at"] is None:
        return ""
    hours = round((stay["returned_at"] - stay["transferred_at"]) / timedelta(hours=1))
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


CAUSE_WORDS = {"crs": "CRS", "icans": "ICANS", "other": "another cause"}


def header_state(last_row: dict[str, Any], last_time: datetime, icu_since: datetime | None,
                 tz: Any) -> str:
    """The patient review header's words after the patient's details: in intensive care
    since when (an open stay, R10), or the death recorded on the last row (a death is the last
    assessment), "died in intensive care" when it came inside an open stay. Empty: neither."""
    cause = last_row.get("died_of")
    if cause is None:
        return "" if icu_since is None else f" · **in intensive care since {when(icu_since, tz)}**"
    where = "died in intensive care: " if icu_since is not None and icu_since <= last_time \
        else ""
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
    if since is not None and died_at is not None and since <= died_at:
        st.info(f"Died in intensive care: transferred {when(since, tz)}, death recorded at "
                f"{when(died_at, tz)}.", icon=":material/local_hospital:")
    elif since is not None:
        st.warning(f"In intensive care since {when(since, tz)} (no return to the ward "
                   "recorded).", icon=":material/local_hospital:")
    n = st.session_state.setdefault(f"icu_added_{pid}", 0)  # fresh fields after each save
    if since is not None and died_at is not None and since <= died_at:
        pass  # nothing follows a death: no return to record
    elif since is None:
        at, problem = recording.when_input(f"icu_in_{pid}_{n}", now, TRANSFERRED, tz,
                                           TRANSFERRED)
        problem = problem or recording.future(at, TRANSFERRED, now, tz)
        if problem:
            st.error(md(problem), icon=":material/error:")
        if st.button("Record the transfer to intensive care", type="primary",
                     key=f"icu_in_save_{pid}", disabled=problem is not None):
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
    words = status_words(history)
    st.dataframe(pd.DataFrame([{
        "ID": r["id"], TRANSFERRED: when(r["transferred_at"], tz),
        RETURNED: when(r["returned_at"], tz) or "not yet", "Length": length(r),
        "Status": words[r["id"]],
        "Corrects": "" if r["replaces_id"] is None else f"#{r['replaces_id']}",
        "Reason": r["reason"] or "",
        "Recorded": f"{when(r['recorded_at'], tz)} by {r['recorded_by']}"}
        for r in reversed(history)]), hide_index=True, width="stretch", key=f"icu_list_{pid}",
        column_config={"ID": st.column_config.NumberColumn(width="small")})
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
            if st.button("Mark entered in error", key=f"icu_eie_{chosen}",
                         disabled=not reason.strip()):
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
        if bad:
            st.error(md(bad), icon=":material/error:")
        if st.button("Save the correction", key=f"icu_fix_save_{chosen}",
                     disabled=bool(bad) or not reason.strip()):
            save(lambda: services.amend_icu_stay(store, pid, chosen, fix_in, fix_out,
                                                 reason.strip(), by=by),
                 lambda new: f"ICU stay #{chosen} corrected: the new version is #{new}; the "
                 "original stays in the list.", done_key)
