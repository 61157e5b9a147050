"""The instructor's tool: release the assignments, grade a class, write feedback and a report.

`python -m autograder --help` lists the verbs; each is a thin wrapper over a function of
`autograder.api`. The pipeline of a grading run is in `autograder.batch`; its data in
`autograder.model`.
"""

import sys

# nbformat validates notebooks with jsonschema, which imports rfc3987_syntax (installed with
# Jupyter's server) for IRI formats no notebook schema uses; that import builds a parser for
# 1.3 s, in the grader and in every one of its worker processes. A None entry makes the
# optional import fail fast, and jsonschema does without it.
sys.modules.setdefault("rfc3987_syntax", None)
