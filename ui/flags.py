"""Flags on a page: the open ones with an acknowledge dialog, and the flag history."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from monitoring import limits, services
from monitoring.course import course
from monitoring.services import SYSTEM_USER, StoreError, Ward
from monitoring.ward import FILED

from .common import SEVERITY_ICONS, local
from .text import md

ORDER = {"emergency": 0, "urgent": 1, "review": 2, "info": 2}
SHOW = {"emergency": st.error, "urgent": st.warning}


def by_severity(flags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Emergency first, then urgent, then the rest; newest first within each."""
    return sorted(flags, key=lambda f: (ORDER.get(f["severity"], 3),
                                        -f["raised_at"].timestamp() if "raised_at" in f else 0))


@st.dialog("Acknowledge a flag")
def acknowledge_dialog(store: Ward, flag: dict[str, Any], user: dict[str, Any]) -> None:
    st.markdown(f"**{SEVERITY_ICONS.get(flag['severity'], flag['severity'])}** — "
                f"{md(flag['message'])}  \nRaised {local(flag['raised_at'], store.tz)} for "
                f"{md(flag['respond'] or 'the ward team')}.")
    refused = services.flag_refusal(user["username"], user["role"], flag, dismiss=True,
                                    demo_patient=_is_demo(store, flag["patient_id"]))
    dismiss = st.checkbox("Dismiss: this flag needs no action", key=f"ack_dismiss_{flag['id']}",
                          disabled=refused is not None,
                          help=None if refused is None else refused[0].upper() + refused[1:])
    if dismiss:
        reason = st.text_input("Reason for dismissing (required)",
                               key=f"ack_reason_{flag['id']}", max_chars=limits.most("reason"))
        action = "dismissed"
    else:
        reason = ""
        action = st.text_area("Action taken (required)", key=f"ack_action_{flag['id']}",
                              max_chars=limits.most("action"),
                              placeholder="e.g. physician informed, paracetamol given, "
                                          "obs hourly")
    ready = bool(reason.strip()) if dismiss else bool(action.strip())
    if st.button("Dismiss flag" if dismiss else "Acknowledge", type="primary",
                 disabled=not ready, key=f"ack_ok_{flag['id']}"):
        try:
            services.acknowledge_flag(store, flag["patient_id"], flag["id"], action.strip(),
                                      by=user["username"], dismiss=dismiss,
                                      reason=reason.strip() or None)
        except StoreError as e:
            st.error(str(e))
        else:
            st.session_state["flag_done"] = ("Flag dismissed." if dismiss
                                             else "Flag acknowledged.")
            st.rerun()


def _is_demo(store: Ward, patient_id: str) -> bool:
    p = store.patient(patient_id)
    return bool(p and p.get("is_demo"))


def _label(store: Ward, f: dict[str, Any]) -> str:
    """One flag as plain text for the multiselect (never markdown: it holds user text)."""
    text = f["message"] if len(f["message"]) <= 90 else f["message"][:89] + "…"
    return (f"{SEVERITY_ICONS.get(f['severity'], f['severity'])} · "
            f"{local(f['raised_at'], store.tz)} · {text}")


def several_at_once(store: Ward, patient_id: str, flags: list[dict[str, Any]],
                    user: dict[str, Any], key: str) -> None:
    """Acknowledge several open flags with one action taken, or dismiss them with one reason
    (``services.acknowledge_many``: one transaction, each flag audited; decision E12)."""
    pick = f"{key}_many_pick"
    ids = [f["id"] for f in flags]
    by_id = {f["id"]: f for f in flags}
    st.session_state[pick] = [i for i in st.session_state.get(pick, []) if i in by_id]

    def choose_all() -> None:
        st.session_state[pick] = list(ids)

    with st.expander(f"Acknowledge several flags at once ({len(flags)} open)"):
        chosen = st.multiselect("Flags to close", ids, key=pick,
                                format_func=lambda i: _label(store, by_id[i]),
                                placeholder="Choose the flags")
        st.button("Choose all open flags", key=f"{key}_many_all", on_click=choose_all)
        dismiss = st.checkbox("Dismiss: these flags need no action", key=f"{key}_many_dismiss")
        text = st.text_area(
            "Reason for dismissing (required)" if dismiss else "Action taken (required)",
            key=f"{key}_many_{'reason' if dismiss else 'action'}",
            max_chars=limits.most("reason" if dismiss else "action"),
            placeholder=None if dismiss else "e.g. physician informed, obs hourly")
        n = len(chosen)
        what = "Dismiss" if dismiss else "Acknowledge"
        label = f"{what} {n} flag{'s' if n != 1 else ''}" if n else f"{what} the chosen flags"
        if st.button(label, type="primary", key=f"{key}_many_ok",
                     disabled=not (chosen and text.strip())):
            try:
                services.acknowledge_many(
                    store, patient_id, chosen, "dismissed" if dismiss else text.strip(),
                    by=user["username"], dismiss=dismiss,
                    reason=text.strip() if dismiss else None)
            except StoreError as e:
                st.error(str(e))
            else:
                closed = "dismissed" if dismiss else "acknowledged"
                st.session_state["flag_done"] = f"{n} flag{'s' if n != 1 else ''} {closed}."
                st.session_state.pop(pick, None)
                st.rerun()


def open_flags_panel(store: Ward, patient_id: str, user: dict[str, Any],
                     key: str) -> None:
    done = st.session_state.pop("flag_done", None)
    if done:
        st.success(done, icon=":material/check:")
    flags = by_severity(course(store, patient_id).flags)  # the course's open flags
    if not flags:
        st.caption("No open flags.")
        return
    refused = services.flag_refusal(user["username"], user["role"], flags[0], dismiss=False,
                                    demo_patient=_is_demo(store, patient_id))
    if refused is not None:  # the record refuses it too (E12): say so instead of offering it
        st.caption("Only a nurse or a physician acknowledges this patient's flags"
                   + (" (an educator: synthetic demo patients only)."
                      if user["role"] == "educator" else "."))
    for f in flags:
        show = SHOW.get(f["severity"], st.info)
        c = st.columns([4, 1])  # the button whole at 820 px, not "Acknowle..."
        with c[0]:
            show(f"**{SEVERITY_ICONS.get(f['severity'], f['severity'])}** · "
                 f"{local(f['raised_at'], store.tz)} · {md(f['message'])} "
                 f"(for: {md(f['respond'] or 'ward team')})")
        if refused is None and c[1].button("Acknowledge", key=f"{key}_ack_{f['id']}"):
            acknowledge_dialog(store, f, user)
    if refused is None and len(flags) > 1:
        several_at_once(store, patient_id, flags, user, key)


def history_frame(store: Ward, patient_id: str) -> pd.DataFrame:
    rows = []
    for f in store.flags(patient_id):
        state = ("open" if f["ack_action"] is None else
                 "dismissed" if f["ack_dismissed"] else
                 "filed (about the past)" if f["ack_by"] == SYSTEM_USER
                 and f["ack_action"] == FILED else
                 "closed by the record" if f["ack_by"] == SYSTEM_USER else "acknowledged")
        rows.append({
            "Raised": local(f["raised_at"], store.tz), "Severity": f["severity"],
            "Flag": f["message"], "For": f["respond"] or "", "State": state,
            "By / at": "" if f["ack_action"] is None else
            f"{f['ack_by']}, {local(f['ack_at'], store.tz)}",
            "Action": f["ack_action"] or "", "Reason": f["ack_reason"] or ""})
    return pd.DataFrame(rows)


HISTORY_COLUMNS = {"Raised": st.column_config.TextColumn(width="small"),
                   "Severity": st.column_config.TextColumn(width="small"),
                   "Flag": st.column_config.TextColumn(width="large"),
                   "State": st.column_config.TextColumn(width="small")}
