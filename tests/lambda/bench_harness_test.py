#!/usr/bin/env python3
"""Keeps the Lambda benchmark honest without timing anything: bench/lambda_runtime.py, with tiny
counts, against the zip scripts/package-lambda.sh makes of the built binary.

It checks that a good run writes every figure with sane values (the zip's bytes are the file's),
that a run whose invocations fail (a 4xx statusCode, an invocation error, an init error) exits
nonzero and writes nothing, and that no bootstrap outlives the script, even one stopped by SIGTERM.
Usage: bench_harness_test.py BINARY PACKAGE_SCRIPT LAMBDA_RUNTIME_PY
"""
import json, os, signal, subprocess, sys, tempfile, time, zipfile

binary, package_script, harness = sys.argv[1:4]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def bootstraps(tmp):
    """Pids of the live processes the harness started: their cmdline names its work dir."""
    under = os.path.join(tmp, "ticket-bench-lambda.")
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read()
            with open("/proc/%s/stat" % pid) as f:
                state = f.read().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if under.encode() in cmd and state != "Z":
            pids.append(int(pid))
    return pids


with tempfile.TemporaryDirectory(prefix="bench-harness-test.") as tmp:
    env = dict(os.environ, TMPDIR=tmp)  # the harness unpacks and runs everything under here
    zip_path = os.path.join(tmp, "out", "ticket-booking.zip")
    subprocess.run(["bash", package_script, "--binary", binary, "--out", zip_path], check=True,
                   stdout=subprocess.DEVNULL, timeout=120)

    def harness_run(name, *args):
        out = os.path.join(tmp, name + ".json")
        run = subprocess.run([sys.executable, harness, zip_path, out, *args], env=env, capture_output=True,
                             text=True, timeout=120)
        check(not bootstraps(tmp), "%s: a bootstrap outlived the harness: %s" % (name, bootstraps(tmp)))
        return run, out

    # A good run: every field, sane values.
    run, out = harness_run("good", "--cold", "2", "--warm", "20")
    if check(run.returncode == 0 and os.path.exists(out), "good run failed (%d): %s" % (run.returncode, run.stderr)):
        r = json.load(open(out))
        cold, warm, mem, pkg = r["cold_start_ms"], r["warm_invocation_ms"], r["memory_kb"], r["package_bytes"]
        check(r["function"] == "retrieveTicket", "function: %s" % r["function"])
        check("TMPDIR" in r["store"] and "DYNAMODB_TABLE" in r["store"], "the store is not named: %s" % r["store"])
        check(cold["processes"] == 2 and len(cold["runs"]) == 2, "cold runs: %s" % cold)
        for run_ in cold["runs"]:
            check(0 < run_["init"] <= run_["first_response"], "a cold start's init after its first response: %s" % run_)
        for k in ("init", "first_response"):
            s = cold[k]
            check(0 < s["min"] <= s["median"] <= s["p90"] <= s["max"], "cold %s: %s" % (k, s))
        check(warm["invocations"] == 20, "warm invocations: %s" % warm)
        check(0 < warm["min"] <= warm["median"] <= warm["p99"] <= warm["max"], "warm: %s" % warm)
        check(0 < mem["rss_end"] <= mem["peak_VmHWM"], "memory: %s" % mem)
        check(pkg["zip"] == os.path.getsize(zip_path), "zip bytes %s, the file has %d" % (pkg["zip"], os.path.getsize(zip_path)))
        with zipfile.ZipFile(zip_path) as z:
            files = [i for i in z.infolist() if not i.is_dir()]
        check(pkg["files"] == len(files) and pkg["unzipped"] == sum(i.file_size for i in files) > pkg["zip"],
              "unzipped %s, the zip lists %d files of %d bytes" % (pkg, len(files), sum(i.file_size for i in files)))
        check(r["setup"]["function"] == "createTicket" and r["setup"]["init_ms"] > 0, "setup: %s" % r["setup"])

    # Runs that must fail loudly: the wrong statusCode, an invocation error, an init error.
    for name, function, says in [
        ("4xx", "createTicket", "statusCode 409"),                  # each process creates the seat again
        ("error", "priceChangeEventHandler", "posted an error"),     # an API Gateway event for the SNS handler
        ("init", "noSuchFunction", "init error"),
    ]:
        run, out = harness_run(name, "--cold", "2", "--warm", "5", "--function", function)
        check(run.returncode != 0, "%s: exited 0 although its invocations failed" % name)
        check(says in run.stderr and "FAILED" in run.stderr, "%s: no '%s' in: %s" % (name, says, run.stderr[-2000:]))
        check(not os.path.exists(out), "%s: a failed run wrote %s" % (name, out))

    # Stopped while its warm process runs: SIGTERM, and the bootstrap goes with it.
    out, logs = os.path.join(tmp, "stopped.json"), os.path.join(tmp, "logs")
    proc = subprocess.Popen([sys.executable, harness, zip_path, out, "--cold", "1", "--warm", "100000000",
                             "--logs", logs], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 60  # a bound on the wait, not a measurement
        while time.monotonic() < end and proc.poll() is None and not (
                os.path.exists(os.path.join(logs, "lambda.warm.log")) and bootstraps(tmp)):
            time.sleep(0.02)
        check(proc.poll() is None and bootstraps(tmp), "no warm bootstrap running under the harness (exit %s): %s" % (
            proc.poll(), proc.stderr.read() if proc.poll() is not None else ""))
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        check(proc.returncode != 0, "SIGTERM: exited 0")
        check(not bootstraps(tmp), "SIGTERM: a bootstrap outlived the harness: %s" % bootstraps(tmp))
        check(not os.path.exists(out), "SIGTERM: a stopped run wrote %s" % out)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

for f in failures:
    print("FAILED:", f)
print("bench harness: %s" % ("%d failed" % len(failures) if failures else "ok"))
sys.exit(1 if failures else 0)
