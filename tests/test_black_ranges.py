"""Lines a rewrite wrote that black would format otherwise go through black, restricted to
their statements (``codemods/_fit.py``); and a moved statement keeps its trailing comment.

Each case is a shape of ``make sweep-packages`` (django, widened heavy-modules) that was
black-clean before the rewrite and not after it, reduced to a few lines of our own.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import black
from snapshot import run_project

from codemods._fit import refit

MODE = black.Mode()


def rewritten(tmp_path: Path, source: str, config: str = "") -> str:
    source = black.format_str(textwrap.dedent(source), mode=MODE)
    (tmp_path / "pyproject.toml").write_text(f"[tool.lazify]\n{config}")
    (tmp_path / "m.py").write_text(source)
    (result,) = [r for r in run_project(tmp_path).results if r.changed]
    assert result.error is None and result.new_text is not None, result.error
    out = result.new_text
    assert black.format_str(out, mode=MODE) == out, "black would reformat lazify's output"
    (tmp_path / "m.py").write_text(out)
    assert not [r for r in run_project(tmp_path).results if r.changed], "a second pass changed it"
    return out


def test_an_element_of_a_list_moved_into_a_getter_is_split_where_it_grew_too_long(tmp_path: Path) -> None:
    # django's urls.py: `urlpatterns = [path(...), ...]` becomes a getter, 12 columns deeper.
    (tmp_path / "views.py").write_text(
        "def path(*a, **k):\n    return a, k\n\n\nclass V:\n    @classmethod\n"
        "    def as_view(cls, **k):\n        return cls\n"
    )
    out = rewritten(
        tmp_path,
        """
        from views import V, path

        urlpatterns = [
            path(
                "",
                V.as_view(template_name="admin_doc/index.html/some/longer/path/here/x"),
                name="docroot",
            ),
            path("b/", V.as_view(), name="bookmarklets"),
        ]
        """,
        'extend-heavy-modules = ["views"]\n',
    )
    assert '                        V.as_view(\n                            template_name="admin_doc/' in out
    # The user's other element, which still fits, is as it was, only deeper.
    assert '                    path("b/", V.as_view(), name="bookmarklets"),\n' in out


def test_a_call_whose_receiver_became_a_getter_call_is_split_as_black_splits_it(tmp_path: Path) -> None:
    # django's changepassword: `UserModel` became `get_user_model_lazily()` in a split call.
    out = rewritten(
        tmp_path,
        """
        class Model:
            objects = None


        user_model = Model()


        def handle(options, username):
            u = user_model.objects.using(options["database"]).get_by_natural(
                **{user_model.USERNAME_FIELD: username, "x": 1}
            )
            return u
        """,
    )
    assert (
        "    u = (\n"
        "        get_user_model()\n"
        '        .objects.using(options["database"])\n'
        '        .get_by_natural(**{get_user_model().USERNAME_FIELD: username, "x": 1})\n'
        "    )\n"
    ) in out


def test_a_trailing_comment_moves_with_its_statement(tmp_path: Path) -> None:
    out = rewritten(
        tmp_path,
        """
        class Handler:
            def __init__(self, *a):
                pass


        handler = Handler(1, 2)  # special handling for WKB.


        def f():
            return handler
        """,
    )
    assert "                # special handling for WKB.\n                handler = Handler(1, 2)\n" in out


def test_a_call_split_to_make_room_for_its_trailing_comment_is_joined_when_the_comment_moves() -> None:
    # django's gdal prototypes: black had split the call only because of the comment after it,
    # and the comment now has a line of its own above the call, in the getter.
    other = "to_wkt = string_output(\n    lgdal.OGR_G_ExportToWkt, [c_void_p, POINTER(c_char_p)], decoding=True\n)\n"
    original = (
        "to_wkb = void_output(\n    lgdal.OGR_G_ExportToWkb, None, errcheck=True\n)  # special handling for WKB.\n"
        + other
    )
    moved = (
        "def get_to_wkb():\n"
        "    # special handling for WKB.\n"
        "    to_wkb = void_output(\n        lgdal.OGR_G_ExportToWkb, None, errcheck=True\n    )\n"
        "    return to_wkb\n"
        "\n\n" + other
    )
    assert refit(moved, original) == (
        "def get_to_wkb():\n"
        "    # special handling for WKB.\n"
        "    to_wkb = void_output(lgdal.OGR_G_ExportToWkb, None, errcheck=True)\n"
        "    return to_wkb\n"
        "\n\n" + other
    )


def test_black_never_touches_a_statement_the_rewrite_did_not_write() -> None:
    user = "x = f(\n    1\n)\n"  # black would join this one, but it is the user's
    ours = user + "y = g(\n    aaaaaaaa, bbbbbbbb\n)\n"
    out = refit(ours, user)
    assert out.startswith(user)
    assert out.endswith("y = g(aaaaaaaa, bbbbbbbb)\n")


def test_tabs_and_syntax_black_does_not_know_are_left_as_they_are() -> None:
    # Black would re-indent only its statement with spaces, beside the user's tab-indented one.
    tabbed = "if x:\n\ty = g(\n\t    aaaaaaaa, bbbbbbbb\n\t)\n\tz = 1\n"
    assert refit(tabbed, "if x:\n\tz = 1\n") == tabbed
    lazy = "lazy import numpy\ny = g(\n    aaaaaaaa, bbbbbbbb\n)\n"
    assert refit(lazy, "import numpy\n") == lazy
