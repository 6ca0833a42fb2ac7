"""The live progress of a session on stderr: a Rich bar on a terminal, plain lines otherwise."""

from __future__ import annotations

from typing import Any, Protocol

from .._sessions import SyncSessionInfo
from ._render import done_share, progress_line, progress_status
from ._terminal import Terminal

__all__ = ["ProgressDisplay", "progress_display"]

_STEP = 25  # a plain line per quarter when the output is not a terminal


class ProgressDisplay(Protocol):
    def show(self, info: SyncSessionInfo) -> None: ...

    def close(self) -> None: ...


def progress_display(term: Terminal) -> ProgressDisplay:
    """Rich's bar when Rich is on and stderr is a terminal, else plain lines."""
    if term.rich and term.stderr.isatty():
        return RichProgress(term)
    return PlainProgress(term)


def _started(info: SyncSessionInfo) -> bool:
    # Before the worker counts the instances, a session reads 0/0 pending: nothing to show.
    return info.total_instances > 0 or info.is_terminal


class PlainProgress:
    """One line redrawn in place on a terminal; on a pipe, a line per quarter and the last."""

    def __init__(self, term: Terminal) -> None:
        self.term = term
        self.live = term.stderr.isatty()
        self.last_step = -1
        self.shown = False

    def show(self, info: SyncSessionInfo) -> None:
        if not _started(info):
            return
        self.shown = True
        out = self.term.stderr
        step = int(done_share(info) // _STEP)
        if self.live:
            # The one control character the CLI writes itself: redraw the line in place.
            out.write("\r")
            self.term.write(out, [progress_line(info, self.term.speech.texts)], end="")
        elif step != self.last_step or info.is_terminal:
            self.term.write(out, [progress_line(info, self.term.speech.texts)])
            self.last_step = step

    def close(self) -> None:
        if self.live and self.shown:
            self.term.stderr.write("\n")


class RichProgress:
    """Rich's progress bar: done/total, the counters and the status."""

    def __init__(self, term: Terminal, console: Any = None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.term = term
        self.progress = Progress(
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}", markup=False),
            console=console or term.console(term.stderr),
        )
        self.task: Any = None

    def show(self, info: SyncSessionInfo) -> None:
        if not _started(info):
            return
        description = self.term.clean(progress_status(info, self.term.speech.texts), mask=True)
        done = round(done_share(info) * info.total_instances / 100)
        if self.task is None:
            self.progress.start()
            self.task = self.progress.add_task(description, total=info.total_instances)
        self.progress.update(self.task, completed=done, description=description)

    def close(self) -> None:
        if self.task is not None:
            self.progress.refresh()
            self.progress.stop()
