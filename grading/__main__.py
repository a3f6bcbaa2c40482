"""``python -m grading``: the command line (``cli.py``), started for speed.

The file a ``grade`` or ``summary`` command names is read by Arrow (``arrow_csv.EarlyRead``) in a
thread started before pandas and numba are imported, which takes half a second the read no
longer waits for. scipy is kept out of this process: numba imports it when it first compiles
or loads code only to offer BLAS to compiled linear algebra, which grading never uses, and
importing it costs about 0.2 s (docs/speed.md).
"""

import sys

from .arrow_csv import start

early = start(sys.argv[1:])
if "scipy" not in sys.modules:
    sys.modules["scipy"] = None  # type: ignore[assignment]  # `import scipy` raises ImportError

from .cli import exit_process, main  # noqa: E402 (after the early read has started)

exit_process(main(early=early), "python -m grading")
