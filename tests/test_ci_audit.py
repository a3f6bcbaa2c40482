"""CI's dependency audit (.ci/audit.py, issue 14 point 9): it says how many locked packages were
checked, fails on a known vulnerability, and never reports an audit that could not reach its
service as a clean one. pip-audit is replaced by a script writing the report it would write.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SKIPPED = "Dependency not found on PyPI and could not be audited: numpy (2.4.6)"


def run_audit(tmp_path: Path, dependencies: list[dict[str, object]] | None
              ) -> subprocess.CompletedProcess[str]:
    fake = tmp_path / "pip-audit"
    report = json.dumps({"dependencies": dependencies, "fixes": []})
    write = ("import sys; o = sys.argv[sys.argv.index('-o') + 1]; "
             f"open(o, 'w').write({report!r})" if dependencies is not None
             else "import sys; sys.exit('ConnectionError: Max retries exceeded')")
    fake.write_text(f"#!{sys.executable}\n{write}\n")
    fake.chmod(0o755)
    return subprocess.run([sys.executable, str(REPO / ".ci" / "audit.py"), str(fake),
                           "requirements.lock"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)


def test_a_clean_audit_says_how_many_packages_it_checked(tmp_path: Path) -> None:
    r = run_audit(tmp_path, [{"name": "numpy", "version": "2.4.6", "vulns": []},
                             {"name": "pandas", "version": "3.1.1", "vulns": []}])
    assert r.returncode == 0
    assert r.stdout.splitlines() == ["pip-audit requirements.lock: 2 of 2 locked packages "
                                     "checked, 0 known vulnerabilities"]


def test_a_known_vulnerability_fails_ci_naming_the_package_and_the_fix(tmp_path: Path) -> None:
    r = run_audit(tmp_path, [{"name": "numpy", "version": "2.4.6", "vulns": [
        {"id": "PYSEC-2099-1", "fix_versions": ["2.4.7"]}]}])
    assert r.returncode == 1
    assert "  numpy 2.4.6: PYSEC-2099-1 (fixed in: 2.4.7)" in r.stdout.splitlines()


def test_a_service_that_answers_for_no_package_is_reported_as_not_checked(
        tmp_path: Path) -> None:
    r = run_audit(tmp_path, [{"name": "numpy", "skip_reason": SKIPPED}])
    assert r.returncode == 0
    assert "the audit could NOT run" in r.stdout and "NOT checked" in r.stdout


def test_an_unreachable_service_is_reported_as_not_checked(tmp_path: Path) -> None:
    r = run_audit(tmp_path, None)
    assert r.returncode == 0
    assert "the audit could NOT run (exit 1: ConnectionError: Max retries exceeded)" in r.stdout
