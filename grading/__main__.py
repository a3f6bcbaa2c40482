"""``python -m grading``: the command line (``cli.py``), started for speed.

The file a ``grade`` or ``summary`` command names is read by Arrow (``arrow_csv.EarlyRead``) in a
thread started before pandas and numba are imported, which takes half a second the read no
longer waits for. scipy is kept out of this process: numba imports it when it first compiles
or loads code only to offer BLAS to compiled linear algebra, which grading never uses, and
importing it costs about 0.2 s. numpy is asked not to back its large arrays with transparent huge
pages (its default on Linux): the kernel zeroes a whole 2 MB page on first touch, and the output
buffers, sized for the worst case, are touched in part; this cut the command's kernel time by
about 0.8 s on 1,000,000 rows (docs/speed.md). A value set by the user is kept. The cyclic
garbage collector waits until the imports are done, and then leaves the imported modules' objects
out of its full passes (``gc.freeze``): two full passes over them cost 0.15-0.4 s.
"""

import gc
import os
import sys

gc.disable()  # until the imports are done (below)

os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")  # read by numpy when it is imported

from .arrow_csv import start  # noqa: E402 (after numpy's setting)

early = start(sys.argv[1:])
if "scipy" not in sys.modules:
    sys.modules["scipy"] = None  # type: ignore[assignment]  # `import scipy` raises ImportError

from .cli import exit_process, main  # noqa: E402 (after the early read has started)

gc.freeze()
gc.enable()

exit_process(main(early=early), "python -m grading")
