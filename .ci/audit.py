"""Check the locked dependencies for known vulnerabilities (pip-audit), and say plainly what was
checked.

    python3 .ci/audit.py PIP_AUDIT LOCK...

Runs ``PIP_AUDIT -r LOCK --require-hashes --disable-pip`` (the lock pins every package, so
nothing is installed or resolved) against PyPI's advisory data and prints, per lock file, how
many packages it checked and every known vulnerability. Exit status 1 when a checked package
has a known vulnerability. When the vulnerability service cannot be reached, or answers for no
package (pip-audit then lists each as "could not be audited" and still says "No known
vulnerabilities found"), this prints that the audit could NOT run and exits 0: CI does not fail
for an unreachable service alone, but never reports such a run as a clean audit
(docs/security.md, "Commands and files").
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

TIMEOUT_S = 600


def audit(pip_audit: str, lock: str) -> bool:
    """True when the audit ran and found nothing; prints what it did."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        try:
            run = subprocess.run([pip_audit, "-r", lock, "--require-hashes", "--disable-pip",
                                  "--vulnerability-service", "pypi", "--progress-spinner", "off",
                                  "-f", "json", "-o", str(report)],
                                 capture_output=True, text=True, timeout=TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as e:
            print(f"pip-audit {lock}: the audit could NOT run ({e}); no package was checked")
            return True
        data = json.loads(report.read_text()) if report.exists() and report.stat().st_size else {}
    deps = data.get("dependencies", [])
    if not deps:
        last = (run.stderr.strip().splitlines() or ["no report"])[-1]
        print(f"pip-audit {lock}: the audit could NOT run (exit {run.returncode}: {last}); "
              "no package was checked")
        return True
    skipped = [d for d in deps if "skip_reason" in d]
    checked = len(deps) - len(skipped)
    vulns = [(d["name"], d["version"], v) for d in deps for v in d.get("vulns", [])]
    if checked == 0:
        print(f"pip-audit {lock}: the audit could NOT run: the vulnerability service answered "
              f"for none of the {len(deps)} locked packages ({skipped[0]['skip_reason']}); "
              "NOT checked for known vulnerabilities")
        return True
    print(f"pip-audit {lock}: {checked} of {len(deps)} locked packages checked, "
          f"{len(vulns)} known vulnerabilities")
    for d in skipped:
        print(f"  not checked: {d['name']}: {d['skip_reason']}")
    for name, version, v in vulns:
        fixed = ", ".join(v.get("fix_versions", [])) or "no fixed version yet"
        print(f"  {name} {version}: {v['id']} (fixed in: {fixed})")
    return not vulns


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    results = [audit(argv[0], lock) for lock in argv[1:]]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
