from grading.cli import exit_process

from .cli import main

exit_process(main(), "python -m monitoring")
