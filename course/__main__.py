"""``python -m course check NOTEBOOK.ipynb ...``: see `course.check`."""

import sys

from course.check import main

sys.exit(main())
