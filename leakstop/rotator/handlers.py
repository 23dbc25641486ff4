"""What makes a managed secret's new value when leakstop mints it.

Built in: `generate` (the secret's `generate:` spec: prefix + random characters from its
charset, drawn with `secrets`). A secret may instead name its own function,
`handler: my_package.rotation:new_value`, called as `new_value(secret, current)` with the
ManagedSecret and its current value (bytes, a dict for a structured value, or None), and
returning the new value (str, bytes or a dict). The function is imported when a rotation
needs it, never when the config is read.
"""

from __future__ import annotations

import importlib
import secrets as random
from collections.abc import Callable, Mapping
from typing import Any

from leakstop.config.secrets import ManagedSecret
from leakstop.errors import LeakstopError

Value = bytes | dict[str, Any]
Handler = Callable[[ManagedSecret, Value | None], Value]


class HandlerError(LeakstopError):
    """A rotation handler cannot be loaded, or failed, or returned something unusable."""


def generate(secret: ManagedSecret, _current: Value | None) -> Value:
    spec = secret.generate
    alphabet = spec.charset.alphabet
    body = "".join(random.choice(alphabet) for _ in range(spec.length))
    return (spec.prefix + body).encode("ascii")


#: Built-in handlers by name.
HANDLERS: Mapping[str, Handler] = {"generate": generate}


def handler_for(secret: ManagedSecret) -> Handler:
    """The secret's handler: its `handler:` (a built-in name or `module:function`), else
    `generate`."""
    name = secret.handler or "generate"
    if name in HANDLERS:
        return HANDLERS[name]
    module_name, _, attribute = name.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise HandlerError(f"secret {secret.name}: cannot load handler {name}: {exc}") from None
    if not callable(target):
        raise HandlerError(f"secret {secret.name}: handler {name} is not a function")
    return _checked(secret, name, target)


def _checked(secret: ManagedSecret, name: str, function: Callable[..., Any]) -> Handler:
    def call(managed: ManagedSecret, current: Value | None) -> Value:
        try:
            result = function(managed, current)
        except Exception as exc:
            raise HandlerError(
                f"secret {secret.name}: handler {name} failed: {type(exc).__name__}"
            ) from exc
        if isinstance(result, str):
            result = result.encode("utf-8")
        if isinstance(result, (bytes, dict)) and result:
            return result
        raise HandlerError(
            f"secret {secret.name}: handler {name} returned {type(result).__name__}, "
            "not a non-empty str, bytes or dict"
        )

    return call
