#!/usr/bin/env bash
# Install everything the project needs on a Debian machine with Python 3.11:
# the system tools (bubblewrap for the grading sandbox, PostgreSQL for the server
# gradebook tests, Chromium for the tests that open the report and feedback pages in a
# browser) and the Python packages (the project, editable, with its test extras).
set -euo pipefail
cd "$(dirname "$0")"

DEBIAN_PACKAGES=(bubblewrap postgresql chromium)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "warning: please install these Debian packages: ${missing[*]} (the sandbox and some tests need them)" >&2
  fi
fi

python -m pip install --quiet -e ".[test]"
# compiled once here, as pip compiles what it installs: an editable install is not, and where
# PYTHONDONTWRITEBYTECODE is set every grading run would compile the grader again
python -m compileall -q autograder course solutions >/dev/null
# the Python environment grading kernels run in: the students' libraries only (autograder/kernel_env.py)
python -m autograder kernel-env
