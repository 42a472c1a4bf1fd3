"""The ``@tool`` decorator that marks adapter methods as callable tools."""
import inspect
from typing import Any, Callable, NamedTuple, Optional

TOOL_ATTR = "__snakepit_tool__"


class ToolSpec(NamedTuple):
    """What ``@tool`` records on a function. ``name`` None means the attribute name."""

    name: Optional[str]
    description: str
    supports_streaming: bool


def tool(
    func: Optional[Callable[..., Any]] = None,
    *,
    description: Optional[str] = None,
    supports_streaming: bool = False,
    name: Optional[str] = None,
) -> Any:
    """Mark a method as a tool: ``@tool`` or ``@tool(description=..., name=...)``.

    The description defaults to the first line of the docstring.
    """
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError("@tool(name=...) must be a non-empty string")

    def mark(target: Any) -> Any:
        fn = target.__func__ if isinstance(target, (staticmethod, classmethod)) else target
        if not callable(fn):
            raise TypeError(f"@tool can only decorate functions, not {type(target).__name__}")
        desc = description if description is not None else _first_doc_line(fn)
        setattr(fn, TOOL_ATTR, ToolSpec(name, desc, bool(supports_streaming)))
        return target

    if func is None:
        return mark
    if not callable(func) and not isinstance(func, (staticmethod, classmethod)):
        raise TypeError("use @tool or @tool(description=..., supports_streaming=..., name=...)")
    return mark(func)


def tool_spec(obj: Any) -> Optional[ToolSpec]:
    """The ToolSpec recorded on ``obj`` (a function, staticmethod or classmethod), if any."""
    fn = obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj
    try:
        spec = getattr(fn, TOOL_ATTR, None)
    except Exception:
        return None
    return spec if isinstance(spec, ToolSpec) else None


def _first_doc_line(fn: Any) -> str:
    doc = inspect.getdoc(fn) or ""
    for line in doc.splitlines():
        if line.strip():
            return line.strip()
    return ""
