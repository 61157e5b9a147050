"""The instructor's tool: release the assignments, grade a class, write feedback and a report.

`python -m autograder --help` lists the verbs; each is a thin wrapper over a function of
`autograder.api`. The pipeline of a grading run is in `autograder.batch`; its data in
`autograder.model`.
"""
