"""Calling conventions: how a JSON args object becomes a call to a tool.

asyncio is imported only when an async tool first runs: it costs ~25 ms of worker start-up.
"""
import inspect
import sys
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextvars import Context, copy_context
from typing import Any, Callable, Dict, List, Optional

Invoker = Callable[[Dict[str, Any]], Any]

_P = inspect.Parameter
_iscoroutine = inspect.iscoroutine
_TASK_TAKES_CONTEXT = sys.version_info >= (3, 11)


def make_invoker(fn: Callable[..., Any]) -> Invoker:
    """Return ``call(args_dict)`` for ``fn``, with the convention decided once.

    A tool whose only parameter is named ``params`` receives the whole dict (by keyword when
    it is keyword-only); any other tool receives the dict as keyword arguments. A coroutine it
    returns (an async tool) runs to completion on the shared event loop.
    """
    param = _sole_params_parameter(fn)
    if param is None:
        bind: Invoker = lambda args: fn(**args)
    elif param.kind is _P.KEYWORD_ONLY:
        bind = lambda args: fn(params=args)
    else:
        bind = fn

    def call(args: Dict[str, Any]) -> Any:
        result = bind(args)
        return run_coroutine(result) if _iscoroutine(result) else result

    return call


def describe_parameters(fn: Callable[..., Any]) -> List[Dict[str, Any]]:
    """``[{"name", "kind", "required", "annotation"}]`` from the signature (self excluded)."""
    sig = _signature(fn)
    if sig is None:
        return []
    out = []
    for p in sig.parameters.values():
        variadic = p.kind in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD)
        out.append(
            {
                "name": p.name,
                "kind": p.kind.name,
                "required": p.default is _P.empty and not variadic,
                "annotation": None if p.annotation is _P.empty else _annotation_text(p.annotation),
            }
        )
    return out


def _sole_params_parameter(fn: Callable[..., Any]) -> Optional[inspect.Parameter]:
    sig = _signature(fn)
    if sig is None or len(sig.parameters) != 1:
        return None
    (param,) = sig.parameters.values()
    if param.name != "params" or param.kind in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD):
        return None
    return param


def _signature(fn: Callable[..., Any]) -> Optional[inspect.Signature]:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _annotation_text(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    return inspect.formatannotation(annotation)


# -- async tools ------------------------------------------------------------------

_loop: Optional[Any] = None  # asyncio.AbstractEventLoop
_loop_thread: Optional[threading.Thread] = None
_loop_lock = threading.Lock()


# How often a cancellable run_coroutine looks at its cancel flag.
CANCEL_POLL_S = 0.05


def run_coroutine(coro: Any, cancel: Optional[threading.Event] = None) -> Any:
    """Run ``coro`` on the worker's shared event loop thread and return its result.

    All async tools share one loop, so resources made in one call (clients,
    sessions) can be reused by the next. The coroutine runs in a copy of the
    caller's contextvars context, so ``session_context`` works inside it.
    When ``cancel`` is set while it runs, its task is cancelled (CancelledError is
    raised inside it, so its ``finally`` runs) and this raises
    ``concurrent.futures.CancelledError``.
    """
    loop = _loop if _loop is not None else _start_loop()
    if threading.current_thread() is _loop_thread:
        coro.close()
        raise RuntimeError("run_coroutine() called from the event loop thread; await instead")
    outcome: Future = Future()
    tasks: List[Any] = []
    loop.call_soon_threadsafe(_start_task, loop, coro, copy_context(), outcome, tasks)
    if cancel is None:
        return outcome.result()
    while True:
        try:
            return outcome.result(timeout=CANCEL_POLL_S)
        except FutureTimeout:
            if cancel.is_set():
                loop.call_soon_threadsafe(lambda: [task.cancel() for task in tasks])
                return outcome.result()


def _start_task(loop: Any, coro: Any, ctx: Context, outcome: Future, tasks: Optional[List[Any]] = None) -> None:
    """On the loop thread: run ``coro`` as a task in ``ctx``; report to ``outcome``."""
    try:
        if _TASK_TAKES_CONTEXT:
            task = loop.create_task(coro, context=ctx)
        else:  # 3.9/3.10: a task copies the context it is created in
            task = ctx.run(loop.create_task, coro)
    except BaseException as exc:  # e.g. TypeError: not a coroutine
        getattr(coro, "close", lambda: None)()
        outcome.set_exception(exc)
        return
    if tasks is not None:
        tasks.append(task)
    task.add_done_callback(lambda done: _settle(done, outcome))


def _settle(task: Any, outcome: Future) -> None:
    if task.cancelled():
        outcome.cancel()
        return
    exc = task.exception()
    if exc is not None:
        outcome.set_exception(exc)
    else:
        outcome.set_result(task.result())


def _start_loop() -> Any:
    import asyncio

    global _loop, _loop_thread
    with _loop_lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="snakepit-asyncio", daemon=True
            )
            thread.start()
            _loop_thread = thread
            _loop = loop
        return _loop
