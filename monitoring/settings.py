"""Site settings from the environment (one place; documented in docs/manual.md, "Settings").

    DATABASE_URL                 PostgreSQL for a multi-user ward; unset = embedded SQLite demo file
                                 (PostgreSQL: the application's restricted role, docs/security.md)
    MIGRATION_DATABASE_URL       PostgreSQL owner role, read only by `python -m monitoring init`
    WARD_TZ                      ward time zone (default UTC)
    WARD_IDLE_TIMEOUT_MINUTES    sign out after this long without use (default 15)
    WARD_DEMO                    1/0: load the demo ward and demo accounts into the embedded
                                 database (default 1); the demo accounts sign in only there,
                                 never on a DATABASE_URL database, and with 0 nowhere
    WARD_DATA_DIR                the folder of the embedded database file (default data/)
    WARD_REFERENCE_RANGES        a TOML file of the site's laboratory reference ranges for the
                                 markers (docs/markers.md); unset = the defaults of the table
    WARD_SSO_ROLE_CLAIM          the identity-provider claim holding the ward role (default
                                 "ward_role"); single sign-on itself is configured in
                                 .streamlit/secrets.toml ([auth], docs/manual.md)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from . import db, reference_ranges
from .auth import DEFAULT_POLICY, SignInPolicy


@dataclass(frozen=True)
class Settings:
    ward_tz: str
    policy: SignInPolicy
    demo_ward: bool
    sso_role_claim: str
    demo_accounts: bool = False  # True only on the embedded demo database (public password)


def load(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    minutes = env.get("WARD_IDLE_TIMEOUT_MINUTES", "")
    try:
        idle = timedelta(minutes=float(minutes)) if minutes else DEFAULT_POLICY.idle_timeout
    except ValueError:
        raise SystemExit(f"WARD_IDLE_TIMEOUT_MINUTES must be a number of minutes, not "
                         f"'{minutes}'") from None
    if idle <= timedelta(0):
        raise SystemExit("WARD_IDLE_TIMEOUT_MINUTES must be above 0")
    try:
        reference_ranges.site_ranges(env)
    except reference_ranges.ReferenceRangeError as e:
        raise SystemExit(str(e)) from None
    demo = env.get("WARD_DEMO", "1").strip().lower() not in ("0", "false", "no")
    url = env.get("DATABASE_URL")
    embedded = not url or db.database_url(url) == db.DEFAULT_URL
    return Settings(
        ward_tz=env.get("WARD_TZ", "UTC"),
        policy=SignInPolicy(idle_timeout=idle),
        demo_ward=demo and embedded,
        sso_role_claim=env.get("WARD_SSO_ROLE_CLAIM", "ward_role"),
        demo_accounts=demo and embedded,
    )
