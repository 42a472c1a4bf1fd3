"""Parent-death watching: the worker must not outlive the host that spawned it."""
import os
import stat
import threading
import time
from typing import Callable, Optional

OnLost = Callable[[str], None]

PARENT_POLL_SECONDS = 1.0


def watch(
    on_lost: OnLost, poll_seconds: float = PARENT_POLL_SECONDS, host_pid: Optional[int] = None,
) -> None:
    """Start daemon threads that call ``on_lost(reason)`` when the host goes away.

    * stdin: when it is a pipe or socket, EOF (or a read error) means the host
      closed it or died.
    * parent pid: checked every ``poll_seconds``; a change means we were orphaned.
      With ``host_pid`` (a worker forked from a template, whose parent is the template, not
      the host) that process is watched instead: the worker outlives its template, not its host.
    """
    if _stdin_is_pipe():
        _daemon("snakepit-lifeline-stdin", _watch_stdin, on_lost)
    if host_pid is not None:
        _daemon("snakepit-lifeline-host", _watch_host, on_lost, host_pid, poll_seconds)
        return
    parent = os.getppid()
    _daemon("snakepit-lifeline-ppid", _watch_parent, on_lost, parent, poll_seconds)


def _stdin_is_pipe() -> bool:
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _watch_stdin(on_lost: OnLost) -> None:
    try:
        while os.read(0, 65536):
            pass
        reason = "stdin closed (host gone)"
    except OSError as exc:
        reason = f"stdin read failed (host gone): {exc}"
    on_lost(reason)


def _watch_parent(on_lost: OnLost, parent: int, poll_seconds: float) -> None:
    while True:
        time.sleep(poll_seconds)
        now = os.getppid()
        if now != parent:
            on_lost(f"parent process {parent} exited (new parent {now})")
            return


def _watch_host(on_lost: OnLost, host_pid: int, poll_seconds: float) -> None:
    while True:
        time.sleep(poll_seconds)
        try:
            os.kill(host_pid, 0)
        except ProcessLookupError:
            on_lost(f"host process {host_pid} exited")
            return
        except PermissionError:
            pass  # alive, as another user: not ours, but not gone


def _daemon(name: str, target: Callable[..., None], *args: object) -> None:
    threading.Thread(target=target, args=args, name=name, daemon=True).start()
