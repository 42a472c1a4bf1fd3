"""The stdio peer: JSON lines in, JSON lines out, as python-shell expects in "json" mode."""
import json
import sys


def add(a, b):
    return a + b


for line in sys.stdin:
    message = json.loads(line)
    print(json.dumps({"id": message["id"], "result": add(**message["args"])}), flush=True)
