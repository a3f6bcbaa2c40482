#!/usr/bin/env bash
# Run pytest with the clock of every process but the browser starting at a given UTC moment and
# running on from there (libfaketime: apt-get install faketime). A test whose outcome depends on
# the time of day, the date or a clock change shows here, not at 23:52 in CI.
#
#   tests/run_at.sh '2026-12-06 23:52:00' tests/ui/test_pages.py -q
#   TZ=Europe/London tests/run_at.sh '2027-03-28 00:30:00' tests/ui -q   (a system zone too)
#
# The ward record's tests run on SQLite here: PostgreSQL keeps the real clock.
# FAKETIME_DONT_RESET: the streamlit servers the browser tests start share the test's clock
# (without it each starts again at the given moment). The monotonic clock stays faked: with
# FAKETIME_DONT_FAKE_MONOTONIC=1 libfaketime 0.9.10 makes Python's time.sleep fail (EINVAL).
# Chromium crashes under libfaketime, so the browser tests launch it through a wrapper without it.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 'YYYY-MM-DD hh:mm:ss' (UTC) pytest-arguments..." >&2; exit 2; }
command -v faketime >/dev/null || { echo "faketime not found: apt-get install faketime" >&2; exit 2; }
when="$1"; shift
cd "$(dirname "$0")/.."
wrapper="$(mktemp -d)/chromium"
trap 'rm -rf "$(dirname "$wrapper")"' EXIT
printf '#!/bin/sh\nunset LD_PRELOAD FAKETIME FAKETIME_SHARED FAKETIME_DONT_RESET\nexec %s "$@"\n' \
    "${E2E_CHROMIUM:-/usr/bin/chromium}" > "$wrapper"
chmod +x "$wrapper"
env -u TEST_DATABASE_URL -u TEST_DATABASE_OWNER_URL -u TEST_DATABASE_APP_URL \
    E2E_CHROMIUM="$wrapper" FAKETIME_DONT_RESET=1 \
    faketime -f "@$when" python3 -m pytest -p no:cacheprovider "$@"
