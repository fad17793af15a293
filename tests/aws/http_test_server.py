"""A loopback HTTP server for http_client's tests.

Listens on the port given as its argument, or a free one; prints the port on stdout once it
listens. Paths:
  /echo            answers with the request body; X-Echo-* headers report the method, the
                   Expect and X-Custom headers it got and the client's port (keep-alive checks)
  /status/N        answers status N with body "status N"
  /bytes/N         answers N bytes
  /slow/MS         waits MS milliseconds, then answers
"""
import http.server
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as AWS endpoints

    def log_message(self, *args):
        pass

    def answer(self, status, body, extra=()):
        self.send_response(status)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = self.path.split("/")
        if parts[1] == "echo":
            self.answer(200, body, [
                ("X-Echo-Method", self.command),
                ("X-Echo-Expect", self.headers.get("Expect", "")),
                ("X-Echo-Custom", self.headers.get("X-Custom", "")),
                ("X-Echo-Client-Port", str(self.client_address[1])),
            ])
        elif parts[1] == "status":
            status = int(parts[2])
            self.answer(status, b"status %d" % status)
        elif parts[1] == "bytes":
            self.answer(200, b"x" * int(parts[2]))
        elif parts[1] == "slow":
            time.sleep(int(parts[2]) / 1000)
            self.answer(200, b"slow")
        else:
            self.answer(404, b"unknown path")

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
