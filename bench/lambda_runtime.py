#!/usr/bin/env python3
"""The Lambda figures: the packaged zip's bootstrap against a fake Runtime API on loopback.

Nothing real can run here, so this stands in for Lambda: it unpacks the zip, serves queued
API Gateway events on GET /2018-06-01/runtime/invocation/next (held until one is queued, as Lambda
does) and records what comes back on .../response and .../error. The bootstrap runs with only
Lambda's variables (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, TMPDIR; no DYNAMODB_TABLE,
so the store is the local one under TMPDIR). It measures:
  setup       one createTicket process on an empty TMPDIR creates the seat (201)
  cold start  COLD fresh processes of FUNCTION, one at a time, on that TMPDIR: exec of bootstrap ->
              its first `next` (init), and -> the first response posted (init + first invocation)
  warm        WARM invocations in one more process: event handed out -> its response received
  memory      that process's VmHWM and VmRSS just before it is stopped (bootstrap execs the
              loader, so the pid stays the binary's)
  package     the zip's bytes, and the bytes it unpacks to
Every invocation must answer its expected statusCode (201 for createTicket, else 200): an error
posted, another status, a process that dies or a timeout ends the run with status 1 and no JSON.
Usage: lambda_runtime.py ZIP OUT.json [--cold 20] [--warm 2000] [--function retrieveTicket]
"""
import argparse, json, math, os, signal, socket, statistics, subprocess, sys, tempfile, threading
import time, zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = "/2018-06-01/runtime"
SEAT = "B-BENCH-1"
EXPECTED = {"createTicket": 201}  # every other function here is a read: 200
TIMEOUT_S = 30


class Fail(Exception):
    pass


def now_ns():
    return time.monotonic_ns()


class Api:
    """The queue and the outcomes. `generation` counts processes, and each connection carries the
    one it was accepted in: a `next` a stopped process sent before it died, read only after, is
    never handed an event meant for the process after it, nor taken for that one's first `next`."""

    def __init__(self):
        self.cv = threading.Condition()
        self.queue = []          # (request_id, payload)
        self.generation = 0
        self.first_next_ns = None
        self.handed = {}         # request_id -> ns when its event went out
        self.outcomes = {}       # request_id -> (kind, ns, body)
        self.init_error = None
        self.serial = 0

    def start(self):  # a new process is about to start
        with self.cv:
            self.generation += 1
            self.first_next_ns = None
            self.init_error = None
            self.cv.notify_all()

    def enqueue(self, payload):
        with self.cv:
            self.serial += 1
            rid = "bench-%d-%d" % (self.generation, self.serial)
            self.queue.append((rid, payload))
            self.cv.notify_all()
            return rid

    def next(self, gen):
        """Blocks until an event is queued; None when the process it was for has been stopped."""
        with self.cv:
            if gen != self.generation:
                return None
            if self.first_next_ns is None:
                self.first_next_ns = now_ns()
                self.cv.notify_all()
            while not self.queue and gen == self.generation:
                self.cv.wait()
            if gen != self.generation:
                return None
            return self.queue.pop(0)

    def handed_out(self, rid):
        with self.cv:
            self.handed[rid] = now_ns()

    def outcome(self, rid, kind, t, body):
        with self.cv:
            known = rid in self.handed and rid not in self.outcomes
            if known:
                self.outcomes[rid] = (kind, t, body)
                self.cv.notify_all()
            return known

    def failed_init(self, body):
        with self.cv:
            self.init_error = body
            self.cv.notify_all()

    def wait(self, pred, proc, what, log):
        """Waits for pred() (under the lock) while the process lives; Fail after TIMEOUT_S."""
        end = time.monotonic() + TIMEOUT_S
        with self.cv:
            while True:
                v = pred()
                if v:
                    return v
                if self.init_error is not None:
                    raise Fail("%s: the runtime reported an init error: %s%s" % (what, self.init_error, tail(log)))
                if proc.poll() is not None:
                    raise Fail("%s: bootstrap exited with status %s%s" % (what, proc.returncode, tail(log)))
                if time.monotonic() > end:
                    raise Fail("%s: nothing within %d s%s" % (what, TIMEOUT_S, tail(log)))
                self.cv.wait(0.05)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api):
        self.api, self.conn_gen = api, {}
        super().__init__(("127.0.0.1", 0), handler_class(api))

    def process_request(self, request, client_address):  # right after accept, in the accepting thread
        with self.api.cv:
            self.conn_gen[request] = self.api.generation
        super().process_request(request, client_address)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a killed process's connection
            super().handle_error(request, client_address)


def handler_class(api):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the runtime's one connection expects
        disable_nagle_algorithm = True

        def setup(self):
            super().setup()
            with api.cv:
                self.gen = self.server.conn_gen.pop(self.request, -1)

        def log_message(self, *args):
            pass

        def send(self, status, body=b"", headers=()):
            head = ["HTTP/1.1 %d %s" % (status, self.responses.get(status, ("",))[0]),
                    "Content-Type: application/json", "Content-Length: %d" % len(body)]
            head += ["%s: %s" % h for h in headers]
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)  # one write

        def do_GET(self):
            if self.path != API + "/invocation/next":
                return self.send(404, b'{"errorMessage":"unknown path"}')
            got = api.next(self.gen)
            if got is None:  # its process is gone: drop the connection
                self.close_connection = True
                return
            rid, payload = got
            deadline = int(time.time() * 1000) + TIMEOUT_S * 1000
            api.handed_out(rid)
            self.send(200, payload.encode(), [
                ("Lambda-Runtime-Aws-Request-Id", rid),
                ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:ticket-booking-bench"),
                ("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0"),
            ])

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            t = now_ns()
            parts = self.path[len(API) + 1:].split("/") if self.path.startswith(API + "/") else []
            if parts == ["init", "error"]:
                api.failed_init(body.decode(errors="replace"))
                return self.send(202, b'{"status":"OK"}')
            if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                kind = parts[2]
                if kind == "error":
                    body = (self.headers.get("Lambda-Runtime-Function-Error-Type", "") + " " +
                            body.decode(errors="replace")).encode()
                if api.outcome(parts[1], kind, t, body):
                    return self.send(202, b'{"status":"OK"}')
                return self.send(400, b'{"errorMessage":"unknown or answered request id"}')
            self.send(404, b'{"errorMessage":"unknown path"}')

    return Handler


def tail(log, n=15):
    try:
        with open(log, errors="replace") as f:
            lines = f.read().splitlines()[-n:]
    except OSError:
        return ""
    return "\n  bootstrap log (%s):\n  " % log + "\n  ".join(lines) if lines else ""


def event(function):
    if function == "createTicket":
        return {"httpMethod": "POST", "path": "/ticket", "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"Theatre-Seat": SEAT, "Movie": "Bench", "Price": 12.5}),
                "queryStringParameters": None}
    if function == "retrieveTicket":
        return {"httpMethod": "GET", "path": "/ticket", "queryStringParameters": {"Theatre-Seat": SEAT}, "body": None}
    # the other reads take no parameters; anything else gets this event and must answer it right
    return {"httpMethod": "GET", "path": "/", "queryStringParameters": None, "body": None}


class Runtime:
    """One bootstrap process: started fresh, stopped (SIGKILL, as Lambda ends a sandbox) and reaped."""

    def __init__(self, api, root, address, tmpdir, function, log, current):
        self.api, self.function, self.log = api, function, log
        env = {"AWS_LAMBDA_RUNTIME_API": address, "_HANDLER": function, "LAMBDA_TASK_ROOT": root,
               "TMPDIR": tmpdir, "AWS_LAMBDA_FUNCTION_NAME": "ticket-booking-bench-" + function,
               "AWS_REGION": "us-east-1"}
        api.start()
        self.logf = open(log, "ab")
        self.t_exec = now_ns()
        self.proc = subprocess.Popen([os.path.join(root, "bootstrap")], cwd=root, env=env,
                                     stdin=subprocess.DEVNULL, stdout=self.logf, stderr=self.logf)
        current.append(self)

    def wait_ready(self):  # -> ns from exec to the first `next`
        t = self.api.wait(lambda: self.api.first_next_ns, self.proc, self.function + ": first next", self.log)
        return t - self.t_exec

    def invoke(self, payload):  # -> (ns handed out, ns answered)
        rid = self.api.enqueue(payload)
        kind, t, body = self.api.wait(lambda: self.api.outcomes.get(rid), self.proc,
                                      "%s: invocation %s" % (self.function, rid), self.log)
        if kind != "response":
            raise Fail("%s: invocation %s posted an error: %s%s" % (self.function, rid, body[:500].decode(errors="replace"), tail(self.log)))
        try:
            status = json.loads(body)["statusCode"]
        except (ValueError, KeyError, TypeError):
            raise Fail("%s: invocation %s: not an API Gateway proxy response: %r" % (self.function, rid, body[:500]))
        want = EXPECTED.get(self.function, 200)
        if status != want:
            raise Fail("%s: invocation %s answered statusCode %s, expected %s: %s" % (
                self.function, rid, status, want, body[:500].decode(errors="replace")))
        return self.api.handed[rid], t

    def status_kb(self):
        vals = {}
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "VmRSS"):
                    vals[k] = int(v.split()[0])
        with open("/proc/%d/cmdline" % self.proc.pid, "rb") as f:
            cmd = f.read()
        if b"ticket-booking" not in cmd:
            raise Fail("pid %d is not the binary: %r" % (self.proc.pid, cmd[:200]))
        return vals

    def stop(self):  # may run twice: a SIGTERM can cut the first short
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(10)
        finally:
            self.api.start()  # releases its pending `next`
            self.logf.close()


def ms(ns):
    return ns / 1e6


def pct(values, p):  # nearest rank
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def summary(values, *ps):
    out = {"median": round(statistics.median(values), 3)}
    for p in ps:
        out["p%d" % p] = round(pct(values, p), 3)
    out.update(min=round(min(values), 3), max=round(max(values), 3))
    return out


def unpack(zip_path, dest):
    """As `unzip` does: the files with their modes (bootstrap must stay executable)."""
    size = 0
    with zipfile.ZipFile(zip_path) as z:
        infos = [i for i in z.infolist() if not i.is_dir()]
        for i in infos:
            path = z.extract(i, dest)
            mode = (i.external_attr >> 16) & 0o777
            if mode:
                os.chmod(path, mode)
            size += os.path.getsize(path)
    return size, len(infos)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("zip")
    ap.add_argument("out")
    ap.add_argument("--cold", type=int, default=20, help="fresh processes for the cold start")
    ap.add_argument("--warm", type=int, default=2000, help="invocations in one process")
    ap.add_argument("--function", default="retrieveTicket", help="_HANDLER of the cold and warm processes")
    ap.add_argument("--logs", help="where the bootstrap logs go (default: the work dir, removed)")
    a = ap.parse_args()
    if a.cold < 1 or a.warm < 1:
        ap.error("--cold and --warm must be at least 1")

    api = Api()
    server = Server(api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = "127.0.0.1:%d" % server.server_address[1]
    current = []  # the live bootstrap, stopped however this ends

    def stop_current():
        while current:
            current[-1].stop()
            current.pop()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = tempfile.mkdtemp(prefix="ticket-bench-lambda.")
    try:
        root, tmp = os.path.join(work, "task"), os.path.join(work, "tmp")
        os.makedirs(tmp)
        logs = a.logs or work
        os.makedirs(logs, exist_ok=True)
        log = lambda name: os.path.join(logs, "lambda.%s.log" % name)
        unpacked, files = unpack(a.zip, root)

        def process(function, name):
            # no SIGTERM between the fork and `current` knowing the process
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            try:
                return Runtime(api, root, address, tmp, function, log(name), current)
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})

        # setup: the seat, created by createTicket on an empty /tmp (a fresh sandbox's store)
        r = process("createTicket", "setup")
        setup_init = r.wait_ready()
        h, t = r.invoke(json.dumps(event("createTicket")))
        setup = {"function": "createTicket", "init_ms": round(ms(setup_init), 3),
                 "first_response_ms": round(ms(t - r.t_exec), 3), "invocation_ms": round(ms(t - h), 3)}
        stop_current()

        payload = json.dumps(event(a.function))
        inits, firsts = [], []
        for i in range(a.cold):
            r = process(a.function, "cold")
            inits.append(ms(r.wait_ready()))
            _, t = r.invoke(payload)
            firsts.append(ms(t - r.t_exec))
            stop_current()

        r = process(a.function, "warm")
        r.wait_ready()
        warm = []
        for i in range(a.warm):
            h, t = r.invoke(payload)
            warm.append(ms(t - h))
        mem = r.status_kb()
        stop_current()

        out = {
            "function": a.function,
            "event": event(a.function),
            "store": "local SQLite under TMPDIR (no DYNAMODB_TABLE)",
            "runtime_api": "fake, bench/lambda_runtime.py on loopback (Python http.server, HTTP/1.1 keep-alive)",
            "setup": setup,
            "cold_start_ms": {"processes": a.cold, "init": summary(inits, 90),
                              "first_response": summary(firsts, 90),
                              "runs": [{"init": round(x, 3), "first_response": round(y, 3)} for x, y in zip(inits, firsts)]},
            "warm_invocation_ms": dict(invocations=a.warm, **summary(warm, 90, 99)),
            "memory_kb": {"peak_VmHWM": mem["VmHWM"], "rss_end": mem["VmRSS"],
                          "after": "%d invocations in one process" % a.warm},
            "package_bytes": {"zip": os.path.getsize(a.zip), "unzipped": unpacked, "files": files},
            "statistic": "cold start: median and p90 over fresh processes; warm: median and p99 over invocations",
        }
        with open(a.out + ".tmp", "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
        os.replace(a.out + ".tmp", a.out)
        c, w = out["cold_start_ms"], out["warm_invocation_ms"]
        print("lambda %s: cold start init p50 %.2f ms, to first response p50 %.2f ms (%d processes); "
              "warm p50 %.3f ms p99 %.3f ms (%d); peak RSS %d kB; zip %d bytes" % (
                  a.function, c["init"]["median"], c["first_response"]["median"], a.cold,
                  w["median"], w["p99"], a.warm, mem["VmHWM"], out["package_bytes"]["zip"]), file=sys.stderr)
        return 0
    except Fail as e:
        print("lambda_runtime.py: FAILED: %s" % e, file=sys.stderr)
        return 1
    finally:
        stop_current()
        server.shutdown()
        import shutil
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
