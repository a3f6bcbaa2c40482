"""Malformed canonical CSV files for the command fuzz tests (a seeded generator: the same files
on every run, so a failure names a case that can be run again).

Each file starts from a small valid file and gets one to three damages of the kinds a probe
found or a spreadsheet makes: a row with more or fewer cells, a junk cell (control characters,
quotes, invalid UTF-8, a huge number, a long text), a long patient id, CR-only or mixed line
endings, blank lines, a byte-order mark, a cut-off file, an unknown, repeated or empty column,
many columns, a cell over the size limit. Sizes are bounded (at most a few MB a file).
"""

from __future__ import annotations

import contextlib
import io
import random
import signal
from collections.abc import Callable, Iterator, Sequence

HANG_SECONDS = 60  # far above any real case (each takes well under a second): a hang detector


@contextlib.contextmanager
def no_hang(seconds: int = HANG_SECONDS) -> Iterator[None]:
    def stop(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run_in_process(main: Callable[[Sequence[str]], int], *argv: str) -> tuple[int, str, str]:
    """A command's ``main`` run in this process: its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with no_hang(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()

HEADER = ["patient_id", "time", "infusion_time", "age_years", "temp_c", "sbp_mmhg", "dbp_mmhg",
          "spo2_pct", "o2_device", "o2_flow_l_min", "vasopressors", "ice_orientation",
          "ice_naming", "ice_commands", "ice_writing", "ice_attention", "consciousness"]
ROW = ["P{p}", "2026-03-0{d}T{h:02d}:00", "2026-03-01T10:00", "54", "{t}", "118", "72", "97",
       "room_air", "", "none", "4", "3", "1", "1", "1", "alert"]

JUNK = ["", " ", "\x00", "\x07", "\t37", "\"", "\"\"", "'", "=1+1", "nan", "inf", "-0", "1e309",
        "9" * 400, "37,5", "38.", ".5", "+38", "TRUE", "None", "null", "😀", "\u202e37",
        "2026-02-30T08:00", "0001-01-01T00:00", "99999-01-01T00:00", "2026-03-01T25:00",
        "norepinephrine;;", "none;norepinephrine", "a" * 2000, "\ufeff", "\r", "\n", ";",
        "P1\nP2", "\"quoted, with comma\"", "\"unclosed"]


def _valid_rows(rng: random.Random, n: int) -> list[list[str]]:
    rows = []
    for i in range(n):
        p, d, h = rng.randint(1, 3), 2 + i // 24 % 7, i % 24
        rows.append([c.format(p=p, d=d, h=h, t=round(rng.uniform(36.0, 40.0), 1)) for c in ROW])
    return rows


def _join(header: list[str], rows: list[list[str]], eol: str = "\n") -> str:
    return eol.join([",".join(header), *(",".join(r) for r in rows)]) + eol


# each damage takes (rng, header, rows) and returns the file's text or bytes
Damage = Callable[[random.Random, list[str], list[list[str]]],
                  tuple[list[str], list[list[str]]]]


def _extra_cells(rng: random.Random, header: list[str], rows: list[list[str]]):
    r = rng.randrange(len(rows))
    rows[r] = rows[r] + [rng.choice(JUNK) for _ in range(rng.randint(1, 3))]
    return header, rows


def _missing_cells(rng: random.Random, header: list[str], rows: list[list[str]]):
    r = rng.randrange(len(rows))
    rows[r] = rows[r][: rng.randrange(len(rows[r]) + 1)]
    return header, rows


def _junk_cell(rng: random.Random, header: list[str], rows: list[list[str]]):
    r = rng.randrange(len(rows))
    c = rng.randrange(len(rows[r]) + 1)
    rows[r] = [*rows[r][:c], rng.choice(JUNK), *rows[r][c + 1:]]
    return header, rows


def _long_patient_id(rng: random.Random, header: list[str], rows: list[list[str]]):
    r = rng.randrange(len(rows))
    rows[r] = ["X" * rng.choice([63, 64, 65, 100, 5000]), *rows[r][1:]]
    return header, rows


def _header_damage(rng: random.Random, header: list[str], rows: list[list[str]]):
    kind = rng.randrange(4)
    header = list(header)
    if kind == 0:
        header[rng.randrange(len(header))] = rng.choice(["temp", "", "TIME", "patient_id", "x"])
    elif kind == 1:
        header.append(rng.choice(header))
        rows = [r + ["1"] for r in rows]
    elif kind == 2:
        header = header + [f"c{i}" for i in range(rng.choice([10, 600, 3000]))]
    else:
        header = header[: rng.randint(0, 3)]
    return header, rows


def _big_cell(rng: random.Random, header: list[str], rows: list[list[str]]):
    r = rng.randrange(len(rows))
    c = rng.randrange(len(header) + 1)
    rows[r] = [*rows[r][:c], rng.choice("9aP\"") * rng.choice([1001, 200_000]), *rows[r][c + 1:]]
    return header, rows


DAMAGES: list[Damage] = [_extra_cells, _missing_cells, _junk_cell, _junk_cell, _long_patient_id,
                         _header_damage, _big_cell]


def _layout(rng: random.Random, text: str) -> bytes:
    """Line endings, blank lines, BOM, invalid UTF-8 or a cut: one of them, or none."""
    kind = rng.randrange(9)
    if kind == 0:
        text = text.replace("\n", "\r")
    elif kind == 1:
        text = text.replace("\n", "\r\n")
    elif kind == 2:
        lines = text.split("\n")
        text = "\r".join(lines[:3]) + "\n" + "\r\n".join(lines[3:])
    elif kind == 3:
        lines = text.split("\n")
        lines.insert(rng.randint(1, max(1, len(lines) - 1)), rng.choice(["", " ", ",,,"]))
        text = "\n".join(lines)
    elif kind == 4:
        text = "\ufeff" + text
    data = text.encode("utf-8")
    if kind == 5:
        at = rng.randrange(len(data))
        data = data[:at] + rng.choice([b"\xff", b"\xc3", b"\x80\x80", b"\xe2\x82"]) + data[at:]
    elif kind == 6:
        data = data[: rng.randrange(len(data) + 1)]
    return data


def malformed_files(count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """``count`` (name, content) pairs; the name says which damages were made."""
    rng = random.Random(seed)
    for i in range(count):
        header, rows = list(HEADER), _valid_rows(rng, rng.randint(1, 30))
        names = []
        for damage in rng.sample(DAMAGES, rng.randint(1, 3)):
            header, rows = damage(rng, header, rows)
            names.append(damage.__name__.strip("_"))
        yield f"{seed}-{i}-{'+'.join(names)}", _layout(rng, _join(header, rows))


def huge_files() -> Iterator[tuple[str, bytes]]:
    """The probe's worst cases, at full size: a 5 MB cell, 100,000 columns, a 2 MB file with
    CR-only line endings."""
    rows = _valid_rows(random.Random(1), 3)
    yield "cell-5MB", _join(HEADER, [rows[0][:4] + ["9" * (5 << 20)] + rows[0][5:]]).encode()
    yield "cell-5MB-extra-cells", _join(HEADER, [rows[0] + ["x" * (5 << 20), "y"]]).encode()
    yield "columns-100k", _join(HEADER + [f"c{i}" for i in range(100_000)], rows).encode()
    cr = _join(HEADER, _valid_rows(random.Random(2), 2 * 2**20 // 90), eol="\r")
    yield "cr-only-2MB", cr.encode()
