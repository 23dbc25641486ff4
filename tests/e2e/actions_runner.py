"""Run a composite action's steps the way the Actions runner does, offline.

Each `run:` step is executed with its shell, in order, with the runner's files
(GITHUB_EVENT_PATH, GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STEP_SUMMARY) and environment; `if:`,
`continue-on-error`, step outputs and outcomes behave as documented. `uses:` steps cannot run
offline: each is replaced by a stand-in given by the test (setup-python, cache, upload-sarif),
which receives its evaluated `with:` inputs.

Only the expression forms the action uses are supported (context lookups, string literals,
`true`/`false`, `==`, `!=`, `&&`, `||`, `!`); anything else raises, so the test notices.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Standin = Callable[[dict[str, str]], dict[str, str]]
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.S)
_TOKEN = re.compile(r"\s*(==|!=|&&|\|\||!|\(|\)|'(?:[^']|'')*'|[A-Za-z_][\w.-]*)")


@dataclass
class StepResult:
    id: str
    outcome: str  # success, failure, skipped
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)


@dataclass
class RunResult:
    steps: dict[str, StepResult]
    outputs: dict[str, str]
    failed: bool
    summary: str
    log: str


class CompositeRunner:
    def __init__(
        self,
        action_dir: Path,
        workspace: Path,
        event_name: str,
        event: dict[str, Any],
        standins: dict[str, Standin],
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.action_dir = action_dir
        self.workspace = workspace
        self.definition = yaml.safe_load((action_dir / "action.yml").read_text())
        self.event_name = event_name
        self.event = event
        self.standins = standins
        self.temp = Path(tempfile.mkdtemp(prefix="runner-"))
        self.extra_env = extra_env or {}

    def run(self, inputs: dict[str, str]) -> RunResult:
        import json

        event_path = self.temp / "event.json"
        event_path.write_text(json.dumps(self.event))
        summary = self.temp / "summary.md"
        summary.write_text("")
        runner_temp = self.temp / "runner-temp"
        runner_temp.mkdir()
        declared = self.definition.get("inputs", {})
        values = {name: str(spec.get("default", "")) for name, spec in declared.items()}
        for name, value in inputs.items():
            if name not in declared:
                raise KeyError(f"the action has no input {name!r}")
            values[name] = value
        base_env = {
            **os.environ,
            **self.extra_env,
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "GITHUB_EVENT_NAME": self.event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_ACTION_PATH": str(self.action_dir),
            "RUNNER_TEMP": str(runner_temp),
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
        }
        steps: dict[str, StepResult] = {}
        context = {
            "inputs": values,
            "github": {
                "event": self.event,
                "event_name": self.event_name,
                "action_path": str(self.action_dir),
                "workspace": str(self.workspace),
            },
            "steps": steps,
        }
        log = []
        failed = False
        for index, step in enumerate(self.definition["runs"]["steps"]):
            step_id = step.get("id", f"step{index}")
            condition = step.get("if", "success()")
            if failed and "always()" not in condition and "failure()" not in condition:
                steps[step_id] = StepResult(step_id, "skipped")
                continue
            expression = _EXPRESSION.fullmatch(condition.strip())
            if not self._truthy(
                self.evaluate(expression.group(1) if expression else condition, context)
            ):
                steps[step_id] = StepResult(step_id, "skipped")
                continue
            result = self._run_step(step_id, step, context, base_env)
            log.append(result.stdout + result.stderr)
            # With continue-on-error the step's outcome stays "failure"; the job goes on.
            if result.outcome == "failure" and step.get("continue-on-error") is not True:
                failed = True
            steps[step_id] = result
        outputs = {
            name: self.evaluate_text(str(spec["value"]), context)
            for name, spec in self.definition.get("outputs", {}).items()
        }
        return RunResult(steps, outputs, failed, summary.read_text(), "".join(log))

    def _run_step(
        self, step_id: str, step: dict[str, Any], context: dict[str, Any], base_env: dict[str, str]
    ) -> StepResult:
        if "uses" in step:
            name = step["uses"].split("@")[0]
            if name not in self.standins:
                raise KeyError(f"no stand-in for {step['uses']}")
            with_inputs = {
                key: self.evaluate_text(str(value), context)
                for key, value in (step.get("with") or {}).items()
            }
            try:
                outputs = self.standins[name](with_inputs)
            except RuntimeError as exc:
                return StepResult(step_id, "failure", stderr=str(exc), inputs=with_inputs)
            return StepResult(step_id, "success", outputs=outputs, inputs=with_inputs)
        output_file = self.temp / f"output-{step_id}"
        output_file.write_text("")
        env = {
            **base_env,
            **{k: self.evaluate_text(str(v), context) for k, v in (step.get("env") or {}).items()},
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_ENV": str(self.temp / "env"),
        }
        script = self.evaluate_text(step["run"], context)
        if step.get("shell") != "bash":
            raise ValueError(f"step {step_id}: only bash steps are run here")
        completed = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        outcome = "success" if completed.returncode == 0 else "failure"
        return StepResult(
            step_id,
            outcome,
            completed.stdout,
            completed.stderr,
            parse_outputs(output_file.read_text()),
        )

    # Expressions --------------------------------------------------------------------------

    def evaluate_text(self, text: str, context: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            value = self.evaluate(match.group(1), context)
            if value is None:
                return ""
            if value is True:
                return "true"
            if value is False:
                return "false"
            return str(value)

        return _EXPRESSION.sub(replace, text)

    def evaluate(self, expression: str, context: dict[str, Any]) -> Any:
        tokens = [t for t in _TOKEN.findall(expression)]
        if "".join(tokens).replace(" ", "") != expression.replace(" ", "").replace("\n", ""):
            raise ValueError(f"unsupported expression: {expression!r}")
        position = 0

        def peek() -> str | None:
            return tokens[position] if position < len(tokens) else None

        def take() -> str:
            nonlocal position
            position += 1
            return tokens[position - 1]

        def primary() -> Any:
            token = take()
            if token == "!":
                return not self._truthy(primary())
            if token == "(":
                value = disjunction()
                take()
                return value
            if token.startswith("'"):
                return token[1:-1].replace("''", "'")
            if token in ("true", "false"):
                return token == "true"
            if token in ("success", "always", "failure", "cancelled"):
                take()
                take()
                return {"success": True, "always": True, "failure": False, "cancelled": False}[
                    token
                ]
            return self._lookup(token, context)

        def comparison() -> Any:
            left = primary()
            while peek() in ("==", "!="):
                operator = take()
                right = primary()
                equal = _loose(left) == _loose(right)
                left = equal if operator == "==" else not equal
            return left

        def conjunction() -> Any:
            left = comparison()
            while peek() == "&&":
                take()
                right = comparison()
                left = right if self._truthy(left) else left
            return left

        def disjunction() -> Any:
            left = conjunction()
            while peek() == "||":
                take()
                right = conjunction()
                left = left if self._truthy(left) else right
            return left

        return disjunction()

    def _lookup(self, path: str, context: dict[str, Any]) -> Any:
        parts = path.split(".")
        value: Any = context
        for index, part in enumerate(parts):
            if isinstance(value, StepResult):
                value = {"outputs": value.outputs, "outcome": value.outcome}.get(part)
            elif isinstance(value, dict):
                value = value.get(part)
            else:
                return None
            if value is None and index == 1 and parts[0] == "steps":
                return None
        return value

    @staticmethod
    def _truthy(value: Any) -> bool:
        return value not in (None, False, "", 0)


def _loose(value: Any) -> Any:
    """GitHub compares loosely: 'true' == true, and null == '' (a skipped step's output)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def parse_outputs(text: str) -> dict[str, str]:
    """`name=value` lines and `name<<DELIMITER` blocks, as the runner reads GITHUB_OUTPUT."""
    outputs: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, index + 1)
            outputs[name] = "\n".join(lines[index + 1 : end])
            index = end + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
        index += 1
    return outputs
