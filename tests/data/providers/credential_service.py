"""A service's credential tool, as the command issuer runs it: the step as JSON on stdin, the
new value on the descriptor in $LEAKSTOP_VALUE_FD. Its working credentials are a JSON file
(argv[1]); what it was given (argv, environment, stdin) is appended to argv[2] so tests can
check that no value travelled there."""

import hashlib
import hmac
import json
import os
import sys
import time

state_file, seen_file = sys.argv[1], sys.argv[2]
step = json.loads(sys.stdin.read())
with open(seen_file, "a", encoding="utf-8") as seen:
    seen.write(json.dumps({"argv": sys.argv, "env": dict(os.environ), "stdin": step}) + "\n")

value = None
if "LEAKSTOP_VALUE_FD" in os.environ:
    with os.fdopen(int(os.environ["LEAKSTOP_VALUE_FD"]), "rb") as pipe:
        value = pipe.read().decode()

working = set()
if os.path.exists(state_file):
    with open(state_file, encoding="utf-8") as state:
        working = set(json.load(state))
options = step["options"]
key = b"leakstop command issuer"


def fingerprint(text):
    return "hmac-sha256:" + hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:32]


if options.get("sleep"):
    time.sleep(float(options["sleep"]))
if step["step"] in options.get("refuse", []):
    print("starting", file=sys.stderr)
    print(f"login refused for \x1b[31m{value}\x1b[0m", file=sys.stderr)
    sys.exit(3)
if step["step"] == "apply":
    working.add(value)
elif step["step"] == "test":
    if value not in working:
        print("the new value does not log in", file=sys.stderr)
        sys.exit(1)
elif step["step"] == "revoke":
    working = {v for v in working if fingerprint(v) != step["fingerprint"]}
elif step["step"] == "rollback":
    working = {v for v in working if fingerprint(v) != step["abandoned_fingerprint"]}
with open(state_file, "w", encoding="utf-8") as state:
    json.dump(sorted(working), state)
