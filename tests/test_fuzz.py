"""A few hundred fuzzed programs through ``transform()`` (issue 10; the full run is
``scripts/fuzz.py``). Derandomized: the same programs on every run. Each must transform without
an internal error, give output that parses and compiles, be left alone by a second pass, and
import (and run its zero-argument functions) the way the input does. See ``tests/fuzzing.py``.
"""

from __future__ import annotations

import fuzzing as F
import pytest
from hypothesis import HealthCheck, Phase, given, settings

pytestmark = pytest.mark.slow

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    # No shrinking (each example runs two transforms and two imports); a failure is minimised
    # by statement deletion within a budget instead, in the assertion message.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def runner():
    with F.Runner(timeout=5) as r:
        yield r


def check(source: str, config: str, runner: F.Runner) -> None:
    checked = F.check_program(source, config, runner)
    if checked.failures:
        first = checked.failures[0]
        small = F.minimise(source, config, first.kind, runner, budget=80)
        again = F.check_program(small, config, runner).failures
        shown = next((f for f in again if f.kind == first.kind), first)
        raise AssertionError(f"{shown.render()}\n(the generated program, before minimising:)\n{source}")


@settings(FUZZ, max_examples=100)
@given(source=F.targeted_programs())
def test_targeted_safe_fixes(source: str, runner: F.Runner) -> None:
    check(source, "safe", runner)


@settings(FUZZ, max_examples=100)
@given(source=F.targeted_programs())
def test_targeted_unsafe_fixes(source: str, runner: F.Runner) -> None:
    check(source, "unsafe", runner)


@settings(FUZZ, max_examples=40)
@given(source=F.grammar_programs())
def test_hypothesmith_grammar(source: str, runner: F.Runner) -> None:
    for config in F.CONFIGS:
        check(source, config, runner)


@settings(FUZZ, max_examples=20)
@given(source=F.node_programs())
def test_hypothesmith_node(source: str, runner: F.Runner) -> None:
    for config in F.CONFIGS:
        check(source, config, runner)


def test_the_checks_catch_a_broken_rewrite(runner: F.Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness itself: an output that no longer imports is reported, with the outcomes."""
    from lazifier.transform import FileResult

    def broken(text, settings, policy):
        return FileResult("m.py", new_text=text.replace("import hv\n", "") if "import hv\n" in text else None)

    monkeypatch.setattr(F, "run_transform", broken)
    checked = F.check_program("import hv\nv = hv.CONST\n", "safe", runner)
    assert [f.kind for f in checked.failures] == ["import regression"]
    assert checked.failures[0].outcomes["output"]["import"] == "NameError"


def test_stubs_behave_like_real_packages(runner: F.Runner) -> None:
    """A submodule that wasn't imported is not an attribute; classes built on stubs read their
    annotations; any other name exists, can be called, subclassed and used as a decorator."""
    ok = runner.run("import hpkg\n@hpkg.deco\ndef f():\n    return 1\nclass C(hpkg.Base):\n    x: int\nv = hpkg.Thing()(1)\n",
                    {"hpkg", "hpkg.sub"}, ["f"])  # fmt: skip
    assert ok == {"import": "ok", "calls": [["f", "ok:int"]]}
    assert runner.run("import hpkg\nv = hpkg.sub\n", {"hpkg", "hpkg.sub"}, [])["import"] == "AttributeError"
    assert runner.run("import hpkg.sub\nv = hpkg.sub.Thing\n", {"hpkg", "hpkg.sub"}, [])["import"] == "ok"
    missing = "from __future__ import annotations\nimport hv\nclass C(hv.Model):\n    x: Missing\n"
    assert runner.run(missing, {"hv"}, [])["import"] == "NameError"
