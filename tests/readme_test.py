#!/usr/bin/env python3
"""Runs every command in the README's sh blocks against a real server and checks what it prints.

A command's expected output is the '# ...' comment right under it when that comment is JSON:
'...' stands for anything. Only the port, the binary path and the data dir are substituted.
Usage: readme_test.py BINARY README
"""
import os, re, signal, subprocess, sys, tempfile, time

binary, readme = sys.argv[1], sys.argv[2]
blocks = re.findall(r"```sh\n(.*?)```", open(readme).read(), re.S)

def commands(block):
    out, current, expected = [], None, []
    for line in block.splitlines():
        if current is not None and current.endswith("\\"):
            current = current[:-1] + " " + line.strip()
            continue
        if line.startswith("#"):
            if current is not None:
                expected.append(line.lstrip("#").strip())
            continue
        if current is not None:
            out.append((current, "".join(expected)))
        current, expected = (line.strip() or None), []
    if current is not None:
        out.append((current, "".join(expected)))
    return out

def pattern(expected):
    if not expected.startswith("{"):
        return None  # prose, not a printed result
    return re.compile(".*".join(re.escape(p) for p in expected.split("...")) + r"\s*", re.S)

failures, checked = [], 0
with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "data")
    server = subprocess.Popen([binary, "serve", "--port", "0", "--data-dir", data],
                              stderr=subprocess.PIPE, text=True)
    port = None
    for line in server.stderr:
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if m:
            port = m.group(1)
            break
    try:
        for block in blocks:
            for cmd, expected in commands(block):
                if cmd.startswith("make ") or "--follow" in cmd:
                    continue  # the build commands run CI itself; --follow never ends
                cmd = cmd.replace("127.0.0.1:8080", "127.0.0.1:" + port)
                cmd = cmd.replace("build/ticket-booking", binary).replace("./data", data)
                want = pattern(expected)
                deadline = time.time() + 3
                while True:
                    run = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=30)
                    ok = run.returncode == 0 and (want is None or want.fullmatch(run.stdout))
                    # the discount metadata lands a moment after the PATCH: a read may look again
                    if ok or " -X " in cmd or " --data" in cmd or time.time() > deadline:
                        break
                    time.sleep(0.05)
                checked += 1
                if not ok:
                    failures.append(f"{cmd}\n  expected: {expected}\n  got ({run.returncode}): {(run.stdout + run.stderr)[:2000]}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)

for f in failures:
    print("FAILED:", f)
print(f"{checked - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures or checked == 0 else 0)
