"""Local sign-in rules: argon2 password hashes, lock-out, idle timeout, pages per role.

Pure rules and data here; ``WardStore.sign_in`` applies them to the users table with an audit
entry for every attempt. The Streamlit app builds its page list from ``PAGES_BY_ROLE`` and
checks the role again on every page (design.md: educators never see real patients).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class SignInPolicy:
    max_failed_attempts: int = 5                    # then the account is locked ...
    lockout: timedelta = timedelta(minutes=15)      # ... for this long
    idle_timeout: timedelta = timedelta(minutes=15)  # signed out after this long without use


DEFAULT_POLICY = SignInPolicy()

# What each role may open (design.md "Roles"). Educators: the demo ward only.
PAGES_BY_ROLE: dict[str, tuple[str, ...]] = {
    "nurse": ("ward_overview", "bedside_entry", "patient_review", "patient"),
    "physician": ("ward_overview", "bedside_entry", "patient_review", "patient", "admission"),
    "educator": ("demo_ward", "teaching", "case_library", "case_builder"),
    "admin": ("ward_overview", "patient", "admission", "users"),
}
SEES_REAL_PATIENTS = {"nurse": True, "physician": True, "educator": False, "admin": True}


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if password.strip() != password:
        return "a password may not start or end with a space"
    return None


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


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
