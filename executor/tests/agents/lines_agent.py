"""A process agent speaking JSON lines: one request per stdin line, one response per line.

Tasks: `crash` exits at once (pending calls fail), `garbage` answers a non-JSON line,
anything else answers {pid, echo} with confidence 0.75.
"""
import json
import os
import sys

for line in sys.stdin:
    req = json.loads(line)
    task = req.get("task")
    if task == "crash":
        sys.stderr.write("dying on purpose\n")
        sys.stderr.flush()
        os._exit(3)
    if task == "garbage":
        print("not json at all", flush=True)
        continue
    answer = {"id": req["id"], "value": {"pid": os.getpid(), "echo": req["data"]}, "confidence": 0.75}
    print(json.dumps(answer), flush=True)
