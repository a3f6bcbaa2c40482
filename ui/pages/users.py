"""Users (admin): add, disable / enable, reset a password. Nothing is deleted; all audited."""

import pandas as pd
import streamlit as st

from monitoring import auth, limits, services
from monitoring.services import StoreError
from monitoring.vocabulary import ROLES
from ui import session
from ui.common import local
from ui.text import md

user = session.require("users")
store = session.store()

st.title("Users")
done = st.session_state.pop("users_done", None)
if done:
    st.success(done, icon=":material/check:")  # names in it escaped (md) when it was made
people = [u for u in store.users() if u["username"] != "system"]  # internal, cannot sign in
st.dataframe(pd.DataFrame([{
    "User name": u["username"], "Name": u["display_name"], "Role": u["role"],
    "Active": "yes" if u["active"] else "disabled",
    "Locked until": local(u["locked_until"], store.tz) if u["locked_until"] else "",
    "Created": f"{local(u['created_at'], store.tz)} by {u['created_by']}"} for u in people]),
    hide_index=True, width="stretch")

add, manage = st.tabs(["Add a user", "Disable, enable, reset password"])
with add, st.form("add_user"):
    c = st.columns(3)
    username = c[0].text_input("User name", max_chars=limits.most("username"))
    display = c[1].text_input("Full name", max_chars=limits.most("display_name"))
    role = c[2].selectbox("Role", ROLES, index=None)
    password = st.text_input(f"Initial password (at least {auth.MIN_PASSWORD_LENGTH} "
                             "characters)", type="password", autocomplete="new-password",
                             max_chars=auth.MAX_PASSWORD_LENGTH)
    submitted = st.form_submit_button("Add user", type="primary")
if submitted:
    problem = (None if username.strip() and role else "give a user name and a role") or \
        auth.password_problem(password, username.strip(), (display.strip(),))
    if problem is None:
        try:
            # the account and its password in one transaction: both or neither
            services.add_user(store, username.strip(), role, by=user["username"],
                              display_name=display.strip() or None, password=password)
        except StoreError as e:
            problem = str(e)
    if problem:
        with add:
            st.error(f"Not added: {md(problem)}")
    else:
        st.session_state["users_done"] = f"User {md(username.strip())} added ({role})."
        st.rerun()

with manage:
    names = [u["username"] for u in people]
    who = st.selectbox("User", names, key="manage_user")
    target = next(u for u in people if u["username"] == who)
    c = st.columns(2)
    with c[0]:
        if target["active"]:
            if st.button("Disable account", disabled=who == user["username"],
                         help="You cannot disable your own account."):
                services.set_active(store, who, False, by=user["username"])
                st.session_state["users_done"] = f"{md(who)} disabled."
                st.rerun()
        elif st.button("Enable account"):
            services.set_active(store, who, True, by=user["username"])
            st.session_state["users_done"] = f"{md(who)} enabled."
            st.rerun()
    with c[1]:
        new = st.text_input("New password", type="password", key=f"reset_{who}",
                            autocomplete="new-password", max_chars=auth.MAX_PASSWORD_LENGTH)
        if st.button("Reset password", disabled=not new):
            try:
                services.set_password(store, who, new, by=user["username"])
            except StoreError as e:
                st.error(f"Not changed: {md(e)}")
            else:
                st.session_state["users_done"] = f"Password of {md(who)} reset; lock-out cleared."
                st.rerun()
