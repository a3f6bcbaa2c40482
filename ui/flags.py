"""Flags on a page: the open ones with an acknowledge dialog, and the flag history."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from monitoring import limits, services
from monitoring.services import StoreError, Ward

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
    may_dismiss = flag["severity"] != "emergency" or user["role"] == "physician"
    dismiss = st.checkbox("Dismiss: this flag needs no action", key=f"ack_dismiss_{flag['id']}",
                          disabled=not may_dismiss,
                          help=None if may_dismiss else "An emergency flag is dismissed by a "
                                                        "physician only.")
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


def open_flags_panel(store: Ward, patient_id: str, user: dict[str, Any],
                     key: str) -> None:
    done = st.session_state.pop("flag_done", None)
    if done:
        st.success(done, icon=":material/check:")
    flags = by_severity(store.open_flags(patient_id))
    if not flags:
        st.caption("No open flags.")
        return
    for f in flags:
        show = SHOW.get(f["severity"], st.info)
        c = st.columns([6, 1])
        with c[0]:
            show(f"**{SEVERITY_ICONS.get(f['severity'], f['severity'])}** · "
                 f"{local(f['raised_at'], store.tz)} · {md(f['message'])} "
                 f"(for: {md(f['respond'] or 'ward team')})")
        if c[1].button("Acknowledge", key=f"{key}_ack_{f['id']}"):
            acknowledge_dialog(store, f, user)


def history_frame(store: Ward, patient_id: str) -> pd.DataFrame:
    rows = []
    for f in store.flags(patient_id):
        state = ("open" if f["ack_action"] is None else
                 "dismissed" if f["ack_dismissed"] else "acknowledged")
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
