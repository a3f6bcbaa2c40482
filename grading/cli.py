"""``python -m grading grade|summary FILE.csv`` (the contract in design.md).

Bad input: exit status 2, nothing on stdout, every problem on stderr (one line each).
The whole file is validated first; the output is then written as it is produced to a spool
(memory up to ``SPOOL_BYTES``, then a temporary file) and copied to stdout only once complete,
so memory stays bounded and a failure never leaves partial output.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import TextIO

from . import output
from .parse import Assessments, InputError, read_csv
from .scales.common import ScaleGrade
from .scales.engine import ASTCT, SCALE_NAMES, UnknownScaleError, grade_inputs, parse_scales
from .scales.inputs import scale_inputs
from .summary import summarize
from .timeline import grade

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_OUTPUT = 1  # the output could not be written (a full disk, a closed pipe)
SPOOL_BYTES = 8 << 20  # output held in memory up to this size, then in a temporary file
SCALE_CHUNK = 2000  # rows graded by the other scales at a time


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
    except PermissionError:
        return _fail([f"{args.file}: not allowed to read this file"])
    except InputError as e:
        return _fail(e.problems)
    try:
        with tempfile.SpooledTemporaryFile(SPOOL_BYTES, "w+", encoding="utf-8",
                                           newline="") as spool:
            _write(spool, args, assessments)
            spool.seek(0)
            shutil.copyfileobj(spool, sys.stdout)
            sys.stdout.flush()
    except AssertionError as e:  # the fast path and the reference rules disagreed
        print(f"python -m grading: {e}; no result given", file=sys.stderr)
        return EXIT_INTERNAL
    except BrokenPipeError:  # the reader stopped early (e.g. `| head`): not an error of ours
        _silence_stdout()
        return 0
    except OSError as e:
        print(f"python -m grading: the output could not be written: {e.strerror or e}",
              file=sys.stderr)
        return EXIT_OUTPUT
    return 0


def _write(out: TextIO, args: argparse.Namespace, assessments: Assessments) -> None:
    graded = grade(assessments)
    if args.command == "grade":
        extra = None if args.scales == (ASTCT,) else _scale_rows(assessments, args.scales)
        if args.format == "json":
            output.write_grades_json(out, graded.results(), extra)
        else:
            output.write_grades_csv(out, graded.results(), extra)
    else:
        for _ in graded.results():  # the same cross-check as `grade` before any summary
            pass
        summaries = summarize(graded)
        if args.format == "json":
            output.write_summary_json(out, summaries)
        else:
            output.write_summary_csv(out, summaries)


def _silence_stdout() -> None:
    """After a broken pipe: stdout to /dev/null, so flushing at exit fails no second time
    (as the Python documentation on SIGPIPE advises)."""
    # no real file behind stdout (a test's capture): nothing to do
    with contextlib.suppress(OSError, ValueError, AttributeError, io.UnsupportedOperation):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _scale_rows(a: Assessments, names: Sequence[str]) -> Iterator[dict[str, ScaleGrade]]:
    """Each row's grades by the other scales, graded a chunk at a time."""
    inputs = scale_inputs(a)
    for lo in range(0, len(inputs), SCALE_CHUNK):
        yield from grade_inputs(inputs[lo:lo + SCALE_CHUNK], names)


def _fail(problems: list[str]) -> int:
    for line in problems:
        print(line, file=sys.stderr)
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    raise SystemExit(main())


def exit_process(code: int, command: str) -> None:
    """End a ``python -m`` command (grading's and monitoring's) with ``code``.

    Leave without the interpreter's teardown: under load, a native library's worker thread still
    being torn down at exit sometimes aborted the process ("terminate called without an active
    exception", exit -6) after the command had finished and printed its result. What the
    command wrote is flushed first; its temporary files are already closed and removed."""
    try:
        sys.stdout.flush()
    except OSError as e:  # e.g. a full disk behind a redirect: the output is incomplete
        print(f"{command}: the output could not be written: {e.strerror or e}", file=sys.stderr)
        code = code or 1
    sys.stderr.flush()
    os._exit(code)
