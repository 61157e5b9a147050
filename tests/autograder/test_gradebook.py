"""The batched gradebook writer: nbgrader's structure, commits before callbacks, nothing lost."""

from __future__ import annotations

import shutil
import warnings

import pytest
from nbgrader.api import Gradebook, Student
from sqlalchemy.exc import IntegrityError, SAWarning

from autograder.gradebook import GradebookWriter
from autograder.grading import questions
from autograder.model import NotebookResult, Row, Task
from autograder.nbgrader_glue import generate
from tests.autograder.tiny import AID, NB, tiny_notebook, write_tiny_source


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    """A SQLite gradebook with the tiny assignment registered by nbgrader's generate_assignment."""
    root = tmp_path_factory.mktemp("book")
    (root / "work").mkdir()
    generate([AID], f"sqlite:///{root / 'gradebook.db'}", root / "work", write_tiny_source(root / "source"))
    return root / "gradebook.db"


@pytest.fixture
def db_url(registered, tmp_path):
    """A fresh copy of the registered gradebook for each test."""
    shutil.copy(registered, tmp_path / "gradebook.db")
    return f"sqlite:///{tmp_path / 'gradebook.db'}"


def result(student: str, score: float = 1.0) -> NotebookResult:
    task = Task(student, AID, NB, None)
    rows = [Row(student, AID, NB, q, score, pts, "ok", "") for q, pts in questions(tiny_notebook())]
    return NotebookResult(task, rows)


def read(url: str) -> dict[str, dict]:
    """{student: {"structure": ..., "scores": {question: auto score}}}, read by nbgrader on its own connection."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        with Gradebook(url) as gb:
            book = {}
            for sub in gb.assignment_submissions(AID):
                notebooks = sorted(
                    (nb.name, sorted(g.name for g in nb.grades), sorted(c.name for c in nb.comments))
                    for nb in sub.notebooks
                )
                scores = {g.name: g.auto_score for nb in sub.notebooks for g in nb.grades}
                book[sub.student_id] = {"structure": notebooks, "scores": scores}
            return book


def test_a_submission_has_the_structure_nbgrader_gives_it(db_url):
    """Is a submission staged by the writer built like one from nbgrader's add_submission?"""
    with GradebookWriter(db_url) as writer:
        writer.save(result("alice", 1.0), more=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        with Gradebook(db_url) as gb:
            gb.add_student("bob")
            gb.add_submission(AID, "bob")
    book = read(db_url)
    assert book["alice"]["structure"] == book["bob"]["structure"]
    assert book["alice"]["structure"][0][1] == sorted(q for q, _ in questions(tiny_notebook()))
    assert set(book["alice"]["scores"].values()) == {1.0}
    assert set(book["bob"]["scores"].values()) == {None}


def test_callbacks_run_after_the_commit_that_holds_their_result(db_url):
    """Does a result's callback (its state file) wait for the batch's commit, in order?"""
    ran = []
    with GradebookWriter(db_url, batch=3, period=3600) as writer:
        writer.save(result("alice"), then=lambda: ran.append("alice"), more=True)
        writer.save(result("bob"), then=lambda: ran.append("bob"), more=True)
        assert ran == [] and read(db_url) == {}, "committed before the batch was full"
        writer.save(result("carol"), then=lambda: ran.append("carol"), more=True)
        assert ran == ["alice", "bob", "carol"]
        assert set(read(db_url)) == {"alice", "bob", "carol"}
        writer.save(result("dave"), then=lambda: ran.append("dave"), more=True)
        assert ran[-1] == "carol"
    assert ran[-1] == "dave" and "dave" in read(db_url), "leaving the writer commits the last batch"


def test_a_result_with_no_other_ready_is_committed_at_once(db_url):
    """Nothing else to save (the others still grading): is the result committed now, not held?"""
    ran = []
    with GradebookWriter(db_url, batch=100, period=3600) as writer:
        writer.save(result("alice"), then=lambda: ran.append("alice"), more=True)
        assert ran == []
        writer.save(result("bob"), then=lambda: ran.append("bob"))
        assert ran == ["alice", "bob"] and set(read(db_url)) == {"alice", "bob"}


def test_an_old_batch_is_committed_when_the_next_result_arrives(db_url):
    """In a burst, is a batch older than the period committed as the next result arrives?"""
    ran = []
    with GradebookWriter(db_url, batch=100, period=0.0) as writer:
        writer.save(result("alice"), then=lambda: ran.append("alice"), more=True)
        assert ran == ["alice"]


def test_interrupted_run_still_commits_what_was_staged(db_url):
    """Ctrl-C mid-run: are finished results committed, and their callbacks run, on the way out?"""
    ran = []
    with pytest.raises(KeyboardInterrupt), GradebookWriter(db_url, period=3600) as writer:
        writer.save(result("alice", 0.5), then=lambda: ran.append("alice"), more=True)
        raise KeyboardInterrupt
    assert ran == ["alice"]
    assert set(read(db_url)["alice"]["scores"].values()) == {0.5}


def test_a_failed_commit_runs_no_callback_and_the_writer_goes_on(db_url):
    """A commit that fails: are its results left unmarked (graded again on resume), and the next batch fine?"""
    ran = []
    with GradebookWriter(db_url, period=3600) as writer:
        writer.save(result("alice"), then=lambda: ran.append("alice"), more=True)
        writer.save(result("bob"), then=lambda: ran.append("bob"), more=True)
        writer.flush()
        writer.save(result("carol"), then=lambda: ran.append("carol"), more=True)
        writer.gb.db.add(Student(id="alice"))  # a duplicate key: the commit fails
        with pytest.raises(IntegrityError):
            writer.flush()
        assert ran == ["alice", "bob"]
        assert "carol" not in read(db_url)
        writer.save(result("carol", 0.25), then=lambda: ran.append("carol"), more=True)
    assert ran == ["alice", "bob", "carol"]
    assert set(read(db_url)["carol"]["scores"].values()) == {0.25}


def test_saving_again_overwrites_instead_of_duplicating(db_url):
    """Re-grading (a resume, --force) in later runs and within a batch: one grade per question?"""
    with GradebookWriter(db_url, period=3600) as writer:
        writer.save(result("alice", 0.0), more=True)
        writer.save(result("alice", 1.0), more=True)
    with GradebookWriter(db_url) as writer:
        assert writer.has(result("alice"))
        writer.save(result("alice", 0.5), more=True)
    book = read(db_url)
    assert list(book) == ["alice"]
    assert set(book["alice"]["scores"].values()) == {0.5}


def test_the_schema_version_is_the_one_alembic_gives():
    """Does the in-process schema version (no `alembic` subprocess) equal what alembic's command says?"""
    import subprocess

    from nbgrader.api import _temp_alembic_ini

    from autograder.nbgrader_glue import alembic_head, alembic_on_path

    alembic_on_path()
    with _temp_alembic_ini("sqlite:////tmp/unused.db") as ini:  # as nbgrader's own get_alembic_version
        heads = subprocess.check_output(["alembic", "-c", ini, "heads"], text=True)
    assert heads.split()[0] == alembic_head()
