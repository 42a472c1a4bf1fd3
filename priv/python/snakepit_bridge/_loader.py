"""Finding and instantiating the adapter class named on the command line."""
import importlib
from typing import Set, Tuple

from ._adapter import BaseAdapter


def parse_adapter_spec(spec: str) -> Tuple[str, str]:
    """Split ``module:Class`` (or ``module.Class``) into (module, class path)."""
    text = (spec or "").strip()
    if ":" in text:
        module, _, attr = text.partition(":")
    else:
        module, _, attr = text.rpartition(".")
    parts = module.split(".") + attr.split(".")
    if not module or not attr or not all(p.isidentifier() for p in parts):
        raise ValueError(
            f"invalid adapter {spec!r}: expected 'package.module:ClassName' "
            "or 'package.module.ClassName'"
        )
    return module, attr


def load_adapter_class(spec: str) -> type:
    """Import the module and return the BaseAdapter subclass ``spec`` names."""
    module_name, attr = parse_adapter_spec(spec)
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AttributeError(
                f"adapter {module_name}:{attr}: {module_name!r} has no attribute {attr!r}"
            ) from None
    if not isinstance(obj, type) or not issubclass(obj, BaseAdapter):
        raise TypeError(
            f"adapter {module_name}:{attr} must be a subclass of "
            f"snakepit_bridge.BaseAdapter, got {obj!r}"
        )
    return obj


_preloaded: Set[type] = set()


def preload_once(cls: type) -> None:
    """Run the adapter class's ``preload`` hook, once per process: a worker forked from a
    template that ran it already does not run it again."""
    if cls in _preloaded:
        return
    cls.preload()
    _preloaded.add(cls)


def load_adapter(spec: str) -> Tuple[BaseAdapter, str]:
    """Instantiate the adapter (after its ``preload``); return it with its canonical
    ``module:Class`` name."""
    module_name, attr = parse_adapter_spec(spec)
    cls = load_adapter_class(spec)
    preload_once(cls)
    return cls(), f"{module_name}:{attr}"
