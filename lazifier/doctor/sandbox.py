"""``lazify doctor --sandbox serverless``: the platform's constraints for the probe's import.

The constraints themselves are imposed inside the probe (``probe.py``: its audit hook refuses
what the platform refuses, with the platform's error); this module holds what the platforms
are (their init limit and their own environment variables, with where each figure is stated),
reads ``--env-file``, and builds the reduced environment a run gets.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from lazifier.doctor.runner import DoctorError

#: The platforms: the init limit (what bounds importing the entry on a cold start), where that
#: figure is stated, and the variables the platform itself sets in a function's environment.
#: Values that name the function or the code are filled in per run (``{name}``, ``{root}``,
#: ``{handler}``; the probe sets ``AWS_EXECUTION_ENV``'s version from its interpreter).
PLATFORMS: dict[str, dict] = {
    "lambda": {
        "name": "AWS Lambda",
        "init_limit": 10.0,
        "init_limit_source": "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html "
        "(the Init phase is limited to 10 seconds, for on-demand functions; checked 2026-12)",
        "filesystem_source": "https://docs.aws.amazon.com/lambda/latest/dg/configuration-ephemeral-storage.html "
        "(only /tmp is writable; the code in LAMBDA_TASK_ROOT is read-only)",
        "env_source": "https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime",
        "env": {
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": "{root}",
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "_HANDLER": "{handler}",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3",
            "AWS_LAMBDA_FUNCTION_NAME": "{name}",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]lazifydoctor",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
        },
    },
    "vercel": {
        "name": "Vercel Functions (Python)",
        # Vercel states no limit of its own for the import: it runs within the first request,
        # which the function's maximum duration bounds (300 s by default on every plan).
        "init_limit": 300.0,
        "init_limit_source": "https://vercel.com/docs/functions/limitations (maximum duration: 300 s by "
        "default on every plan; no separate limit for the cold start is documented, the import "
        "runs within the first invocation; checked 2026-12)",
        "filesystem_source": "https://vercel.com/kb/guide/how-can-i-use-files-in-serverless-functions "
        "(the deployment is read-only; /tmp is writable scratch space)",
        "env_source": "https://vercel.com/docs/environment-variables/system-environment-variables",
        "env": {
            "VERCEL": "1",
            "VERCEL_ENV": "production",
            "VERCEL_URL": "{name}.vercel.app",
            "VERCEL_REGION": "iad1",
        },
    },
}

#: Taken from the environment doctor runs in; everything else is dropped.
BASE_VARIABLES = ("PATH", "HOME", "LANG")


@dataclass
class Sandbox:
    platform: str
    init_limit: float
    init_limit_source: str
    allow_network: bool = False
    env_file: str | None = None
    #: From --env-file, in order.
    env_file_values: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return PLATFORMS[self.platform]["name"]

    def environment(self, base, code_root: Path, name: str, handler: str) -> dict[str, str]:
        """The run's environment: the minimal base, the platform's own variables, then the env
        file (which wins, as the function's configured variables do)."""
        env = {k: base[k] for k in BASE_VARIABLES if k in base}
        values = {"root": str(code_root), "name": name, "handler": handler}
        for key, value in PLATFORMS[self.platform]["env"].items():
            env[key] = value.format(**values) if "{" in value else value
        env.update(self.env_file_values)
        return env

    def json(self) -> dict:
        p = PLATFORMS[self.platform]
        return {
            "mode": "serverless",
            "platform": self.platform,
            "title": p["name"],
            "init_limit_seconds": self.init_limit,
            "init_limit_source": self.init_limit_source,
            "network": "allowed (--allow-network)" if self.allow_network else "refused (EHOSTUNREACH)",
            "writable": ["$TMPDIR (the run's own)", "/tmp"],
            "env_file": self.env_file,
            "env_file_variables": sorted(self.env_file_values),
            "base_variables": list(BASE_VARIABLES),
            "platform_variables": sorted(p["env"]),
            "sources": [p["init_limit_source"], p["filesystem_source"], p["env_source"]],
        }


_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def read_env_file(path: str) -> dict[str, str]:
    """A ``.env``-style file: ``KEY=VALUE`` lines (``export`` allowed), ``#`` comments, values
    optionally quoted (double quotes take ``\\n`` escapes); no interpolation."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DoctorError(f"--env-file {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DoctorError(f"--env-file {path}: can't read it: {e}") from None
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise DoctorError(f"--env-file {path}:{n}: not a KEY=VALUE line: {line.strip()[:60]!r}")
        key, value = m.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"')
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        out[key] = value
    return out


def make_sandbox(
    mode: str | None,
    platform: str | None,
    env_file: str | None,
    allow_network: bool,
    init_limit: float | None,
) -> Sandbox | None:
    """The sandbox the options ask for, or None; a DoctorError for options that need one."""
    if mode is None:
        given = [
            flag
            for flag, value in (("--platform", platform), ("--env-file", env_file),
                                ("--allow-network", allow_network), ("--init-limit", init_limit))
            if value
        ]  # fmt: skip
        if given:
            raise DoctorError(f"{', '.join(given)}: only with --sandbox serverless")
        return None
    platform = platform or "lambda"
    p = PLATFORMS[platform]
    values = read_env_file(env_file) if env_file else {}
    if init_limit is not None:
        limit, source = init_limit, "--init-limit"
    else:
        limit, source = p["init_limit"], p["init_limit_source"]
    return Sandbox(platform, limit, source, allow_network, env_file and os.fspath(env_file), values)
