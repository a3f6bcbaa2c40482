"""Every text a user can type is bounded (docs/security.md "Bounded input"): each text box in
ui/ sets ``max_chars`` from the one table of limits, and download file names made from user
text hold only safe characters."""

from __future__ import annotations

import ast
import tomllib

from ui.text import file_part

from .conftest import ROOT

TEXT_BOXES = ("text_input", "text_area")


def text_boxes() -> list[tuple[str, int, ast.Call]]:
    found = []
    for path in sorted((ROOT / "ui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in TEXT_BOXES:
                found.append((str(path.relative_to(ROOT)), node.lineno, node))
    return found


def test_every_text_box_in_the_ui_sets_max_chars_from_the_limits():
    boxes = text_boxes()
    assert len(boxes) >= 25  # the walk finds the ward's text boxes (28 today)
    unbounded = [f"{path}:{line}" for path, line, call in boxes
                 if not any(k.arg == "max_chars" for k in call.keywords)]
    assert unbounded == []
    # the form and the store agree: the size comes from monitoring.limits (or auth's bounds
    # for sign-in names and passwords), never a number typed in the page
    literal = [f"{path}:{line}" for path, line, call in boxes for k in call.keywords
               if k.arg == "max_chars" and isinstance(k.value, ast.Constant)]
    assert literal == []


def test_the_server_bounds_websocket_messages_and_uploads():
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["maxUploadSize"] <= 50 and server["maxMessageSize"] <= 50  # megabytes


def test_user_text_in_a_file_name_keeps_only_safe_characters():
    assert file_part("Ana María O'Neil") == "Ana_Mar_a_O_Neil"
    assert file_part("../../etc/passwd") == "etc_passwd"
    assert file_part('=HYPERLINK("http://x")') == "HYPERLINK_http_x"
    assert file_part("a\r\nb\x00c") == "a_b_c"
    assert file_part("///", empty="learner") == "learner"
    assert len(file_part("x" * 500)) == 40
