import os
import sys

from .cli import main

code = main()
# Leave without the interpreter's teardown: under load, a native library's worker thread still
# being torn down at exit sometimes aborted the process ("terminate called without an active
# exception", exit -6) after the command had finished and printed its result. What the
# command wrote is flushed first; its temporary files are already closed and removed.
try:
    sys.stdout.flush()
except OSError as e:  # e.g. a full disk behind a redirect: the output is incomplete
    print(f"python -m grading: the output could not be written: {e.strerror or e}",
          file=sys.stderr)
    code = code or 1
sys.stderr.flush()
os._exit(code)
