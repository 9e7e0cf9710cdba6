"""The workflows pass actionlint (installed by requirements-dev.txt) and run exactly the README's test command;
the README's site command builds what CI checks; the citation gives the series' address."""

import re
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


def readme_test_command() -> str:
    """The README's second command: the one that installs the test requirements and runs pytest."""
    lines = [line.strip() for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()]
    commands = [line for line in lines if line.startswith("python3 -m venv .venv") and "pytest" in line]
    assert len(commands) == 1, f"the README should give exactly one test command, found {commands}"
    return commands[0]


def test_ci_and_the_workflow_run_exactly_the_readmes_test_command():
    command = readme_test_command()
    ci_script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert command in ci_script, f".ci/run does not run the README's test command {command!r}"
    workflow = (ROOT / ".github" / "workflows" / "tests.yml").read_text(encoding="utf-8")
    assert f"run: {command}" in workflow, f"the CPU job does not run the README's test command {command!r}"


def test_the_citation_names_the_series_address_of_the_setup_cell():
    setup_cell = (ROOT / "scripts" / "setup_cell.py").read_text(encoding="utf-8")
    series = re.search(r'"MDN_TUTORIAL_REPOSITORY", "([^"]+)"', setup_cell).group(1)  # the address's one place
    citation = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert f'repository-code: "{series}"' in citation, f"CITATION.cff should give the series' address {series}"


def test_the_readme_builds_the_site_that_ci_checks():
    lines = [line.strip() for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()]
    commands = [line for line in lines if line.startswith("python3 -m venv .venv") and "build_site.py" in line]
    assert len(commands) == 1, f"the README should give exactly one command that builds the site, found {commands}"
    assert "-r requirements-site.txt" in commands[0] and "--open" in commands[0]
    ci_script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -r requirements-site.txt" in ci_script and "scripts/check_site.py" in ci_script
    assert "pytest -n 0 site/tests" in ci_script, ".ci/run must show that the check fails on a broken site"


def test_the_site_requirements_are_pinned():
    lines = (ROOT / "requirements-site.txt").read_text(encoding="utf-8").splitlines()
    requirements = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert requirements and all("==" in line for line in requirements), requirements
