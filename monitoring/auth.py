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
    "nurse": ("ward_overview", "bedside_entry", "patient_review", "patient"),
    "physician": ("ward_overview", "bedside_entry", "patient_review", "patient", "admission"),
    "educator": ("demo_ward", "teaching", "case_library", "case_builder"),
    "admin": ("ward_overview", "patient", "admission", "users"),
}
SEES_REAL_PATIENTS = {"nurse": True, "physician": True, "educator": False, "admin": True}


def password_problem(password: str, username: str = "",
                     other_words: tuple[str, ...] = ()) -> str | None:
    """Why a new password is not acceptable, in plain words, or None.

    Length 10-128, no space at either end, not containing the user name, and not easy to
    guess: zxcvbn (Dropbox's strength estimator, with its lists of common passwords, names,
    words and keyboard patterns) must rate it at least 3 of 4, the user name and
    ``other_words`` (e.g. the display name) counting as known words."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"a password may have at most {MAX_PASSWORD_LENGTH} characters"
    if password.strip() != password:
        return "a password may not start or end with a space"
    names = [w for w in (username, *other_words) if w]
    folded = password.casefold()
    for name in names:
        for part in {name, *re.split(r"[\W_]+", name)}:
            if len(part) >= 3 and part.casefold() in folded:
                return "a password may not contain the user name or the person's name"
    result = zxcvbn(password[:STRENGTH_CHECKED_CHARS], user_inputs=names)
    if result["score"] < MIN_PASSWORD_STRENGTH:
        feedback = result["feedback"]
        tips = [x.rstrip(".") + "." for x in (
            feedback.get("warning") or "It looks like a common password, word, name, date or "
            "keyboard pattern", *feedback.get("suggestions", ())) if x]
        return "this password is too easy to guess. " + " ".join(tips)
    return None


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
