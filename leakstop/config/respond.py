"""`respond:` in `.leakstop.yaml`: what `leakstop respond` does with a confirmed leak.

```yaml
respond:
  confirmed: rotate            # rotate | revoke | notify | none (default: rotate)
  rules:                       # per rule id, for leaks that rule found
    generic-password: notify
```

Only confirmed leaks (a managed secret's current value) are ever acted on; every other finding
is reported, whatever this says.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from leakstop.config.options import FrozenMap
from leakstop.yamlfile import Fields

RESPOND_KEYS = ("confirmed", "rules")


class Response(str, enum.Enum):
    #: Replace the credential through the rotation machine, then revoke the leaked value.
    ROTATE = "rotate"
    #: Disable the leaked value without a replacement (an emergency).
    REVOKE = "revoke"
    #: Tell the owners; a person acts.
    NOTIFY = "notify"
    #: Report it only.
    NONE = "none"


@dataclass(frozen=True)
class RespondPolicy:
    confirmed: Response = Response.ROTATE
    #: Rule id → response, for leaks that rule found.
    rules: Mapping[str, Response] = field(default_factory=FrozenMap)

    def for_rule(self, rule_id: str) -> Response:
        return self.rules.get(rule_id, self.confirmed)


def parse_respond(fields: Fields) -> RespondPolicy:
    fields.check_keys(RESPOND_KEYS)
    confirmed = _response(fields, "confirmed", fields.string("confirmed", "rotate"))
    rules: dict[str, Response] = {}
    if (sub := fields.sub("rules", "respond.rules")) is not None:
        for rule_id in sub.mapping:
            rules[str(rule_id)] = _response(sub, str(rule_id), sub.string(str(rule_id)))
    return RespondPolicy(confirmed, FrozenMap(rules))


def _response(fields: Fields, key: str, value: str) -> Response:
    try:
        return Response(value)
    except ValueError:
        choices = ", ".join(r.value for r in Response)
        fields.fail(f"{key!r} must be one of {choices}, got {value!r}", fields.line_of(key))
