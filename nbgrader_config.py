"""nbgrader configuration of the course root: sources in assignments/, answers in solutions/."""

c = get_config()  # noqa: F821 (nbgrader injects get_config)

c.CourseDirectory.source_directory = "assignments"
c.CourseDirectory.release_directory = "release"

# What a student sees in place of an answer: a stub that fails loudly.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A cell may take at most this long; an infinite loop costs only its own question.
c.Execute.timeout = 60
