"""Secret-free files that make up most of the corpus, so that precision is measured on a realistic
amount of ordinary code, configuration and prose.  Standard library only."""

from __future__ import annotations

from corpus_core import INF, Doc, File, emit_json, emit_yaml
from filler import NOUNS, VERBS, pascal


def add(cx, path, lines, **kw):
    if path in cx.files:
        return
    d = lines if isinstance(lines, Doc) else Doc().add(lines)
    cx.add(File(path, d, **kw))


def uniq(cx, stem_fmt: str, n: int):
    out, seen = [], set()
    while len(out) < n:
        v, nn = cx.r.choice(VERBS), cx.r.choice(NOUNS)
        p = stem_fmt.format(v=v, n=nn, N=pascal([nn]), V=pascal([v]))
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def add_all(cx):
    f, r, s = cx.f, cx.r, cx.scale
    for p in uniq(cx, "services/billing/app/{n}/{v}.py", 40 * s):
        add(cx, p, f.py_module(r.randrange(2, 7)))
    for p in uniq(cx, "services/billing/tests/test_{v}_{n}.py", 6 * s):
        add(cx, p, ["import pytest", ""] + f.py_module(2))
    for p in uniq(cx, "services/web/src/{n}/{v}.ts", 28 * s):
        add(cx, p, f.js_module(r.randrange(2, 6), ts=True), life=(3, INF))
    for p in uniq(cx, "services/web/server/{n}/{v}.js", 6 * s):
        add(cx, p, f.js_module(r.randrange(2, 5)), life=(3, INF))
    for p in uniq(cx, "services/gateway/internal/{n}/{v}.go", 24 * s):
        add(cx, p, f.go_file(p.split("/")[-2], r.randrange(2, 6)))
    for p in uniq(cx, "services/orders/src/main/java/com/acme/orders/{n}/{N}{V}Service.java", 18 * s):
        pkg = ".".join(p.split("/")[4:-1])
        add(cx, p, f.java_class(pkg, p.rsplit("/", 1)[-1][:-5], r.randrange(2, 5)))
    for p in uniq(cx, "services/notifier/lib/{n}_{v}.rb", 12 * s):
        add(cx, p, ["# frozen_string_literal: true", "", f"class {pascal(p.rsplit('/', 1)[-1][:-3].split('_'))}"]
            + sum((f.ruby_method() for _ in range(r.randrange(2, 5))), []) + ["end"], life=(1, INF))
    for p in uniq(cx, "services/portal/src/{N}/{V}.php", 12 * s):
        add(cx, p, ["<?php", "", "declare(strict_types=1);", ""] + sum((f.php_function() for _ in range(3)), []))
    for p in uniq(cx, "services/reporting/src/Reporting.Api/{N}/{V}{N}Handler.cs", 12 * s):
        cls = p.rsplit("/", 1)[-1][:-3]
        add(cx, p, ["using System;", "using System.Threading;", "using System.Threading.Tasks;", "",
                    "namespace Acme.Reporting.Api", "{", f"    public class {cls}", "    {"]
            + sum((f.cs_method() for _ in range(3)), []) + ["    }", "}"], eol="\r\n", bom=r.random() < 0.5,
            life=(5, INF))
    for p in uniq(cx, "scripts/{v}_{n}.sh", 4 * s):
        add(cx, p, ["#!/usr/bin/env bash", "set -euo pipefail", ""] + sum((f.sh_block() for _ in range(3)), []),
            life=(2, INF))
    for p in uniq(cx, "docs/guides/{v}-{n}s.md", 12 * s):
        add(cx, p, f.markdown(p.rsplit("/", 1)[-1][:-3].replace("-", " ").title(), r.randrange(2, 4)))
    for p in uniq(cx, "db/migrations/V1{v}__{n}.sql", 4 * s):
        add(cx, p, ["-- " + f.sentence(7)] + f.sql_table() + f.sql_table(), life=(5, INF))
    for p in uniq(cx, "deploy/k8s/{n}/service.yaml", 4 * s):
        app = p.split("/")[2]
        add(cx, p, emit_yaml({"apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "namespace": "production"},
                              "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 8080}]}}),
            life=(2, INF))
    # project scaffolding
    add(cx, "README.md", ["# acme-platform", "", f.paragraph(), "", "## Layout", "",
                          "- `services/` — billing (Python), gateway (Go), web (TypeScript), orders (Java), "
                          "notifier (Ruby), portal (PHP), reporting (.NET)", "- `deploy/` — Kubernetes, Helm, compose",
                          "- `infra/` — Terraform", "", "## Getting started", "", "```bash", "cp .env.example .env",
                          "make dev", "```", ""])
    add(cx, ".gitignore", ["node_modules/", "__pycache__/", "*.pyc", ".venv/", "dist/", "bin/", "obj/",
                           ".terraform/", "*.tfplan", ".DS_Store"])
    add(cx, "Makefile", [".PHONY: dev test lint", "", "dev:", "\tdocker compose up --build", "", "test:",
                         "\tpytest services/billing/tests", "\tgo test ./services/gateway/...", "", "lint:",
                         "\truff check services/billing"])
    add(cx, ".editorconfig", ["root = true", "", "[*]", "end_of_line = lf", "insert_final_newline = true",
                              "", "[*.{cs,ps1,config}]", "end_of_line = crlf"])
    add(cx, "services/web/package.json", emit_json({"name": "acme-web", "version": "3.8.0", "private": True,
                                                    "scripts": {"dev": "vite", "build": "tsc && vite build",
                                                                "test": "vitest"},
                                                    "dependencies": {"react": "^18.2.0", "axios": "^1.6.7",
                                                                     "zod": "^3.22.4"},
                                                    "devDependencies": {"typescript": "^5.3.3", "vite": "^5.1.0"}}),
        life=(3, INF))
    add(cx, "services/web/tsconfig.json", emit_json({"compilerOptions": {"target": "ES2022", "module": "ESNext",
                                                                         "strict": True, "jsx": "react-jsx"},
                                                     "include": ["src"]}), life=(3, INF))
    add(cx, "services/gateway/go.mod", ["module github.com/acme-corp/platform/services/gateway", "", "go 1.22", "",
                                        "require (", "\tgithub.com/go-chi/chi/v5 v5.0.12",
                                        "\tgithub.com/jackc/pgx/v5 v5.5.3", ")"])
    add(cx, "services/billing/requirements.txt", ["flask==3.0.2", "sqlalchemy==2.0.27", "stripe==8.4.0",
                                                  "requests==2.31.0", "boto3==1.34.49", "structlog==24.1.0"])
    add(cx, "services/orders/pom.xml", ['<?xml version="1.0" encoding="UTF-8"?>',
                                        '<project xmlns="http://maven.apache.org/POM/4.0.0">',
                                        "  <modelVersion>4.0.0</modelVersion>", "  <groupId>com.acme</groupId>",
                                        "  <artifactId>orders</artifactId>", "  <version>2.3.1</version>",
                                        "  <parent>", "    <groupId>org.springframework.boot</groupId>",
                                        "    <artifactId>spring-boot-starter-parent</artifactId>",
                                        "    <version>3.2.3</version>", "  </parent>", "  <dependencies>",
                                        "    <dependency>", "      <groupId>org.springframework.boot</groupId>",
                                        "      <artifactId>spring-boot-starter-web</artifactId>", "    </dependency>",
                                        "  </dependencies>", "</project>"])
    add(cx, "services/orders/src/main/resources/log4j2.xml",
        ['<?xml version="1.0" encoding="UTF-8"?>', '<Configuration status="WARN">', "  <Appenders>",
         '    <Console name="Console" target="SYSTEM_OUT">',
         '      <PatternLayout pattern="%d{ISO8601} %-5level [%t] %c{1} - %msg%n"/>', "    </Console>",
         "  </Appenders>", "  <Loggers>", '    <Root level="info"><AppenderRef ref="Console"/></Root>',
         "  </Loggers>", "</Configuration>"])
    add(cx, "services/reporting/src/Reporting.Api/Reporting.Api.csproj",
        ['<Project Sdk="Microsoft.NET.Sdk.Web">', "  <PropertyGroup>", "    <TargetFramework>net8.0</TargetFramework>",
         "    <Nullable>enable</Nullable>", "  </PropertyGroup>", "</Project>"], eol="\r\n", bom=True, life=(5, INF))
    add(cx, "infra/terraform/variables.tf", sum(([f'variable "{n}" {{', '  type = string',
                                                  f'  description = "{f.sentence(5)}"', "}", ""]
                                                 for n in ["region", "environment", "db_password", "stripe_secret_key",
                                                           "datadog_api_key"]), []), life=(2, INF))
    add(cx, "infra/terraform/outputs.tf", ['output "bucket" {', "  value = aws_s3_bucket.reports.bucket", "}", "",
                                           'output "db_password" {', "  value     = var.db_password",
                                           "  sensitive = true", "}"], life=(2, INF))
    add(cx, "config/logging.ini", ["[loggers]", "keys = root", "", "[handlers]", "keys = console", "",
                                   "[formatters]", "keys = json", "", "[logger_root]", "level = INFO",
                                   "handlers = console"])
    add(cx, "services/billing/app/vault.py", ['"""Thin wrapper around the Vault client."""', "", "import hvac", "",
                                              "_client = hvac.Client()", "", "",
                                              "def get_secret(name: str) -> str:",
                                              '    resp = _client.secrets.kv.v2.read_secret_version(path=name)',
                                              '    return resp["data"]["data"]["value"]'])
    # a plain operational log with no secrets
    d = Doc()
    for i in range(30 * s):
        rid = cx.v.hexs(32)
        d.add(f.log_line(f"2024-03-03T0{i % 10}:{i % 60:02d}:{(i * 7) % 60:02d}Z", rid),
              cx.decoy("random-id", rid, note="request id in a log line"))
        d.add(f"2024-03-03T0{i % 10}:{i % 60:02d}:{(i * 7) % 60:02d}Z INFO  [http] GET /healthz 200 1ms")
    add(cx, "logs/orders-worker.log", d, life=(3, INF))
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# Weekly KPIs\n"]},
                    {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
                     "source": ["import pandas as pd\n", "df = pd.read_csv('kpis.csv')\n", "df.head()"]}],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    add(cx, "notebooks/weekly_kpis.ipynb", emit_json(nb, indent=1), life=(5, INF))
