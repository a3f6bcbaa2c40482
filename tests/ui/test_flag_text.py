"""A flag's message is shown as text on the flags panel (ui/flags.py), never as Markdown: the
message is ward-made today, but it names patients and values, so it goes through md()."""

from __future__ import annotations

from datetime import UTC, datetime

from .conftest import go
from .test_untrusted_text import assert_literal

MESSAGE = "![f](http://evil.example/f.png) :red[FLAG] <img src=x onerror=alert(9)> zq"


def test_a_flag_message_with_markdown_is_shown_literally_on_the_flags_panel(signed_in, store):
    pid = store.patients(demo=True, admitted_only=True)[0]["patient_id"]
    store.raise_flag(pid, "test_payload", "urgent", MESSAGE, datetime.now(UTC),
                     respond="<b>team</b> zq")
    at = signed_in("physician")
    at.session_state["patient_id"] = pid
    go(at, "ui/pages/patient.py")
    assert_literal(at, MESSAGE, "<b>team</b> zq")
