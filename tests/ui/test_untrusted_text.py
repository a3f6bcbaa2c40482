"""What a user typed is shown as typed, never run (docs/security.md, "Untrusted text and
exports"): payloads in every text field a user can fill, through the real pages (AppTest), the
charts and the handover file.

On a page, every Markdown source (text, captions, alerts, widget labels, st.table cells) must
hold no live payload: once the backslash escapes are taken out, no tag, image, link, colour
directive or formula of a payload is left, and the payload shows whole. Nothing a user typed is
in an ``unsafe_allow_html`` element at all.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring import library, ward
from monitoring.review import patient_review
from monitoring.store import WardStore
from ui.charts import timeline_figure
from ui.handover import handover_html
from ui.text import JOINER, md, plot, shown

from .conftest import go

MARK = "zq"  # every payload holds it: nothing with it may be in unsafe_allow_html
USER = "u<img src=x onerror=alert(1)>zq"
FULL_NAME = '<iframe srcdoc="<script>parent.xss=1</script>">zq'
PID = "P<img src=x onerror=alert(2)>zq"
NAME = "![n](http://evil.example/n.png) :red[NAME] $x^2$ zq"
BED = "![b](http://ev.il/b.png)zq"
HOSPITAL_NUMBER = "<b>H</b>zq"
WARD = "# W :blue-background[zq]"
INDICATION = "[link](http://evil.example) **bold** zq"
NOTE = "<img src=x onerror=alert(3)>\n# heading zq\n- list\n1. item"
CONFIRM_NOTE = ":red[CONF] ![c](http://evil.example/c.png) zq"
ATTRIBUTION = "<svg onload=alert(4)> zq"
AMEND_REASON = "$$\\frac{1}{2}$$ <u>a</u> zq"
IN_ERROR_REASON = "<script>alert(5)</script> zq"
ACK_ACTION = "<img src=x onerror=alert(6)> ~~zq~~"
ACK_REASON = "<iframe srcdoc=x></iframe> zq"
PERIOD_REASON = "<b onmouseover=alert(7)>line</b> [x](javascript:alert(8)) zq"
MED_REASON = "=HYPERLINK(\"http://evil.example\") <i>x</i> zq"
LEARNER = "<img src=x onerror=alert(7)>zq"
TITLE = "![t](http://evil.example/t.png) zq"
SUMMARY = "<iframe src=http://evil.example></iframe> zq"
POINT = ":red[point] [l](javascript:alert(8)) zq"
DISEASE = "<b>DLBCL</b> zq"
CASE_NAME = "![p](http://ev.il/p.png) zq"

# what must never be live: tags, images, links, directives, formulas of the payloads
LIVE = re.compile(r"<(img|iframe|script|svg|b>|u>)|!\[|\]\(|:(red|blue-background)\[|\$x|\$\$"
                  r"|~~zq|^#|^- list|^1\. item", re.IGNORECASE | re.MULTILINE)
ESCAPED = re.compile(r"\\[!-/:-@\[-`{-~]")


def _table_cells(element) -> list[str]:
    proto = element.proto
    data = (proto.arrow_data.styler.display_values if proto.arrow_data.HasField("styler")
            else proto.arrow_data.data)
    frame = pa.ipc.open_stream(data).read_all().to_pandas()
    return [str(v) for col in frame.columns for v in frame[col]]


def sources(at) -> list[tuple[str, str, bool]]:
    """(kind, Markdown source, rendered with unsafe_allow_html) of everything on the page
    that Streamlit renders as Markdown."""
    out = []
    for kind in ("markdown", "caption", "error", "warning", "success", "info", "title",
                 "header", "subheader"):
        for e in getattr(at, kind):
            out.append((kind, str(e.value), bool(getattr(e.proto, "allow_html", False))))
    for kind in ("checkbox", "button", "text_input", "text_area", "radio", "selectbox",
                 "expander", "tabs", "toggle"):
        out += [(f"{kind} label", str(w.label), False) for w in getattr(at, kind)]
    for t in at.table:
        out += [("table cell", cell, False) for cell in _table_cells(t)]
    return out


def assert_literal(at, *expected: str) -> None:
    """No payload is live on the page, none is in unsafe HTML, and each of ``expected``
    shows whole."""
    assert not at.exception, at.exception
    found = sources(at)
    for kind, src, html in found:
        if html:
            assert MARK not in src, f"user text in unsafe_allow_html ({kind}): {src!r}"
        live = LIVE.search(ESCAPED.sub("", src))
        assert live is None, f"live Markdown/HTML in a {kind}: {live[0]!r} in {src!r}"
    for text in expected:
        assert any(text in shown(src) for _, src, _ in found), f"{text!r} is not shown"


def as_user(at, username: str, display_name: str, role: str):
    at.session_state["user"] = {"username": username, "display_name": display_name,
                                "role": role, "sso": False}
    at.session_state["last_activity"] = datetime.now(UTC)
    return at


def labelled(widgets, label: str):
    return next(w for w in widgets if w.label == label)


# ------------------------------------------------------------------------------ the escaper
TYPED = (st.text(alphabet=st.sampled_from(list("<>![]()#-+=*_`~|$:@&\\./1 \nahtpsw")),
                 max_size=24)
         | st.text(alphabet=st.characters(blacklist_characters=JOINER), max_size=24))


@settings(max_examples=300, deadline=None)
@given(TYPED)
def test_escaped_text_shows_exactly_as_typed_and_has_nothing_live(text):
    source = md(text)
    assert shown(source) == text
    bare = ESCAPED.sub("", source)
    assert not re.search(r"[\\`*_\[\]<>!&~|$:@{}]", bare)
    assert not re.search(r"^[ \t]*([#+\-=]|\d+[.)])", source, re.MULTILINE)
    # no autolink: GFM finds them in the text after the escapes are gone
    plain = shown(source).replace(JOINER, "")  # what the autolinker would see without them
    unescaped = ESCAPED.sub(lambda m: m[0][1], source)
    assert not re.search(r"(?i)https?://|www\.|[-.\w+]@", unescaped)
    assert plain == text


def test_plain_ids_and_names_are_left_as_they_are():
    for text in ("DEMO-001", "P-100", "Jane Doe", "Bay 3", "EDU-002"):
        assert md(text) == text


def test_plotly_text_is_html_escaped():
    assert plot('<img src=x onerror="a">&') == '&lt;img src=x onerror="a"&gt;&amp;'


# ------------------------------------------------------------------------------ the pages
@pytest.fixture
def payload_ward(signed_in, store: WardStore):
    """A user, a patient and every physician and nurse text, entered through the pages
    where a page takes it (users, admission, review) and through the record otherwise."""
    at = go(signed_in("admin"), "ui/pages/users.py")
    labelled(at.text_input, "User name").input(USER)
    labelled(at.text_input, "Full name").input(FULL_NAME)
    labelled(at.selectbox, "Role").select("physician")
    at.text_input[2].input("Tq7#vLp9!xR2wZ-kite")
    labelled(at.button, "Add user").click().run()
    assert store.user(USER)["display_name"] == FULL_NAME
    assert_literal(at, USER)  # "User ... added" and the sidebar

    as_user(at, USER, FULL_NAME, "physician")
    go(at, "ui/pages/admission.py")
    for label, text in (("Ward patient id (required)", PID), ("Hospital number",
                        HOSPITAL_NUMBER), ("Name", NAME), ("Ward", WARD), ("Bed", BED),
                        ("Indication", INDICATION)):
        labelled(at.text_input, label).input(text)
    labelled(at.selectbox, "CAR-T product").select("axi-cel")
    labelled(at.date_input, "Infusion date (Day 0)").set_value(
        (datetime.now(UTC) - timedelta(days=2)).date())
    labelled(at.button, "Admit").click().run()
    p = store.patient(PID)
    assert (p["name"], p["bed"], p["indication"]) == (NAME, BED, INDICATION)
    assert_literal(at, PID, FULL_NAME)  # "Admitted ...", the sidebar

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    vitals = {"sbp_mmhg": 118, "dbp_mmhg": 70, "spo2_pct": 97, "o2_device": "room_air",
              "vasopressors": "none"}
    ward.save(store, PID, {"time": now - timedelta(hours=3), "temp_c": 37.0, **vitals},
              by=USER)
    ward.save(store, PID, {"time": now - timedelta(hours=2), "temp_c": 38.7, **vitals},
              by=USER)
    ward.save(store, PID, {"time": now - timedelta(hours=1), "temp_c": 36.0, **vitals},
              by=USER)
    history = store.history(PID)
    store.mark_entered_in_error(history[-1].id, IN_ERROR_REASON, by=USER)
    store.amend_assessment(history[0].id, {"time": now - timedelta(hours=3), "temp_c": 37.1,
                                           **vitals}, AMEND_REASON, by=USER)
    flags = store.open_flags(PID)
    assert len(flags) >= 2, "the fever raises flags"
    store.acknowledge_flag(flags[0]["id"], ACK_ACTION, by=USER)
    store.acknowledge_flag(flags[1]["id"], "dismissed", by=USER, dismiss=True,
                           reason=ACK_REASON)

    at.session_state["patient_id"] = PID
    go(at, "ui/pages/review.py")
    at.text_area(key=f"note_{PID}").input(NOTE).run()
    labelled(at.button, "Add note").click().run()
    at.text_input(key=f"attr_reason_{PID}").input(ATTRIBUTION).run()
    labelled(at.button, "Record attribution").click().run()
    at.text_input(key=f"conf_note_{PID}").input(CONFIRM_NOTE).run()
    labelled(at.button, "Confirm grade").click().run()
    assert [n["text"] for n in store.notes(PID)] == [NOTE]
    assert [a["reason"] for a in store.attributions(PID)] == [ATTRIBUTION]
    assert [c["note"] for c in store.confirmations(PID)] == [CONFIRM_NOTE]
    store.attribute_period(PID, "hypoxia", now - timedelta(hours=3), None, PERIOD_REASON,
                           by=USER)
    med = store.record_administration(PID, "paracetamol", now - timedelta(hours=2), USER, 1.0,
                                      "g", "PO")
    store.mark_administration_in_error(PID, med, MED_REASON, by=USER)
    return at


def test_every_text_a_user_typed_shows_literally_on_every_page(payload_ward):
    at = payload_ward
    go(at, "ui/pages/review.py")  # course, why, actions: names, notes, reasons
    assert_literal(at, NAME, BED, USER, NOTE, CONFIRM_NOTE, ATTRIBUTION, FULL_NAME,
                   PERIOD_REASON)
    # the latest grade line keeps its badges (our HTML) but "confirmed by" is plain text
    assert any(f"confirmed by {md(USER)}" in src for _, src, html in sources(at) if not html)
    history = next(d.value for d in at.dataframe if "Action" in d.value.columns)
    assert ACK_ACTION in set(history["Action"]) and ACK_REASON in set(history["Reason"])

    go(at, "ui/pages/overview.py")  # the table renders Markdown in its cells
    assert_literal(at, PID, NAME, BED)
    go(at, "ui/pages/entry.py")
    assert_literal(at, NAME, BED)
    go(at, "ui/pages/patient.py")  # reasons are in a data frame (plain text)
    assert_literal(at)
    frame = at.dataframe[0].value
    assert {AMEND_REASON, IN_ERROR_REASON} <= set(frame["Reason"])
    go(at, "ui/pages/treatments.py")  # medications: reasons in a data frame (plain text)
    assert_literal(at)
    assert MED_REASON in set(at.dataframe[0].value["Reason"])
    go(at, "ui/pages/admission.py")
    at.selectbox(key="discharge_pid").select(PID).run()
    assert_literal(at, f"Discharge Bed {BED} · {NAME} ({PID}) now")


def test_teaching_texts_show_literally_in_the_library_and_the_quiz(signed_in, store):
    pid = "EDU-001"
    infusion = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=2)
    store.admit({"patient_id": pid, "name": CASE_NAME, "product": "ide-cel",
                 "indication": f"{DISEASE} (demo)", "weight_kg": 70, "sex": "female",
                 "is_demo": True, "infusion_time": infusion}, by="demo.educator")
    for hours, temp in ((2, 37.0), (20, 38.4), (30, 37.0)):
        ward.save(store, pid, {"time": infusion + timedelta(hours=hours), "temp_c": temp,
                               "sbp_mmhg": 120, "dbp_mmhg": 70, "spo2_pct": 97,
                               "o2_device": "room_air", "vasopressors": "none"},
                  by="demo.educator")
    library.save_to_library(store, pid, "demo.educator", title=TITLE, summary=SUMMARY,
                            learning_points=[POINT], disease=DISEASE, age_years=60)

    at = go(signed_in("educator"), "ui/pages/case_library.py")
    at.selectbox(key="library_case").select(pid).run()
    assert_literal(at, TITLE, SUMMARY, POINT, DISEASE, CASE_NAME)

    at.session_state["teach_case"] = pid
    go(at, "ui/pages/teaching.py")
    assert_literal(at, TITLE, DISEASE)  # replay: the title and the patient line
    at.radio(key="teach_mode").set_value("Quiz").run()
    at.text_input(key=f"quiz_learner_{pid}").input(LEARNER).run()
    labelled(at.button, "Start the quiz").click().run()
    assert_literal(at, LEARNER, CASE_NAME)  # during the quiz: the patient, not the title
    labelled(at.button, "Finish the quiz now").click().run()
    assert_literal(at, LEARNER, TITLE, SUMMARY, POINT)


# ------------------------------------------------------------------------------ chart, handover
def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    if hasattr(value, "tolist"):
        return _strings(value.tolist())
    return []


def test_the_timeline_chart_shows_a_user_name_as_text_in_its_hover(store):
    store.add_user(USER, "nurse")
    store.admit({"patient_id": PID, "name": NAME}, by="demo.physician")
    store.record_assessment(PID, {"time": datetime(2026, 3, 2, 8, tzinfo=UTC),
                                  "temp_c": 38.2}, by=USER)
    texts = _strings(timeline_figure(patient_review(store, PID)).to_plotly_json())
    assert plot(USER) in texts  # who recorded it, in the hover's custom data
    assert not [t for t in texts if MARK in t and "<" in t]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_the_handover_file_escapes_every_text_a_user_typed(store):
    store.add_user(USER, "physician")
    store.admit({"patient_id": PID, "name": NAME, "bed": BED, "indication": INDICATION,
                 "weight_kg": 70}, by="demo.physician")
    aid = store.record_assessment(PID, {"time": datetime(2026, 3, 2, 8, tzinfo=UTC),
                                        "temp_c": 38.2}, by=USER)
    store.add_note(PID, NOTE, by=USER)
    store.attribute(aid, "fever", ATTRIBUTION, by=USER)
    store.confirm_grade(aid, "crs", 2, by=USER, note=CONFIRM_NOTE)
    rv = patient_review(store, PID)
    page = handover_html(rv, datetime(2026, 3, 2, 9, tzinfo=UTC), USER, [], with_chart=False)
    parser = _Tags()
    parser.feed(page)
    assert not {"img", "iframe", "script", "svg", "u", "b"} & set(parser.tags)
    text = "".join(parser.text)
    for typed in (NAME, BED, INDICATION, USER, ATTRIBUTION, CONFIRM_NOTE, PID):
        assert typed in text
    assert NOTE in text
