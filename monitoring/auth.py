"""Local sign-in rules: argon2 password hashes, lock-out, throttling, idle timeout, password
policy, pages per role.

Pure rules and data here; ``WardStore.sign_in`` applies them to the users table and the
sign-in throttle table (docs/security.md "Roles and sign-in"). The Streamlit app builds its page
list from ``PAGES_BY_ROLE`` and checks the role again on every page (design.md: educators never
see real patients).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128  # longer input is refused before any hashing (bounded work)
MAX_USERNAME_LENGTH = 64   # users.username is VARCHAR(64)
MIN_PASSWORD_STRENGTH = 3  # zxcvbn score 0-4; 3 = "safely unguessable" (~10^8 guesses or more)
STRENGTH_CHECKED_CHARS = 72  # zxcvbn's own limit; a longer password is judged by its start
# The account the software itself writes as (first-run demo ward, migrations): it has no
# password, never signs in and may not be given a password.
SYSTEM_USER = "system"
# A hash of a random password no one knows: an unknown, locked or disabled account is checked
# against it so that the answer takes as long as for a real account (no timing difference).
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(24))
REFUSED = "user name or password not accepted"
# The demo accounts' password: public (README, sign-in page), so never a real account's.
DEMO_PASSWORD = "ward-demo-2026"
# Words anyone guessing a password at this ward tries first: zxcvbn counts them as known words
# (like the user's own name), so a password made of them is rated as easy to guess.
WARD_WORDS = ("ward", "cart", "car-t", "monitor", "demo", "nurse", "nursing", "physician",
              "doctor", "hospital", "clinic", "patient", "crs", "icans", "astct", "cytokine",
              "yescarta", "kymriah", "breyanzi", "tecartus", "abecma", "carvykti", "aucatzyl",
              "axi-cel", "tisa-cel", "liso-cel", "brexu-cel", "ide-cel", "cilta-cel", "obe-cel",
              "axicel", "tisacel", "lisocel", "brexucel", "idecel", "ciltacel", "obecel",
              "car-t ward monitor", "ward monitor", "wardmonitor")
# a year, a short number or a few symbols before or after the words: the decoration people
# add to a word to pass a rule ("Summer2026!!", "ward-monitor-2026")
_WORD_RUN = re.compile(r"[^\W\d_]+")
_WORDS = re.compile(r"[^\W\d_]+(?:[\W_]{1,3}[^\W\d_]+)*")
_DECORATION = re.compile(r"\d{0,4}[\W_]{0,3}|[\W_]{0,3}\d{0,4}")


@dataclass(frozen=True)
class SignInPolicy:
    max_failed_attempts: int = 5                    # then the account is locked ...
    lockout: timedelta = timedelta(minutes=15)      # ... for this long
    idle_timeout: timedelta = timedelta(minutes=15)  # signed out after this long without use
    # failed sign-ins from one client (browser address) in one window, then that client waits
    # for the next window; generous, as several nurses may share one workstation or proxy
    client_failures: int = 30
    client_window: timedelta = timedelta(minutes=15)


DEFAULT_POLICY = SignInPolicy()

# What each role may open (design.md "Roles"). Educators: the demo ward only.
PAGES_BY_ROLE: dict[str, tuple[str, ...]] = {
    "nurse": ("ward_overview", "observations_due", "bedside_entry", "patient_review", "patient",
              "treatments"),
    "physician": ("ward_overview", "observations_due", "bedside_entry", "patient_review",
                  "patient", "treatments", "admission", "fhir"),
    "educator": ("demo_ward", "teaching", "case_library", "case_builder"),
    # FHIR import and export: physicians and administrators (decision W18)
    "admin": ("ward_overview", "patient", "admission", "users", "fhir"),
}
SEES_REAL_PATIENTS = {"nurse": True, "physician": True, "educator": False, "admin": True}


def password_problem(password: str, username: str = "",
                     other_words: tuple[str, ...] = ()) -> str | None:
    """Why a new password is not acceptable, in plain words, or None.

    Length 10-128, no space at either end, not containing the user name, and not easy to
    guess: zxcvbn (Dropbox's strength estimator, with its lists of common passwords, names,
    words and keyboard patterns) must rate it at least 3 of 4, the user name,
    ``other_words`` (e.g. the display name) and the ward's words counting as known words, and
    rate its words alone just as high when a year, a number or symbols were added at its start
    or end. Never the public demo password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"a password may have at most {MAX_PASSWORD_LENGTH} characters"
    if password.strip() != password:
        return "a password may not start or end with a space"
    if password.casefold() == DEMO_PASSWORD.casefold():
        return "this is the demo accounts' password, which is public: choose another"
    names = [w for w in (username, *other_words) if w]
    folded = password.casefold()
    for name in names:
        for part in {name, *re.split(r"[\W_]+", name)}:
            if len(part) >= 3 and part.casefold() in folded:
                return "a password may not contain the user name or the person's name"
    known = [*names, *WARD_WORDS]
    result = zxcvbn(password[:STRENGTH_CHECKED_CHARS], user_inputs=known)
    if result["score"] < MIN_PASSWORD_STRENGTH:
        feedback = result["feedback"]
        tips = [x.rstrip(".") + "." for x in (
            feedback.get("warning") or "It looks like a common password, word, name, date or "
            "keyboard pattern", *feedback.get("suggestions", ())) if x]
        return "this password is too easy to guess. " + " ".join(tips)
    core = _undecorated(password)
    if core is not None and zxcvbn(core[:STRENGTH_CHECKED_CHARS], user_inputs=known
                                   )["score"] < MIN_PASSWORD_STRENGTH:
        return ("this password is too easy to guess: it is a common word or two (or words "
                "of the ward) with a year, a number or symbols added. Add another uncommon "
                "word or two.")
    return None


def _undecorated(password: str) -> str | None:
    """A password with the year, short number or few symbols at its start and end taken off
    ("Summer2026!!" -> "Summer", "ward-monitor-2026" -> "ward-monitor"), or None when there
    are none (or nothing is left): zxcvbn rates such decoration as random characters, which
    people do not type."""
    parts = _WORD_RUN.split(password)
    if len(parts) < 2:  # no letters at all
        return None
    first, last = parts[0], parts[-1]
    if not (first or last) or not (_DECORATION.fullmatch(first)
                                   and _DECORATION.fullmatch(last)):
        return None
    core = password[len(first):len(password) - len(last)]
    return core if _WORDS.fullmatch(core) else None  # words and separators, no digits inside


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Check a password against its hash. Without a hash (an unknown, disabled or locked
    account), check against a dummy hash anyway and say no: same work, same time."""
    try:
        return HASHER.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def sign_in_input_problem(username: str, password: str) -> str | None:
    """Sign-in input out of bounds (never stored, never hashed), or None."""
    if not username or len(username) > MAX_USERNAME_LENGTH:
        return "user name length"
    if any(not c.isprintable() for c in username):  # NUL, line breaks, control characters
        return "user name characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "password length"
    return None


def idle_expired(last_activity: datetime, now: datetime,
                 policy: SignInPolicy = DEFAULT_POLICY) -> bool:
    """Signed out once ``idle_timeout`` has passed without use (exactly 15 min counts)."""
    return now - last_activity >= policy.idle_timeout


def may_open(role: str, page: str) -> bool:
    return page in PAGES_BY_ROLE.get(role, ())


def role_from_claims(claims: Mapping[str, object], claim: str) -> str | None:
    """Single sign-on: the ward role named by the identity provider's ``claim`` (a string, or
    a list of which exactly one is a ward role). None when it names no ward role or several."""
    value = claims.get(claim)
    values = [value] if isinstance(value, str) else list(value) if isinstance(
        value, (list, tuple)) else []
    roles = {str(v).strip().lower() for v in values} & set(PAGES_BY_ROLE)
    return roles.pop() if len(roles) == 1 else None


@dataclass(frozen=True)
class SignIn:
    ok: bool
    message: str                 # for the sign-in form; never says which part was wrong
    user: dict[str, object] | None = None
