"""Passwords a real account may not have (docs/security.md "Passwords"): the public demo
password, and words of the ward or a common word dressed up with a year, numbers or symbols."""

from __future__ import annotations

import pytest

from monitoring import auth
from monitoring.demo import DEMO_PASSWORD


@pytest.mark.parametrize("password", [DEMO_PASSWORD, DEMO_PASSWORD.upper()])
def test_the_public_demo_password_is_refused_for_any_account(password):
    assert auth.password_problem(password, "realnurse") == (
        "this is the demo accounts' password, which is public: choose another")


@pytest.mark.parametrize("password", [
    "Summer2026!!",         # a common word, the year, symbols
    "CarTward2026!!",       # the ward's own words
    "ward-monitor-2026",    # the app's name and the year
    "Kymriah2026!",         # a product on the ward
    "2026!!Summer",         # the decoration in front
    "Nurse2026!",
    "#1monitor#1",
    "blue-sky-99",
])
def test_words_of_the_ward_or_a_common_word_with_a_year_or_symbols_are_refused(password):
    problem = auth.password_problem(password, "realnurse")
    assert problem is not None and problem.startswith("this password is too easy to guess")


@pytest.mark.parametrize("password", [
    "correct horse battery",    # several uncommon words
    "lilac tractor orbit 42",
    "PurpleElephantDance7",
    "8#kq29!x0z",               # random characters
    "Xq7-vLm2-p9Rt",
    "my cat eats lasagne",
])
def test_strong_passwords_are_still_accepted(password):
    assert auth.password_problem(password, "realnurse") is None


def test_the_ward_words_are_known_to_the_strength_check():
    for word in ("ward", "cart", "car-t", "monitor", "demo", "nurse", "physician", "hospital",
                 "axi-cel", "kymriah", "car-t ward monitor"):
        assert word in auth.WARD_WORDS
