"""``lazify doctor --sandbox serverless``: the import under the platform's constraints.

Each fixture is a small real project that does one thing the platform refuses; each is imported
by real probe processes, once without the sandbox (it passes) and once in it (it fails with the
platform's error, named with its line and the fix). Nothing of the user's code is mocked."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from lazifier.cli import main

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "app"
SCHEMA = json.loads((ROOT / "lazifier" / "doctor" / "schema.json").read_text())

pytestmark = pytest.mark.slow


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "proj"
    (root / "svc").mkdir(parents=True)
    (root / "svc" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text("[project]\nname = 'sbx'\nversion = '0'\n")
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def doctor(capsys, root: Path, entry: str, *args: str) -> tuple[int, dict]:
    code = main(["doctor", "--python", sys.executable, "--runs", "1", "--timeout", "300",
                 "--project", str(root), "--output-format", "json", *args, entry])  # fmt: skip
    captured = capsys.readouterr()
    assert captured.out, captured.err
    doc = json.loads(captured.out)
    jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    return code, doc


def both(capsys, root: Path, entry: str, *sandbox_args: str) -> tuple[dict, dict]:
    """The entry's report without the sandbox (it must pass) and in it (it must fail)."""
    code, plain = doctor(capsys, root, entry)
    assert code == 0 and plain["entries"][0]["error"] is None, plain["entries"][0]["error"]
    assert plain["sandbox"] is None and "sandbox" not in plain["entries"][0]
    code, boxed = doctor(capsys, root, entry, "--sandbox", "serverless", *sandbox_args)
    assert code == 1 and boxed["exit_code"] == 1
    assert any("in the AWS Lambda sandbox" in r for r in boxed["verdict"]["reasons"])
    return plain["entries"][0], boxed["entries"][0]


def test_a_write_into_the_code_directory_fails_read_only(tmp_path, capsys):
    root = project(tmp_path, {"svc/writer.py": "import os\n\nLOG = open('service.log', 'a')\n"})
    _, e = both(capsys, root, "svc.writer")
    assert e["error"]["type"] == "builtins.OSError"
    assert e["error"]["message"] == "[Errno 30] Read-only file system: 'service.log'"
    assert e["error"]["statement"] == {"file": "svc/writer.py", "line": 3}
    (refused,) = e["sandbox"]["refused"]
    assert refused["kind"] == "open" and refused["statement"] == {"file": "svc/writer.py", "line": 3}
    assert "Read-only file system" in refused["detail"]["refused"]
    assert refused["fix"]["codemod"] == "LZY002" and "LOG = open(" in refused["fix"]["message"]
    assert e["sandbox"]["cause"] == "refused" and e["files_left"] == []
    # The traceback ends at the project's call, not in the probe's audit hook.
    assert "probe.py" not in (e["error"]["raised_in"] or {}).get("file", "")


def test_a_new_directory_fails_read_only(tmp_path, capsys):
    root = project(tmp_path, {"svc/dirs.py": "import os\n\nos.makedirs('uploads/thumbs', exist_ok=True)\n"})
    _, e = both(capsys, root, "svc.dirs")
    assert e["error"]["type"] == "builtins.OSError"
    assert e["error"]["message"] == "[Errno 30] Read-only file system: 'uploads'"
    assert e["error"]["statement"] == {"file": "svc/dirs.py", "line": 3}
    assert [r["kind"] for r in e["sandbox"]["refused"]] == ["mkdir"]


def test_a_connection_fails_as_an_unreachable_host(tmp_path, capsys, monkeypatch):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    monkeypatch.setenv("SBX_PORT", str(listener.getsockname()[1]))
    root = project(tmp_path, {"svc/net.py": (
        "import os\nimport socket\n\n"
        "PORT = int(os.environ.get('SBX_PORT', '9'))\n"
        "link = socket.create_connection(('127.0.0.1', PORT), timeout=2)\n"
    )})  # fmt: skip
    # The port is not in the sandbox's environment: give it in the env file, so that only the
    # network makes the difference.
    env_file = tmp_path / "prod.env"
    env_file.write_text(f"# production\nexport SBX_PORT={listener.getsockname()[1]}\n")
    try:
        _, e = both(capsys, root, "svc.net", "--env-file", str(env_file))
        assert e["error"]["type"] == "builtins.OSError"
        assert e["error"]["message"] == "[Errno 113] No route to host"
        assert e["error"]["statement"] == {"file": "svc/net.py", "line": 5}
        (refused,) = e["sandbox"]["refused"]
        assert refused["kind"] == "connect" and "No route to host" in refused["detail"]["refused"]
        code, doc = doctor(capsys, root, "svc.net", "--sandbox", "serverless", "--env-file", str(env_file),
                           "--allow-network")  # fmt: skip
        assert (
            code == 0
            and doc["entries"][0]["sandbox"]["ok"]
            and doc["sandbox"]["network"].startswith("allowed")
        )
    finally:
        listener.close()


def test_a_variable_missing_from_the_platform_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SBX_API_KEY", "from-my-shell")
    root = project(tmp_path, {"svc/settings.py": "import os\n\nAPI_KEY = os.environ['SBX_API_KEY']\n"})
    _, e = both(capsys, root, "svc.settings")
    assert e["error"]["type"] == "builtins.KeyError" and e["error"]["message"] == "'SBX_API_KEY'"
    assert e["sandbox"]["cause"] == "environment" and e["sandbox"]["needed_variables"] == ["SBX_API_KEY"]
    assert e["error"]["statement"] == {"file": "svc/settings.py", "line": 3}
    env_file = tmp_path / ".env.production"
    env_file.write_text('SBX_API_KEY="from the function\'s settings"\n')
    code, doc = doctor(capsys, root, "svc.settings", "--sandbox", "serverless", "--env-file", str(env_file))
    assert code == 0 and doc["sandbox"]["env_file_variables"] == ["SBX_API_KEY"]


def test_the_platform_variables_and_nothing_else(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SBX_SECRET", "local only")
    root = project(tmp_path, {"svc/env.py": (
        "import json, os, tempfile\n\n"
        "with open(os.path.join(tempfile.gettempdir(), 'env.json'), 'w') as f:\n"
        "    json.dump(dict(os.environ), f)\n"
        "with open('/tmp/lazify-sandbox-test-' + str(os.getpid()), 'w') as f:\n"
        "    f.write('on the platform /tmp is writable')\n"
        "os.remove(f.name)\n"
        "assert os.environ['VERCEL'] == '1' and 'SBX_SECRET' not in os.environ\n"
    )})  # fmt: skip
    code, doc = doctor(capsys, root, "svc.env", "--sandbox", "serverless", "--platform", "vercel")
    assert code == 0, doc["entries"][0]["error"]
    assert doc["sandbox"]["platform"] == "vercel" and doc["sandbox"]["init_limit_seconds"] == 300
    assert "vercel.com/docs/functions/limitations" in doc["sandbox"]["init_limit_source"]


def test_exceeding_the_init_limit(tmp_path, capsys):
    root = project(tmp_path, {"svc/slow.py": "import time\n\nx = 1\ntime.sleep(4)\n"})
    _, e = both(capsys, root, "svc.slow", "--init-limit", "1s")
    assert e["error"]["type"] == "init-limit-exceeded" and e["sandbox"]["cause"] == "init-limit"
    assert e["error"]["statement"] == {"file": "svc/slow.py", "line": 4}
    assert e["timing"]["import"]["median"] < 3


def test_the_code_directory_stays_readable(tmp_path, capsys):
    """Reading the deployed files works, and so does a SQLite database shipped with the code
    (opened read-only: a write to it fails, as on the platform)."""
    root = project(tmp_path, {"svc/reads.py": (
        "import json, sqlite3\n\n"
        "CONFIG = json.load(open('config.json'))\n"
        "db = sqlite3.connect('seed.db')\n"
        "COUNT = db.execute('select count(*) from t').fetchone()[0]\n"
        "try:\n"
        "    db.execute('insert into t values (2)')\n"
        "    WRITABLE = True\n"
        "except sqlite3.OperationalError:\n"
        "    WRITABLE = False\n"
        "assert COUNT == 1\n"
    )})  # fmt: skip
    (root / "config.json").write_text('{"a": 1}')
    with sqlite3.connect(root / "seed.db") as conn:
        conn.execute("create table t (x)")
        conn.execute("insert into t values (1)")
    conn.close()
    code, doc = doctor(capsys, root, "svc.reads", "--sandbox", "serverless")
    assert code == 0, doc["entries"][0]["error"]
    assert doc["entries"][0]["sandbox"]["ok"]


def test_the_example_app_fails_on_its_sqlite_file_until_lazify_apply(tmp_path, capsys):
    app = tmp_path / "app"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns("__pycache__", "*.db", ".lazify_cache"))
    code, doc = doctor(capsys, app, "api/index.py", "--sandbox", "serverless")
    (e,) = doc["entries"]
    assert code == 1 and doc["sandbox"]["platform"] == "vercel"  # the app has a vercel.json
    assert e["error"]["type"] == "sqlite3.OperationalError"
    assert e["error"]["message"] == "unable to open database file"
    assert e["error"]["statement"] == {"file": "src/middleware/security.py", "line": 87}
    assert e["error"]["fix"]["codemod"] == "LZY002"
    sqlite = [r for r in e["sandbox"]["refused"] if r["kind"] == "sqlite"]
    assert (
        sqlite and sqlite[0]["detail"]["database"] == "audit.db" and sqlite[0]["fix"]["codemod"] == "LZY002"
    )
    assert not any(m["module"].startswith("src.") for m in e["missing_imports"])
    applied = subprocess.run([sys.executable, "-m", "lazifier", "apply", "--yes", "-q", str(app)],
                             capture_output=True, text=True)  # fmt: skip
    assert applied.returncode in (0, 1), applied.stderr
    code, doc = doctor(capsys, app, "api/index.py", "--sandbox", "serverless")
    assert code == 0, doc["verdict"]
    assert doc["entries"][0]["sandbox"] == {"ok": True, "cause": None, "refused": [], "needed_variables": [],
                                            "unset_variables": ["ADMIN_API_KEY", "CORS_ORIGINS", "PRODUCTION_DOMAIN"]}  # fmt: skip


def test_the_text_report_names_the_line_and_the_fix(tmp_path, capsys):
    root = project(tmp_path, {"svc/db.py": "import sqlite3\n\nconn = sqlite3.connect('app.db')\n"})
    code = main(["doctor", "--python", sys.executable, "--runs", "1", "--project", str(root),
                 "--sandbox", "serverless", "svc.db"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert "Sandbox: AWS Lambda, simulated in the probe" in out and "init limit 10.00 s" in out
    assert "Sandbox (AWS Lambda): the import FAILS, through an operation the platform refuses" in out
    assert (
        "✗ refused: sqlite3.connect('app.db') (sqlite3.OperationalError: unable to open database file)  at svc/db.py:3"
        in out
    )
    assert "fix: LZY002 lazy-singletons (safe)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sandbox", "serverless", "--env-file", "nope.env"], "--env-file nope.env: no such file"),
        (["--env-file", "x.env"], "--env-file: only with --sandbox serverless"),
        (
            ["--allow-network", "--platform", "lambda"],
            "--platform, --allow-network: only with --sandbox serverless",
        ),
        (["--sandbox", "serverless", "--init-limit", "soon"], "--init-limit: 'soon' is not a duration"),
    ],
)
def test_bad_sandbox_options_are_usage_errors(tmp_path, capsys, monkeypatch, args, message):
    root = project(tmp_path, {"svc/ok.py": "x = 1\n"})
    monkeypatch.chdir(tmp_path)
    assert main(["doctor", "--python", sys.executable, "--project", str(root), *args, "svc.ok"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_bad_env_file_line(tmp_path, capsys):
    root = project(tmp_path, {"svc/ok.py": "x = 1\n"})
    bad = tmp_path / "bad.env"
    bad.write_text("A=1\nthis is not a variable\n")
    assert main(["doctor", "--python", sys.executable, "--project", str(root), "--sandbox", "serverless",
                 "--env-file", str(bad), "svc.ok"]) == 2  # fmt: skip
    assert f"--env-file {bad}:2: not a KEY=VALUE line" in capsys.readouterr().err


@pytest.mark.parametrize("version", ["3.10.13", "3.11.7", "3.12.1", "3.13.0"])
def test_the_sandboxed_probe_on_each_python(tmp_path, version):
    """The refusals and the init limit are the probe's own (standard library only): each
    interpreter runs it."""
    python = Path(f"/root/.pyenv/versions/{version}/bin/python")
    if not python.exists():
        pytest.skip(f"Python {version} is not installed at {python}")
    root = project(tmp_path, {"svc/main.py": (
        "import os, sqlite3, time\n"
        "try:\n    sqlite3.connect('x.db')\nexcept sqlite3.OperationalError:\n    pass\n"
        "try:\n    os.mkdir('d')\nexcept OSError:\n    pass\n"
        "time.sleep(5)\n"
    )})  # fmt: skip
    (tmp_path / "tmp").mkdir()
    out = tmp_path / "out.json"
    probe = ROOT / "lazifier" / "doctor" / "probe.py"
    proc = subprocess.run([str(python), "-B", str(probe), str(out), str(root), "svc.main", "", "0", "lambda", "1.0",
                           "0", str(tmp_path / "tmp")], cwd=root, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["error"]["type"] == "__main__.InitLimitExceeded"
    assert data["error"]["frames"][-1][1:] == [10, "<module>", "svc/main.py"]
    assert [(e[0], e[1]["refused"].split(":")[0]) for e in data["effects"]] == [
        ("sqlite", "sqlite3.OperationalError"),
        ("mkdir", "OSError"),
    ]
