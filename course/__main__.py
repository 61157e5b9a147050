"""``python -m course check NOTEBOOK.ipynb ...``: see `course.check`."""

import sys

# jsonschema (nbformat's validator) would spend 1.3 s importing rfc3987_syntax, an optional
# IRI parser no notebook needs: a None entry makes that import fail fast
sys.modules.setdefault("rfc3987_syntax", None)

from course.check import main  # noqa: E402

sys.exit(main())
