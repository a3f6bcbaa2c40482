"""``python -m grading grade|summary FILE.csv`` (the contract in design.md).

Bad input: exit status 2, nothing on stdout, every problem on stderr (one line each).
The whole file is validated first; the output is then written as it is produced, a block of
rows at a time (``stream.py``), so memory stays bounded whatever the size of the file. A failure
never leaves partial output: into a file (``> out``) the output goes straight in and is cut
back on a failure; into a pipe it goes to a spool (memory up to ``SPOOL_BYTES``, then a
temporary file) copied to stdout once complete.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from typing import BinaryIO, TextIO

from . import output, stream
from .arrow_csv import EarlyRead
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
        formats = ("json", "csv", "parquet") if name == "grade" else ("json", "csv")
        s.add_argument("--format", choices=formats, default="json",
                       help="json (default), csv" + (", or parquet: the same fields as typed "
                                                     "columns, for pandas, polars or DuckDB"
                                                     if name == "grade" else ""))
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


def main(argv: Sequence[str] | None = None, early: EarlyRead | None = None) -> int:
    """Run a command line; ``early``: the typed read of its file, already started
    (``__main__``, ``arrow_csv``)."""
    args = build_parser().parse_args(argv)
    # the compiled pass loads from numba's cache (a few tenths of a second) while the file is
    # read, which mostly runs without the GIL
    loading = threading.Thread(target=_load_engine, daemon=True)
    loading.start()
    if args.command == "grade" and args.format == "parquet" and args.scales != (ASTCT,):
        return _fail(["python -m grading: --format parquet holds the ASTCT fields only; "
                      "use --format json or csv with --scales"])
    try:
        assessments = read_csv(args.file, args.tz, early)
    except FileNotFoundError:
        return _fail([f"{args.file}: no such file"])
    except IsADirectoryError:
        return _fail([f"{args.file}: is a directory, not a CSV file"])
    except PermissionError:
        return _fail([f"{args.file}: not allowed to read this file"])
    except InputError as e:
        return _fail(e.problems)
    target = _Target()
    try:
        _write(target.out, args, assessments)
        target.commit()
    except BrokenPipeError:  # the reader stopped early (e.g. `| head`): not an error of ours
        _silence_stdout()
        return 0
    except OSError as e:
        target.abort()
        print(f"python -m grading: the output could not be written: {e.strerror or e}",
              file=sys.stderr)
        return EXIT_OUTPUT
    except Exception as e:  # a defect of ours: said plainly, never a traceback
        target.abort()
        print(f"python -m grading: internal error ({type(e).__name__}: {e}); no result given",
              file=sys.stderr)
        return EXIT_INTERNAL
    return 0


class _Target:
    """Where the output goes: straight into stdout when it is a regular file (cut back to where
    it started on a failure), else into a spool copied to stdout once complete."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self.stdout: BinaryIO = (sys.stdout.buffer if hasattr(sys.stdout, "buffer")
                                 else _TextSink(sys.stdout))
        self.start: int | None = None
        try:
            fd = sys.stdout.fileno()
            if stat.S_ISREG(os.fstat(fd).st_mode):
                self.start = os.lseek(fd, 0, os.SEEK_CUR)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            self.start = None
        self.out: BinaryIO = (self.stdout if self.start is not None else
                              tempfile.SpooledTemporaryFile(SPOOL_BYTES, "w+b"))  # type: ignore[assignment]  # noqa: SIM115 (closed in commit/abort)

    def commit(self) -> None:
        if self.start is None:
            self.out.seek(0)
            shutil.copyfileobj(self.out, self.stdout)
            self.out.close()
        self.stdout.flush()

    def abort(self) -> None:
        if self.start is None:
            self.out.close()
            return
        with contextlib.suppress(OSError, ValueError):
            self.stdout.flush()
        with contextlib.suppress(OSError, ValueError):
            fd = sys.stdout.fileno()
            os.ftruncate(fd, self.start)
            os.lseek(fd, self.start, os.SEEK_SET)


class _TextSink(io.RawIOBase):
    """Bytes written to a text stream (a test's captured stdout)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:  # type: ignore[override]
        data = bytes(b)  # type: ignore[call-overload]
        self.out.write(data.decode("utf-8"))
        return len(data)


def _load_engine() -> None:
    """The compiled code loaded: the grading pass, and the writer's (``stream``)."""
    with contextlib.suppress(Exception):  # a failure shows again, plainly, when grading
        stream.grade_bytes(grade(read_csv(b"patient_id,time\nP,2026-01-01T00:00\n")), "csv")


def _write(out: BinaryIO, args: argparse.Namespace, assessments: Assessments) -> None:
    graded = grade(assessments)
    if args.command == "grade" and args.scales == (ASTCT,):
        if args.format == "parquet":  # its footer comes last: written whole, then copied
            with tempfile.TemporaryFile() as spool:
                stream.write_grades(spool, graded, "parquet")
                spool.seek(0)
                shutil.copyfileobj(spool, out)
        else:
            stream.write_grades(out, graded, args.format)
        out.flush()
        return
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES, "w+", encoding="utf-8",
                                       newline="") as text:
        if args.command == "grade":
            extra = _scale_rows(assessments, args.scales)
            if args.format == "json":
                output.write_grades_json(text, graded.results(), extra)
            else:
                output.write_grades_csv(text, graded.results(), extra)
        else:
            summaries = summarize(graded)
            if args.format == "json":
                output.write_summary_json(text, summaries)
            else:
                output.write_summary_csv(text, summaries)
        text.seek(0)
        while chunk := text.read(1 << 20):
            out.write(chunk.encode("utf-8"))
    out.flush()


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
