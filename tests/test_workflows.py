"""Lint the GitHub Actions workflows with actionlint (installed by requirements-dev.txt)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_workflows_pass_actionlint():
    # actionlint lies next to the Python that runs the tests (the virtual environment's bin folder).
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    assert actionlint, "actionlint is missing: pip install -r requirements-dev.txt"
    workflows = sorted(str(path) for path in (ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows, "no workflow files found"
    result = subprocess.run([actionlint, *workflows], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
