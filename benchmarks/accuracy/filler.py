"""Filler content for the accuracy corpus: ordinary code, prose and data with no secrets in it.

Filler is what most of a real repository is.  It may use secret-ish *words* (``password``,
``token``, ``key``) the way real code does — reading them from variables, validating them,
naming functions after them — but it never contains a credential value.  Anything high-entropy
that a scanner could mistake for a credential is planted through a labelled decoy instead, so
that the scorer can say which decoys a tool flags.  Standard library only.
"""

from __future__ import annotations

import random

NOUNS = ["invoice", "customer", "order", "payment", "refund", "shipment", "account", "session", "report",
         "subscription", "ledger", "cart", "product", "coupon", "webhook", "tenant", "user", "address",
         "receipt", "batch", "export", "quota", "price", "catalog", "schedule", "notification", "audit"]
VERBS = ["load", "fetch", "create", "update", "sync", "validate", "render", "archive", "process",
         "compute", "publish", "resolve", "merge", "reconcile", "enqueue", "normalize", "retry", "build"]
ADJ = ["pending", "active", "stale", "failed", "settled", "draft", "expired", "partial", "primary", "cached"]
FIELDS = ["id", "status", "amount", "currency", "created_at", "updated_at", "email", "region", "total",
          "reference", "owner_id", "attempts", "due_date", "notes", "sku", "quantity"]
WORDS = ("the service retries failed requests with exponential backoff and records every attempt in the audit "
         "table so that operators can replay a batch after an outage while the scheduler keeps running "
         "reports are generated nightly and uploaded to the shared bucket where finance picks them up each "
         "tenant has its own quota and the gateway enforces it before forwarding traffic to the workers "
         "migrations must be backwards compatible because the web tier and the workers roll out separately").split()
HOSTS = ["api.acme-corp.io", "billing.internal.acme-corp.io", "orders.acme-corp.io", "status.acme-corp.io",
         "grafana.ops.acme-corp.io", "docs.acme-corp.io"]


def camel(words: list[str]) -> str:
    return words[0].lower() + "".join(w.capitalize() for w in words[1:])


def pascal(words: list[str]) -> str:
    return "".join(w.capitalize() for w in words)


def snake(words: list[str]) -> str:
    return "_".join(w.lower() for w in words)


class Filler:
    def __init__(self, rng: random.Random):
        self.r = rng

    def pick(self, seq):
        return self.r.choice(seq)

    def sentence(self, n: int | None = None) -> str:
        n = n or self.r.randrange(8, 18)
        start = self.r.randrange(0, len(WORDS) - n)
        s = " ".join(WORDS[start : start + n])
        return s[0].upper() + s[1:] + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.r.randrange(2, 4)))

    def names(self):
        return self.pick(VERBS), self.pick(NOUNS), self.pick(ADJ), self.pick(FIELDS)

    # ------------------------------------------------------------------------------ python
    def py_function(self) -> list[str]:
        v, n, a, f = self.names()
        t = self.r.randrange(4)
        if t == 0:
            return [f"def {v}_{n}({n}_id: str, *, retries: int = {self.r.randrange(2, 6)}) -> dict:",
                    f'    """{v.capitalize()} the {n} and return its {f}."""',
                    f'    logger.debug("{v} {n} %s", {n}_id)',
                    "    for attempt in range(retries):",
                    f"        response = session.get(f\"{{BASE_URL}}/{n}s/{{{n}_id}}\", timeout={self.r.randrange(5, 30)})",
                    "        if response.status_code == 200:",
                    "            return response.json()",
                    "        time.sleep(2 ** attempt)",
                    f'    raise {pascal([n])}Error(f"could not {v} {n} {{{n}_id}}")', ""]
        if t == 1:
            return [f"class {pascal([a, n])}Repository:",
                    f'    """Data access for {a} {n}s."""', "",
                    "    def __init__(self, db):", "        self.db = db", "",
                    f"    def list_{a}(self, limit: int = {self.r.choice([50, 100, 500])}):",
                    f'        sql = "SELECT id, {f} FROM {n}s WHERE status = %s ORDER BY id LIMIT %s"',
                    f'        return self.db.execute(sql, ("{a}", limit)).fetchall()', "",
                    f"    def mark_{a}(self, {n}_id):",
                    f'        self.db.execute("UPDATE {n}s SET status = %s WHERE id = %s", ("{a}", {n}_id))', ""]
        if t == 2:
            return [f"@app.route(\"/api/v1/{n}s/<{n}_id>\", methods=[\"GET\"])",
                    f"def get_{n}({n}_id):",
                    f"    {n} = {pascal([n])}.query.get_or_404({n}_id)",
                    f"    if not current_user.can_view({n}):",
                    "        abort(403)",
                    f"    return jsonify({{\"{f}\": {n}.{f}, \"status\": {n}.status}})", ""]
        return [f"def {v}_{n}_batch(items):",
                "    total = Decimal(\"0\")",
                "    for item in items:",
                f"        if item.{f} is None:",
                "            continue",
                f"        total += item.amount * Decimal(\"{self.r.randrange(1, 99)}.{self.r.randrange(10, 99)}\")",
                f"    metrics.gauge(\"{n}.{v}.total\", float(total))",
                "    return total.quantize(Decimal(\"0.01\"))", ""]

    def py_module(self, nfuncs: int) -> list[str]:
        lines = [f'"""{self.sentence()}"""', "", "import logging", "import time",
                 "from decimal import Decimal", "", "logger = logging.getLogger(__name__)",
                 f'BASE_URL = "https://{self.pick(HOSTS)}"', ""]
        for _ in range(nfuncs):
            lines += [""] + self.py_function()
        return lines

    # -------------------------------------------------------------------------- javascript
    def js_function(self, ts: bool = False) -> list[str]:
        v, n, a, f = self.names()
        typ = f": Promise<{pascal([n])}>" if ts else ""
        arg = f"{n}Id: string" if ts else f"{n}Id"
        t = self.r.randrange(3)
        if t == 0:
            return [f"export async function {camel([v, n])}({arg}){typ} {{",
                    f"  const res = await fetch(`${{API_BASE}}/{n}s/${{{n}Id}}`, {{ credentials: 'include' }});",
                    "  if (!res.ok) {",
                    f"    throw new Error(`{v} {n} failed: ${{res.status}}`);",
                    "  }", "  return res.json();", "}", ""]
        if t == 1:
            return [f"export function {camel(['format', n, f])}({n}{': ' + pascal([n]) if ts else ''}) {{",
                    f"  const value = {n}.{camel(f.split('_'))} ?? '';",
                    f"  return value.toString().padStart({self.r.randrange(4, 12)}, '0');", "}", ""]
        return [f"const {camel([a, n, 's'])} = items.filter((it) => it.status === '{a}');",
                f"logger.info('found %d {a} {n}s', {camel([a, n, 's'])}.length);", ""]

    def js_module(self, nfuncs: int, ts: bool = False) -> list[str]:
        lines = ["import { logger } from './logger';", f"const API_BASE = 'https://{self.pick(HOSTS)}/v2';", ""]
        for _ in range(nfuncs):
            lines += self.js_function(ts)
        return lines

    # ---------------------------------------------------------------------------------- go
    def go_function(self) -> list[str]:
        v, n, a, f = self.names()
        return [f"// {pascal([v, n])} {' '.join(self.sentence(8).lower().split()[:8])}",
                f"func (s *Service) {pascal([v, n])}(ctx context.Context, id string) (*{pascal([n])}, error) {{",
                f"\tctx, cancel := context.WithTimeout(ctx, {self.r.randrange(2, 30)}*time.Second)",
                "\tdefer cancel()",
                f"\trow := s.db.QueryRowContext(ctx, \"SELECT id, {f} FROM {n}s WHERE id = $1\", id)",
                f"\tvar out {pascal([n])}",
                f"\tif err := row.Scan(&out.ID, &out.{pascal(f.split('_'))}); err != nil {{",
                f"\t\treturn nil, fmt.Errorf(\"{v} {n} %s: %w\", id, err)",
                "\t}", "\treturn &out, nil", "}", ""]

    def go_file(self, pkg: str, nfuncs: int) -> list[str]:
        lines = [f"package {pkg}", "", "import (", '\t"context"', '\t"fmt"', '\t"time"', ")", ""]
        for _ in range(nfuncs):
            lines += self.go_function()
        return lines

    # -------------------------------------------------------------------------------- java
    def java_method(self) -> list[str]:
        v, n, a, f = self.names()
        return [f"    public Optional<{pascal([n])}> {camel([v, n])}(String {n}Id) {{",
                f"        log.debug(\"{v} {n} {{}}\", {n}Id);",
                f"        return repository.findById({n}Id)",
                f"                .filter(x -> \"{a}\".equals(x.getStatus()))",
                f"                .map(x -> x.with{pascal(f.split('_'))}(clock.instant()));",
                "    }", ""]

    def java_class(self, pkg: str, name: str, nmethods: int, body_top: list[str] | None = None) -> list[str]:
        lines = [f"package {pkg};", "", "import java.util.Optional;", "import org.slf4j.Logger;",
                 "import org.slf4j.LoggerFactory;", "", f"public class {name} {{",
                 f"    private static final Logger log = LoggerFactory.getLogger({name}.class);", ""]
        lines += body_top or []
        for _ in range(nmethods):
            lines += self.java_method()
        return lines + ["}"]

    # -------------------------------------------------------------------------------- ruby
    def ruby_method(self) -> list[str]:
        v, n, a, f = self.names()
        return [f"  def {v}_{n}({n}_id)", f"    {n} = {pascal([n])}.find({n}_id)",
                f"    return if {n}.{a}?", f"    {n}.update!({f}: Time.current)",
                f"    Rails.logger.info(\"{v} {n} #{{{n}_id}}\")", "  end", ""]

    # --------------------------------------------------------------------------------- php
    def php_function(self) -> list[str]:
        v, n, a, f = self.names()
        return [f"function {camel([v, n])}(PDO $db, int ${n}Id): array", "{",
                f"    $stmt = $db->prepare('SELECT id, {f} FROM {n}s WHERE id = ? AND status = ?');",
                f"    $stmt->execute([${n}Id, '{a}']);", "    return $stmt->fetchAll(PDO::FETCH_ASSOC);", "}", ""]

    # ---------------------------------------------------------------------------------- c#
    def cs_method(self) -> list[str]:
        v, n, a, f = self.names()
        return [f"        public async Task<{pascal([n])}> {pascal([v, n])}Async(Guid id, CancellationToken ct)",
                "        {", f"            _logger.LogDebug(\"{v} {n} {{Id}}\", id);",
                f"            var entity = await _db.{pascal([n])}s.FirstOrDefaultAsync(x => x.Id == id, ct);",
                f"            return entity ?? throw new NotFoundException(nameof({pascal([n])}), id);",
                "        }", ""]

    # ------------------------------------------------------------------------------- shell
    def sh_block(self) -> list[str]:
        v, n, a, f = self.names()
        t = self.r.randrange(3)
        if t == 0:
            return [f"{v}_{n}() {{", "  local target=\"$1\"", f"  echo \"==> {v} {n} on ${{target}}\"",
                    f"  kubectl -n \"${{NAMESPACE}}\" rollout status deploy/{n}-api --timeout={self.r.randrange(60, 600)}s",
                    "}", ""]
        if t == 1:
            return ["for region in us-east-1 eu-west-1; do",
                    f"  aws s3 sync \"./dist/{n}\" \"s3://acme-{n}-${{region}}/releases/${{VERSION}}\" --region \"$region\"",
                    "done", ""]
        return [f"if [[ -z \"${{{snake([n, f]).upper()}:-}}\" ]]; then",
                f"  echo \"{snake([n, f]).upper()} is not set\" >&2", "  exit 1", "fi", ""]

    # ------------------------------------------------------------------------------ prose
    def markdown(self, title: str, sections: int) -> list[str]:
        lines = [f"# {title}", "", self.paragraph(), ""]
        for _ in range(sections):
            v, n, a, f = self.names()
            lines += [f"## {v.capitalize()} {n}s", "", self.paragraph(), "", "```bash",
                      f"make {v}-{n} ENV=staging", f"kubectl -n {n} get pods -l app={n}-api", "```", "",
                      f"- {self.sentence(9)}", f"- {self.sentence(10)}", ""]
        return lines

    def sql_table(self) -> list[str]:
        v, n, a, f = self.names()
        return [f"CREATE TABLE IF NOT EXISTS {n}s (", "    id BIGSERIAL PRIMARY KEY,",
                f"    {f} TEXT NOT NULL,", "    status VARCHAR(32) NOT NULL DEFAULT 'pending',",
                "    created_at TIMESTAMPTZ NOT NULL DEFAULT now()", ");",
                f"CREATE INDEX IF NOT EXISTS idx_{n}s_status ON {n}s (status);", ""]

    def log_line(self, ts: str, rid: str) -> str:
        v, n, a, f = self.names()
        lvl = self.pick(["INFO", "INFO", "INFO", "DEBUG", "WARN"])
        return (f"{ts} {lvl:<5} [{n}-worker] request_id={rid} {v} {n} status={a} "
                f"duration_ms={self.r.randrange(3, 900)}")
