"""The terminal the review is drawn on and answered from: the question and its keys, paging
what doesn't fit, and the plain ``[y/N]`` fallback when questionary can't run.

:mod:`lazifier.review` decides what is asked; this module only shows and asks.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from lazifier.console import Colors
from lazifier.report import RunReport, count_changes, render_text

if TYPE_CHECKING:
    from lazifier.review import Decision

APPLY, SKIP, FILE, CODEMOD, EXPLAIN, DIFF, QUIT = (
    "apply",
    "skip",
    "file",
    "codemod",
    "explain",
    "diff",
    "quit",
)

Ask = Callable[["Decision", str], str]


# ---------------------------------------------------------------------------------------------
# Asking


CHOICES = (
    (APPLY, "a", "apply this change"),
    (SKIP, "s", "skip it"),
    (FILE, "f", "apply it and the rest in this file"),
    (CODEMOD, "c", "apply it and all the rest of {name}"),
    (EXPLAIN, "e", "explain {name}"),
    (DIFF, "d", "show the diff again"),
    (QUIT, "q", "quit: write what was applied, skip the rest"),
)
INSTRUCTION = "(a key, or the arrow keys and Enter)"
#: The rows the question may take (it names the change, and is cut short beyond that).
QUESTION_ROWS = 2
#: The rows the prompt takes: the question, one per choice, and the line the cursor is left on.
PROMPT_ROWS = QUESTION_ROWS + len(CHOICES) + 1


class Terminal:
    """The terminal the review is drawn on and answered from.

    That is stderr when it is a terminal (stdout stays for machine output). When stderr is
    redirected but stdin is a terminal, the review is drawn on stdin's own terminal, opened by
    name: the answers come from there, so that is where the questions must be, or the person
    at it sees nothing and the run looks hung while the prompt goes to a file. Only the review
    goes there; the report and the summary still go to stderr, as everywhere else. (Refusing,
    as without a terminal, would throw away a perfectly usable terminal; ``ssh`` and ``sudo``
    ask on the terminal for the same reason.)

    Long output (a decision or an explanation that does not fit above the prompt) goes through
    a pager. A pager rather than a scrolling pane inside the prompt: the prompt is questionary's
    ``select``, an inline prompt_toolkit application whose arrow keys already move between the
    choices; a pane would mean rebuilding its layout (private to questionary) and inventing
    scroll keys, and would give a view with no search. A pager runs before the prompt, not
    beside it, so the two never compete for keys or the screen: the user gets their own pager
    (``$LAZIFY_PAGER``, else ``$PAGER``, else ``less``; ``LESS=R`` when ``LESS`` is unset, as
    git sets ``FRX``), with search and its own keys, and when it quits, the screen holds the
    header, where the diff went, and the prompt naming the change: ``d`` pages it again. The
    pager gets colour exactly when the review has it (a terminal, no ``NO_COLOR``). With no
    pager (set to ``""`` or ``cat``, or not installed) the text is written as it is.
    """

    def __init__(self, stream: TextIO, colors: Colors, *, pager: bool = True, owned: bool = False) -> None:
        self.stream = stream
        self.colors = colors
        self.pager = pager
        self._owned = owned

    @classmethod
    def open(cls, color: str = "auto") -> Terminal | None:
        """The review's terminal, or ``None`` when there is none to answer from."""
        if not sys.stdin.isatty():
            return None
        if sys.stderr.isatty():
            return cls(sys.stderr, Colors.for_stream(sys.stderr, color))
        try:
            name = os.ttyname(sys.stdin.fileno())
            stream = open(name, "w", encoding=sys.stdin.encoding or "utf-8", errors="replace")
        except (OSError, AttributeError):  # AttributeError: no os.ttyname (Windows)
            return None
        return cls(stream, Colors.for_stream(stream, color), owned=True)

    def close(self) -> None:
        if self._owned:
            self.stream.close()

    def write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def size(self) -> tuple[int, int]:
        """(columns, rows)."""
        try:
            size = os.get_terminal_size(self.stream.fileno())
        except (OSError, ValueError, AttributeError):
            size = shutil.get_terminal_size()
        return max(size.columns, 20), max(size.lines, 5)

    def rows(self, text: str) -> int:
        """The screen rows ``text`` takes, long lines wrapped."""
        try:
            from prompt_toolkit.utils import get_cwidth
        except ImportError:  # pragma: no cover - comes with questionary
            get_cwidth = len

        columns = self.size()[0]
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return sum(max(1, -(-get_cwidth(_ESCAPES.sub("", line)) // columns)) for line in lines)

    def show(self, text: str, *, reserve: int = 0) -> bool:
        """Write ``text``, or page it when it doesn't fit above ``reserve`` rows. True when paged."""
        if self.rows(text) + reserve > self.size()[1] and self.page(text):
            return True
        self.write(text)
        return False

    def page(self, text: str) -> bool:
        """Show ``text`` in the pager; False when there is none or it failed."""
        argv = pager_command() if self.pager else None
        if argv is None:
            return False
        env = dict(os.environ)
        env.setdefault("LESS", "R")
        env.setdefault("LV", "-c")
        self.stream.flush()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=self.stream.fileno(), env=env)
        except OSError:
            return False
        assert proc.stdin is not None
        try:
            try:
                proc.stdin.write(text.encode(getattr(self.stream, "encoding", None) or "utf-8", "replace"))
                proc.stdin.close()
            except BrokenPipeError:  # quit before reading it all
                pass
            proc.wait()
        except KeyboardInterrupt:
            # Ctrl-C ends the review (nothing is written); the pager first, so the terminal is
            # given back as it was.
            proc.terminate()
            proc.wait()
            raise
        return proc.returncode == 0  # a pager that failed (a bad option, say) showed nothing

    def wrap_question(self, question: str) -> str:
        """``question?``, wrapped at spaces into at most QUESTION_ROWS rows with room for the
        instruction after it, or cut short (the header above has all of it)."""
        width = self.size()[0] - 3  # "? " before it, and the last column
        room = "\0" * (len(INSTRUCTION) + 1)  # the instruction follows on the last row
        lines = textwrap.wrap(
            f"{question}? {room}", width, subsequent_indent="  ", max_lines=QUESTION_ROWS, placeholder=" …"
        )
        if lines[-1].endswith(room):
            lines[-1] = lines[-1][: -len(room)].rstrip()
        else:  # cut short: make room on the last row
            lines[-1] = lines[-1][: max(width - len(room) - 2, 10)].rstrip() + "…?"
        return "\n".join(lines)

    def questionary_ask(self) -> Ask | None:
        """A questionary ``select`` on this terminal: one key per action, or the arrow keys and
        Enter. ``None`` when questionary can't be imported."""
        try:
            import questionary
            from prompt_toolkit.input import create_input
            from prompt_toolkit.output import create_output
            from questionary.prompts.common import InquirerControl
        except ImportError:
            return None

        def ask(d: Decision, question: str) -> str:
            choices = [
                questionary.Choice(label.format(name=d.name), value=value, shortcut_key=key)
                for value, key, label in CHOICES
            ]
            prompt = questionary.select(
                self.wrap_question(question),
                choices=choices,
                use_shortcuts=True,
                instruction=INSTRUCTION,
                input=create_input(sys.stdin),
                output=create_output(stdout=self.stream),
            )
            _submit_on_shortcut(prompt.application, InquirerControl)
            answer = prompt.unsafe_ask()
            if answer is None:  # pragma: no cover - unsafe_ask raises on Ctrl-C
                raise KeyboardInterrupt
            return answer

        return ask


_ESCAPES = re.compile(r"\x1b\[[0-9;]*m")


def pager_command() -> list[str] | None:
    """The pager, found as git finds one: ``$LAZIFY_PAGER``, else ``$PAGER``, else ``less``.
    ``None`` when it is set to ``""`` or ``cat`` (no pager), or isn't installed."""
    value = os.environ.get("LAZIFY_PAGER", os.environ.get("PAGER", "less")).strip()
    if value in ("", "cat"):
        return None
    try:
        argv = shlex.split(value)
    except ValueError:
        return None
    if not argv or shutil.which(argv[0]) is None:
        return None
    return argv


def _submit_on_shortcut(app, control_type: type) -> None:
    """questionary's shortcut keys only move the pointer; make one key press answer, as
    ``git add -p`` does with ``interactive.singleKey``."""
    control = None
    for window in app.layout.find_all_windows():
        if isinstance(window.content, control_type):
            control = window.content
    if control is None:  # pragma: no cover - a questionary without this structure
        return
    for i, choice in enumerate(control.choices):
        key = getattr(choice, "shortcut_key", None)
        if not key:
            continue

        def answer(event, i=i, value=choice.value) -> None:
            control.pointed_at = i
            control.is_answered = True
            event.app.exit(result=value)

        app.key_bindings.add(key, eager=True)(answer)


def confirm(
    report: RunReport, texts: dict[str, str], display: Callable[[str], str], terminal: Terminal
) -> bool:
    """The fallback when questionary can't run: show every change (paged), ask once for all."""
    listing = render_text(report, texts, display=display, colors=terminal.colors, show_diffs=True)
    terminal.show(listing, reserve=2)
    n = count_changes(c for c in report.changes if c.applied)
    files = len(report.changed_files)
    terminal.write(
        f"\nApply {n} change{'s' if n != 1 else ''} to {files} file{'s' if files != 1 else ''}? [y/N] "
    )
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")
