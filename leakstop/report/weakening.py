"""How a pull request weakens its own scan, for the job summary (Markdown) and the run's log
(one `::warning` per sentence): the findings it suppresses and its config and baseline
changes. Foreign text (paths, rule ids, patterns) is sanitized; secrets are redacted."""

from __future__ import annotations

from leakstop.report.github import escape_data, escape_property
from leakstop.report.markdown import cell, code
from leakstop.scanner.weakening import Suppressed, SuppressedBy, Weakening
from leakstop.textsafe import sanitize

#: Rows of suppressed findings in the summary; the rest are counted.
MAX_ROWS = 200


def headline(weakening: Weakening) -> str:
    """One sentence: what the pull request suppresses."""
    count = len(weakening.suppressed)
    anyway = len(weakening.reported_anyway)
    text = f"this pull request suppresses {count} finding{'' if count == 1 else 's'}"
    if anyway:
        text += f" ({anyway} reported anyway: live or high severity)"
    if weakening.changes:
        text += f" and loosens the scan in {len(weakening.changes)} way"
        text += "" if len(weakening.changes) == 1 else "s"
    return text


def warnings(weakening: Weakening) -> list[str]:
    """Workflow-command lines: the headline with each suppressed finding, then each change."""
    if weakening.is_empty:
        return []
    details = [_in_words(s) for s in weakening.suppressed] + list(weakening.changes)
    if weakening.unreadable:
        details.append(f"its own config does not load: {weakening.unreadable}")
    message = headline(weakening) + ": " + "; ".join(details)
    title = escape_property("leakstop: this pull request weakens its own scan")
    return [f"::warning title={title}::{escape_data(sanitize(message))}"]


def markdown(weakening: Weakening) -> str:
    if weakening.is_empty:
        return ""
    lines = [
        "",
        "### ⚠️ Suppressed by this pull request",
        "",
        f"**{cell(headline(weakening))}.**",
        "",
    ]
    if weakening.suppressed:
        lines += [
            "| Rule | Location | Secret | Suppressed by | Reported |",
            "|---|---|---|---|---|",
        ]
        for item in weakening.suppressed[:MAX_ROWS]:
            finding = item.finding
            location = f"{finding.location.path}:{finding.location.line}"
            # Config and baseline changes do not apply to this scan: their findings stay.
            reported = item.by is not SuppressedBy.INLINE or item.is_serious
            anyway = "yes" if reported else "no"
            lines.append(
                f"| {code(finding.rule_id)} | {code(location)} | {code(finding.redacted)} | "
                f"{cell(item.by.value)} | {anyway} |"
            )
        if len(weakening.suppressed) > MAX_ROWS:
            lines.append(f"\n… and {len(weakening.suppressed) - MAX_ROWS} more.")
        lines.append("")
    for change in weakening.changes:
        lines.append(f"* It {cell(change)}.")
    if weakening.unreadable:
        lines.append(f"* Its own config does not load: {cell(weakening.unreadable)}.")
    lines += [
        "",
        "This scan used the base branch's config and baseline; the changes above apply once "
        "merged. Review them like code.",
        "",
    ]
    return "\n".join(lines)


def _in_words(item: Suppressed) -> str:
    finding = item.finding
    return (
        f"{finding.rule_id} at {finding.location.path}:{finding.location.line} "
        f"({finding.redacted}) by {item.by.value}"
    )
