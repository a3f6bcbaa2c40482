"""``python -m monitoring``: set up the ward record, load the demo ward, import, export, audit.

    python -m monitoring init        (PostgreSQL: as the owner, MIGRATION_DATABASE_URL)
    python -m monitoring demo [--reset]
    python -m monitoring import FILE.csv --user NAME
    python -m monitoring labs import FILE.csv --user NAME   (lab CSV, docs/markers.md)
    python -m monitoring export [--patient ID]
    python -m monitoring fhir import FILE_OR_DIR... --user NAME   (FHIR R4, docs/fhir.md)
    python -m monitoring fhir export [--patient ID]
    python -m monitoring registry-export [--patient ID] [--format csv|fhir] [--out FILE]
                                     (docs/registry.md)
    python -m monitoring audit [--patient ID]
    python -m monitoring user add NAME --role nurse|physician|educator|admin
    python -m monitoring user password NAME          (the password is read from stdin)

The database is ``DATABASE_URL`` (PostgreSQL) or the embedded SQLite file data/ward.db; the ward
time zone is ``WARD_TZ`` (default UTC). Only ``init`` creates a database; every command checks a
SQLite file's integrity first. Bad input, or a database that cannot be used: exit status 2, every
problem on stderr, nothing on stdout.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence

from grading.parse import InputError

from .db import (
    DatabaseUnavailableError,
    DriverError,
    SetupError,
    database_url,
    describe,
    init_database,
)
from .demo import load_demo
from .fhir import FhirError
from .fhir.export import export_bundle
from .registry import registry_export
from .services import import_fhir, import_labs
from .store import SYSTEM_USER, StoreError, WardStore, progress_to_stderr
from .ward import resync_after_anticytokine_migration


def treatments_to_stderr(done: int, total: int) -> None:
    """The FHIR import's medications and lab results written (every few hundred); none: not
    said."""
    if total:
        print(f"recorded {done:,} of {total:,} medications and lab results", file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"python -m monitoring: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m monitoring", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("init", help="create or migrate the database")
    d = sub.add_parser("demo", help="load the synthetic demo ward")
    d.add_argument("--reset", action="store_true",
                   help="mark the demo rows entered-in-error and load the cases again")
    i = sub.add_parser("import", help="import a canonical CSV file (all rows or none)")
    i.add_argument("file")
    i.add_argument("--user", required=True)
    lab = sub.add_parser("labs", help="lab results (docs/markers.md)")
    labsub = lab.add_subparsers(dest="action", required=True, parser_class=_Parser)
    li = labsub.add_parser("import", help="import a lab CSV file (all rows or none)")
    li.add_argument("file")
    li.add_argument("--user", required=True)
    f = sub.add_parser("fhir", help="FHIR R4 Bundles and Bulk Data NDJSON (docs/fhir.md)")
    fsub = f.add_subparsers(dest="action", required=True, parser_class=_Parser)
    fi = fsub.add_parser("import", help="import Patients and vital-sign / neuro Observations "
                         "(all resources or none)")
    fi.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    fi.add_argument("--user", required=True)
    fe = fsub.add_parser("export", help="the grades (ASTCT CRS and ICANS Observations) and "
                         "open flags as one FHIR R4 Bundle (JSON)")
    fe.add_argument("--patient")
    e = sub.add_parser("export", help="effective timeline as canonical CSV")
    e.add_argument("--patient")
    r = sub.add_parser("registry-export", help="per patient what a cellular-therapy registry "
                       "asks after infusion (CRS, ICANS, treatments, support, death, markers; "
                       "docs/registry.md)")
    r.add_argument("--patient", help="one patient (default: every patient but the synthetic "
                   "demo ones)")
    r.add_argument("--format", choices=("csv", "fhir"), default="csv",
                   help="CSV, one row per patient (default), or a FHIR R4 Bundle (JSON)")
    r.add_argument("--out", metavar="FILE", help="write to FILE instead of the screen")
    a = sub.add_parser("audit", help="the audit trail as JSON lines")
    a.add_argument("--patient")
    u = sub.add_parser("user", help="manage users")
    usub = u.add_subparsers(dest="action", required=True, parser_class=_Parser)
    add = usub.add_parser("add")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=("nurse", "physician", "educator", "admin"))
    add.add_argument("--name")
    pw = usub.add_parser("password", help="set a password (read from stdin, never an argument)")
    pw.add_argument("username")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    store: WardStore | None = None
    try:
        if args.command == "init":
            for line in init_database():  # the owner migrates and grants first (PostgreSQL)
                print(line)
        store = WardStore(tz=os.environ.get("WARD_TZ", "UTC"), create=args.command == "init",
                          check=True)
        resync_after_anticytokine_migration(store)  # once per database (decision W10)
        if args.command == "init":
            print(f"ward record ready: {store.engine.url.render_as_string(hide_password=True)}")
        elif args.command == "demo":
            n = load_demo(store, reset=args.reset)
            print(f"demo ward loaded: {n} assessments")
        elif args.command == "import":
            n = store.import_csv(args.file, by=args.user, progress=progress_to_stderr)
            print(f"imported {n} assessments from {args.file}")
        elif args.command == "labs":
            n = import_labs(store, args.file, args.user)
            print(f"imported {n} lab results from {args.file}")
        elif args.command == "fhir" and args.action == "export":
            if args.patient and store.patient(args.patient) is None:
                raise StoreError(f"unknown patient '{args.patient}'")
            print(json.dumps(export_bundle(store, args.patient), ensure_ascii=False, indent=1))
        elif args.command == "fhir":
            done = import_fhir(store, args.paths, args.user, progress=progress_to_stderr,
                               treating=treatments_to_stderr)
            print(f"FHIR import: {done.added} assessments added, {done.medications} "
                  f"medications and {done.labs} lab results recorded, "
                  + (f"{done.not_given} medications not given (not recorded), "
                     if done.not_given else "")
                  + f"{done.amended} amended, "
                  f"{done.marked} marked entered in error, {done.unchanged} resources "
                  f"already imported unchanged, {done.not_charted} entered-in-error resources "
                  "never charted"
                  + (f", {done.derived} grades, episodes and flags of a ward monitor export "
                     "not imported (recomputed here)" if done.derived else ""))
            for line in [*done.tocilizumab_limits, *done.notices]:
                print(line)
        elif args.command == "export":
            sys.stdout.write(store.export_csv(args.patient))
        elif args.command == "registry-export":
            text = registry_export(store, args.patient, args.format)
            if args.out:
                with open(args.out, "w", encoding="utf-8", newline="") as f:
                    f.write(text)
                print(f"registry summary written to {args.out}", file=sys.stderr)
            else:
                sys.stdout.write(text if text.endswith("\n") else text + "\n")
        elif args.command == "audit":
            for row in store.audit(args.patient):
                print(json.dumps(row, default=str, ensure_ascii=False))
        elif args.command == "user" and args.action == "password":
            password = (getpass.getpass("new password: ") if sys.stdin.isatty()
                        else sys.stdin.readline().rstrip("\n"))
            store.set_password(args.username, password, by=SYSTEM_USER)
            print(f"password of {args.username} set")
        elif args.command == "user":
            store.add_user(args.username, args.role, by=SYSTEM_USER, display_name=args.name)
            print(f"user {args.username} added ({args.role})")
    except FileNotFoundError as e:
        print(f"{e.filename}: no such file", file=sys.stderr)
        return 2
    except IsADirectoryError as e:
        print(f"{e.filename}: is a folder, not a file", file=sys.stderr)
        return 2
    except PermissionError as e:
        print(f"{e.filename}: not allowed to read this file", file=sys.stderr)
        return 2
    except DatabaseUnavailableError as e:
        print(str(e), file=sys.stderr)
        return 2
    except DriverError as e:  # e.g. a damaged page the integrity check could not see
        print(describe(e, database_url()), file=sys.stderr)
        return 2
    except (InputError, FhirError) as e:
        for line in e.lines:
            print(line, file=sys.stderr)
        return 2
    except (StoreError, SetupError) as e:
        print(str(e), file=sys.stderr)
        return 2
    finally:
        if store is not None:
            store.engine.dispose()
    return 0
