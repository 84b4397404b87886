"""A one-shot process agent: one request on stdin, the answer on stdout, then exit.

Tasks: `text` answers plain text with a CONFIDENCE line, `fail` exits 2 with a message on
stderr, `hang` starts a child, writes both pids to the file named by data.pidfile and sleeps,
anything else answers a JSON response.
"""
import json
import subprocess
import sys
import time

req = json.loads(sys.stdin.readline())
task = req.get("task")
if task == "text":
    print("The answer is 42.\nCONFIDENCE: 0.65")
elif task == "fail":
    sys.stderr.write("bad input: nothing to do\n")
    sys.exit(2)
elif task == "hang":
    child = subprocess.Popen(["sleep", "300"])
    with open(req["data"]["pidfile"], "w") as f:
        f.write(f"{child.pid}\n")
    time.sleep(300)
else:
    print(json.dumps({"id": req["id"], "value": req["task"], "confidence": 0.9}))
