"""Tests run notebooks (nbval, nbgrader validate, releases): their own "check this notebook" cell
(`course.check.check_notebook`) must stay quiet there, as it does in the answer keys."""

import os

from course.check import RUNNING

os.environ[RUNNING] = "1"
