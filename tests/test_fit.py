"""codemods._fit: lines a rewrite made too long come out as black writes them."""

from __future__ import annotations

import black
import pytest

from codemods._fit import refit

MODE = black.Mode()


def _black(code: str) -> str:
    return black.format_str(code, mode=MODE)


CASES = [
    # A read that became a getter call (django's geos/prototypes/io.py, seen in the sweep).
    (
        "class W:\n    def f(self, precision):\n        if precision != self._precision:\n"
        "            wkt_writer_set_precision(self.ptr, -1 if precision is None else precision)\n",
        "wkt_writer_set_precision",
        "get_wkt_writer_set_precision()",
    ),
    # Arguments that don't fit on one line either: one a line, with a trailing comma.
    (
        "def handler(request):\n    return render(request, template, context_dictionary, content_type, status)\n",
        "template",
        "get_template_name_lazily()",
    ),
    # A from-import that grew past the limit.
    (
        "from some.package.module import first_name, second_name, third_name_long\n",
        "third_name_long",
        "third_name_long, get_third_name_long",
    ),
    # A statement moved four columns deeper (app-factory).
    (
        "app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=all_the_methods)\n",
        "app.add_middleware",
        "def create_app():\n    app.add_middleware",
    ),
]


@pytest.mark.parametrize(("original", "old", "new"), CASES)
def test_refit_matches_black(original: str, old: str, new: str) -> None:
    assert _black(original) == original, "the case must start black-clean"
    rewritten = original.replace(old, new, 1)
    assert any(len(line) > 88 for line in rewritten.splitlines())
    fitted = refit(rewritten, original)
    assert fitted != rewritten
    assert _black(fitted) == fitted


@pytest.mark.parametrize(
    "code",
    [
        # A long line the user wrote is theirs.
        "x = call(" + ", ".join(f"argument_{i}" for i in range(12)) + ")\n",
        # A comment, a string spanning lines, a compound header, a lambda: left alone.
        "y = call(" + ", ".join(f"argument_{i}" for i in range(10)) + ")  # note\n",
        'z = call("""a\nb""", ' + ", ".join(f"argument_{i}" for i in range(10)) + ")\n",
        "if call(" + ", ".join(f"argument_{i}" for i in range(12)) + "):\n    pass\n",
        "w = call(lambda a, b: a + b, " + ", ".join(f"argument_{i}" for i in range(9)) + ")\n",
        "v = call(*args, " + ", ".join(f"argument_{i}" for i in range(11)) + ")\n",
    ],
)
def test_refit_leaves_what_it_should(code: str) -> None:
    assert refit(code, code) == code
    if "note" not in code and '"""' not in code and "if " not in code:
        assert refit(code, "") in (code, _black(code))
