"""``python -m grading grade|summary FILE.csv`` (the contract in design.md).

Bad input: exit status 2, nothing on stdout, every problem on stderr (one line each).
Output is built whole before anything is written, so a failure never leaves partial output.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import output
from .parse import InputError, read_csv
from .scales.engine import ASTCT, SCALE_NAMES, UnknownScaleError, grade_scales, parse_scales
from .summary import summarize
from .timeline import grade

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"python -m grading: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m grading", description=(
        "Grade CAR-T toxicity (ASTCT 2019 CRS and ICANS) from canonical assessment CSV files. "
        "Decision support only: a clinician confirms every grade."))
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, text in (("grade", "one result per input row, in input order"),
                       ("summary", "per patient: maximum grades, onset, resolution, daily maxima")):
        s = sub.add_parser(name, help=text, description=text)
        s.add_argument("file", metavar="FILE.csv", help="canonical assessment CSV (design.md)")
        s.add_argument("--format", choices=("json", "csv"), default="json")
        s.add_argument("--tz", default="UTC", help="ward time zone for times without an offset "
                       "and for day after infusion (default UTC)")
        if name == "grade":
            s.add_argument("--scales", type=_scales, default=(ASTCT,), metavar="NAMES",
                           help="comma list of scales to grade by, each adding its fields "
                           f"(default astct; allowed: {', '.join(SCALE_NAMES)})")
    return p


def _scales(text: str) -> tuple[str, ...]:
    try:
        return parse_scales(text)
    except UnknownScaleError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        assessments = read_csv(args.file, args.tz)
    except FileNotFoundError:
        return _fail([f"{args.file}: no such file"])
    except IsADirectoryError:
        return _fail([f"{args.file}: is a directory, not a CSV file"])
    except InputError as e:
        return _fail(e.problems)
    try:
        graded = grade(assessments)
        if args.command == "grade":
            rows = list(graded.results())
            extra = None if args.scales == (ASTCT,) else grade_scales(assessments, args.scales)
            text = (output.grades_json(rows, extra) if args.format == "json"
                    else output.grades_csv(rows, extra))
        else:
            for _ in graded.results():  # the same cross-check as `grade` before any summary
                pass
            summaries = summarize(graded)
            text = (output.summary_json(summaries) if args.format == "json"
                    else output.summary_csv(summaries))
    except AssertionError as e:  # the fast path and the reference rules disagreed
        print(f"python -m grading: {e}; no result given", file=sys.stderr)
        return EXIT_INTERNAL
    sys.stdout.write(text)
    return 0


def _fail(problems: list[str]) -> int:
    for line in problems:
        print(line, file=sys.stderr)
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
