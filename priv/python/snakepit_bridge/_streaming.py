"""Streaming tools: how ExecuteStream turns a tool into serialized StreamChunk messages.

StreamChunk has the field layout of ExecuteReply (``data`` = 1, ``error`` = 2), so the
codec's replies are valid chunks as they are; ``final`` (3) and ``cancelled`` (4) are
appended as raw varint fields (protobuf merges concatenated messages).

Three styles of streaming tool:

* ``"gen"``: a generator function (or a tool that returns a generator object): each yielded
  value is a chunk, its ``return`` value the final chunk's data;
* ``"agen"``: an async generator function, iterated on the shared event loop;
* ``"send"``: a function with a parameter named ``stream``, run in its own thread, that
  calls ``stream.send(value)`` (which blocks while SEND_QUEUE_SIZE chunks wait to be
  sent); its return value is the final chunk's data.
"""
import inspect
import logging
import queue
import threading
import traceback
from concurrent.futures import CancelledError as FutureCancelled
from contextvars import Context
from typing import Any, Callable, Dict, Iterator, Optional

from ._codec import exception_reply, result_reply
from ._invoke import Invoker, run_coroutine
from ._session import current_session
from ._stream import _DONE, _FAILED, _ITEM, POLL_SECONDS, Stream

log = logging.getLogger("snakepit_bridge")


FINAL = b"\x18\x01"  # final = true
FINAL_CANCELLED = b"\x18\x01\x20\x01"  # final = true, cancelled = true
FRAMING_SLACK = len(FINAL)  # room kept under the limit for the final flag
_ERROR_TAG = 0x12  # first byte of a reply carrying ErrorInfo (field 2)



def stream_style(fn: Callable[..., Any]) -> str:
    """``"agen"``, ``"gen"`` or ``"send"``; ``"call"`` when only the result tells."""
    if inspect.isasyncgenfunction(fn):
        return "agen"
    if inspect.isgeneratorfunction(fn):
        return "gen"
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return "call"
    return "send" if "stream" in params else "call"


def iterate(
    style: str,
    tool: str,
    invoker: Invoker,
    args: Dict[str, Any],
    ctx: Context,
    cancel: threading.Event,
    grpc_context: Any,
    limit: int,
) -> Iterator[bytes]:
    """Serialized StreamChunks for one call; the tool runs in ``ctx`` (its session)."""
    chunk_limit = limit - FRAMING_SLACK
    if style == "send":
        yield from _iterate_send(tool, invoker, args, ctx, cancel, grpc_context, limit)
        return
    try:
        produced = ctx.run(invoker, args)
    except BaseException as exc:
        yield exception_reply(exc, limit)
        return
    if inspect.isasyncgen(produced):
        yield from _iterate_agen(tool, produced, ctx, cancel, grpc_context, limit)
    elif inspect.isgenerator(produced):
        yield from _iterate_gen(tool, produced, ctx, cancel, grpc_context, limit)
    else:  # a supports_streaming tool that returned a plain value: just the final chunk
        yield _final(tool, produced, chunk_limit, ctx)


def _iterate_gen(tool: str, gen: Any, ctx: Context, cancel: threading.Event,
                 grpc_context: Any, limit: int) -> Iterator[bytes]:
    chunk_limit = limit - FRAMING_SLACK
    run = ctx.run
    try:
        while True:
            if cancel.is_set():
                yield from _cancelled(lambda: _quietly(run, gen.close), grpc_context)
                return
            try:
                value = run(next, gen)
            except StopIteration as stop:
                yield _final(tool, stop.value, chunk_limit, ctx)
                return
            except BaseException as exc:
                yield exception_reply(exc, limit)
                return
            chunk = result_reply(tool, value, chunk_limit, ctx.get(current_session), by_reference=False)
            yield chunk
            if chunk[0] == _ERROR_TAG:  # not serialisable, or too large: the stream ends
                return
    finally:
        _quietly(run, gen.close)  # no-op when it already ended; runs its `finally` otherwise


async def _anext(agen: Any) -> Any:
    try:
        return False, await agen.__anext__()
    except StopAsyncIteration:
        return True, None


async def _aclose(agen: Any) -> None:
    await agen.aclose()


def _iterate_agen(tool: str, agen: Any, ctx: Context, cancel: threading.Event,
                  grpc_context: Any, limit: int) -> Iterator[bytes]:
    chunk_limit = limit - FRAMING_SLACK
    run = ctx.run
    closed = False
    try:
        while True:
            if cancel.is_set():
                closed = True
                yield from _cancelled(lambda: _quietly(run, run_coroutine, _aclose(agen)), grpc_context)
                return
            try:
                # Cancellable: a cancel interrupts the step (CancelledError inside the generator).
                done, value = run(run_coroutine, _anext(agen), cancel)
            except FutureCancelled:
                closed = True
                yield from _cancelled(lambda: _quietly(run, run_coroutine, _aclose(agen)), grpc_context)
                return
            except BaseException as exc:
                closed = True
                yield exception_reply(exc, limit)
                return
            if done:
                closed = True
                yield FINAL
                return
            chunk = result_reply(tool, value, chunk_limit, ctx.get(current_session), by_reference=False)
            yield chunk
            if chunk[0] == _ERROR_TAG:
                return
    finally:
        if not closed:
            _quietly(run, run_coroutine, _aclose(agen))


def _iterate_send(tool: str, invoker: Invoker, args: Dict[str, Any], ctx: Context,
                  cancel: threading.Event, grpc_context: Any, limit: int) -> Iterator[bytes]:
    chunk_limit = limit - FRAMING_SLACK
    stream = Stream(cancel)
    call_args = dict(args)
    call_args["stream"] = stream

    def produce() -> None:
        try:
            outcome: Any = (_DONE, ctx.run(invoker, call_args))
        except BaseException as exc:  # StreamCancelled included
            outcome = (_FAILED, exc)
        stream._put(outcome)  # dropped when cancelled: nobody reads any more

    thread = threading.Thread(target=produce, name=f"snakepit-stream-{tool}", daemon=True)
    thread.start()
    get = stream._queue.get
    try:
        while True:
            if cancel.is_set():
                # stream.send raises StreamCancelled in the tool
                yield from _cancelled(thread.join, grpc_context)
                return
            try:
                kind, value = get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if kind == _ITEM:
                chunk = result_reply(tool, value, chunk_limit, ctx.get(current_session), by_reference=False)
                yield chunk
                if chunk[0] == _ERROR_TAG:
                    return
            elif kind == _DONE:
                yield _final(tool, value, chunk_limit, ctx)
                return
            else:
                yield exception_reply(value, limit)
                return
    finally:
        cancel.set()  # the stream ended (error, or the caller went away): stop the tool
        thread.join()


def _cancelled(stop_tool: Callable[[], Any], grpc_context: Any) -> Iterator[bytes]:
    """A cancelled stream: the tool is stopped (its `finally` runs), then the caller, if it is
    still there (the host asked), learns the stream ended cancelled."""
    stop_tool()
    if _caller_active(grpc_context):
        yield FINAL_CANCELLED


def _final(tool: str, value: Any, chunk_limit: int, ctx: Context) -> bytes:
    if value is None:
        return FINAL
    chunk = result_reply(tool, value, chunk_limit, ctx.get(current_session))
    return chunk if chunk[0] == _ERROR_TAG else chunk + FINAL


def _quietly(fn: Callable[..., Any], *args: Any) -> None:
    """Close a tool's generator; an exception from its `finally` cannot be reported."""
    try:
        fn(*args)
    except BaseException:
        log.warning("closing a streaming tool failed:\n%s", traceback.format_exc().rstrip())


def _caller_active(grpc_context: Optional[Any]) -> bool:
    if grpc_context is None:
        return True
    try:
        return bool(grpc_context.is_active())
    except Exception:
        return True
