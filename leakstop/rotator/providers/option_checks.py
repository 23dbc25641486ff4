"""Typed reads of one provider's (or one secret reference's) options for the providers, each
failing as a ConfigError at the place the options were written."""

from __future__ import annotations

from collections.abc import Callable, Collection

from leakstop.config.options import ENV_NAME, Options, OptionValue, Origin
from leakstop.durations import parse_duration
from leakstop.errors import ConfigError


class OptionChecker:
    """Reads `options` of `what` ("provider 'github'"), configured at `origin`."""

    def __init__(self, what: str, origin: Origin | None = None) -> None:
        self.what = what
        self.origin = origin or Origin()

    def error(self, message: str) -> ConfigError:
        return self.origin.error(f"{self.what}: {message}")

    def keys(self, options: Options, allowed: Collection[str]) -> None:
        for key in options:
            if key not in allowed:
                raise self.error(f"unknown option {key} (known: {', '.join(allowed)})")

    def string(self, options: Options, key: str) -> str | None:
        value = options.get(key)
        if value is not None and not isinstance(value, str):
            raise self.error(f"'{key}' must be a string")
        return value

    def boolean(self, options: Options, key: str) -> bool | None:
        value = options.get(key)
        if value is not None and not isinstance(value, bool):
            raise self.error(f"'{key}' must be true or false")
        return value

    def env_name(self, options: Options, key: str, default: str | None) -> str | None:
        # The value is never echoed: a credential pasted here by mistake must not reach a log.
        name = self.string(options, key) or default
        if name is not None and not ENV_NAME.match(name):
            raise self.error(f"'{key}' must name an environment variable")
        return name

    def seconds(self, value: OptionValue, key: str, default: float, most: float) -> float:
        """Seconds, from a number or a duration such as `30s`; `default` when unset."""
        return seconds_option(value, key, default, most, self.error)

    def timeout(self, value: OptionValue, default: float, maximum: float = 600.0) -> float:
        return self.seconds(value, "timeout", default, maximum)


def seconds_option(
    value: OptionValue,
    key: str,
    default: float,
    most: float,
    error: Callable[[str], ConfigError],
) -> float:
    """Seconds, from a number or a duration such as `30s`, more than 0 and at most `most`."""
    if value is None:
        return default
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = parse_duration(value).total_seconds()
        except ValueError as exc:
            raise error(f"'{key}': {exc}") from None
    else:
        raise error(f"'{key}' must be seconds or a duration such as 30s")
    if not 0 < seconds <= most:
        raise error(f"'{key}' must be more than 0 and at most {most:g} seconds")
    return seconds
