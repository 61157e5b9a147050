"""Command line: ``python -m autograder VERB ...`` (also installed as ``autograder``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _solutions(args) -> int:
    from autograder.answer_key import build
    from autograder.paths import ASSIGNMENTS, source_notebooks

    sources = source_notebooks()
    if args.assignment:
        sources = [s for s in sources if s.parent.name in args.assignment]
        if not sources:
            print(f"error: no assignment {args.assignment} in {ASSIGNMENTS}", file=sys.stderr)
            return 2
    for path in build(sources):
        print(f"wrote {path}")
    return 0


def _demo(args) -> int:
    from autograder.demo import run

    return run(Path(args.out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True)

    p = verbs.add_parser("solutions", help="execute the source notebooks into solutions/")
    p.add_argument("assignment", nargs="*", help="only these assignments (default: all)")
    p.set_defaults(run=_solutions)

    p = verbs.add_parser("demo", help="the main job on embedded defaults")
    p.add_argument("--out", default="demo-out", help="folder for the demo's outputs")
    p.set_defaults(run=_demo)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
