"""Bad input never gives a 5xx or a non-envelope body.

Every test here throws hostile requests at the API (through nginx, or as
raw bytes on a socket where http.client would refuse to send them) and
checks that each answer is a JSON envelope with "error": true and a 4xx
status.  After each test, /health still answers and no responder child
died: the pool's pids are unchanged and the supervisor logged no child
killed by a signal.
"""
import http.client
import json
import os
import re
import select
import socket
import unittest

import harness

JSON = {"Content-Type": "application/json"}

# Bodies that are not a JSON object.
MALFORMED = [
    b"{", b"nul", b"[1,2]", b'"str"', b"{} x", b"{}{}", b"{}]", b"42",
    b"{'a':'b'}", b'{"a":1,}', b'{"a" 1}', b'{"a":tru}', b"NaN", b"1e999999",
    b"\xef\xbb\xbf{}", b"\x00", b"   ", b"\r\n", b"\x80",
    b'{"a":' + b"[" * 100 + b"]" * 100 + b"}",
    b'{"a":' * 100 + b"1" + b"}" * 100,
    b"[" * 100 + b"]" * 100,
    b'{"a":"unterminated', b'{"a":"\\x41"}', b'{"a":"\\u12"}',
    # Non-UTF-8 anywhere in the text.
    b'{"username":"\xff\xfe"}', b'{"a":"\xc3"}', b'{"\xff":1}',
]

# Not JSON either, though json-c in strict mode lets them through: a
# single-quoted key, raw control characters inside a string (RFC 8259
# requires them escaped), and NUL bytes after the value (NUL is not JSON
# white space).
LENIENT = [
    b"{'a':1}", b"{'username':\"abc\"}", b'{"a":"raw\x01control"}',
    b'{"a":"tab\there"}', b'{"a":"new\nline"}', b"{}\x00", b"{}\x00\x00 ",
]

# Byte sequences that are not UTF-8 even though every byte looks like part
# of a well-formed sequence: an overlong "/", a UTF-16 surrogate, a code
# point above U+10FFFF, an overlong NUL, a 5-byte form.
BAD_UTF8 = [b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\x80",
            b"\xf8\x88\x80\x80\x80", b"\xff\xfe", b"a\x80b"]


def raw_request(stack, data, half_close=False, timeout=10):
    """Send raw bytes; return a Response, or None if the server closed the
    connection without answering."""
    c = socket.create_connection(("127.0.0.1", stack.port), timeout=timeout)
    out = b""
    try:
        try:
            c.sendall(data)
            if half_close:
                c.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while True:
            try:
                chunk = c.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        c.close()
    if not out:
        return None
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = [tuple(x.strip() for x in line.split(":", 1))
               for line in lines[1:]]
    for k, v in headers:
        if k.lower() == "content-length":
            body = body[:int(v)]
    return harness.Response(status, headers, body)


def stream_request(stack, method, path, total, chunk=1 << 16, headers=None,
                   chunked=False):
    """Send a body of total bytes in pieces, tolerating the server closing
    the connection mid-upload, then read the answer."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    try:
        conn.putrequest(method, path)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        else:
            conn.putheader("Content-Length", str(total))
        conn.endheaders()
        piece = b" " * chunk
        sent = 0
        try:
            while sent < total:
                # Stop early once the server has answered (nginx refuses a
                # too large Content-Length before reading the body).
                if select.select([conn.sock], [], [], 0)[0]:
                    break
                n = min(chunk, total - sent)
                if chunked:
                    conn.send(b"%x\r\n" % n + piece[:n] + b"\r\n")
                else:
                    conn.send(piece[:n])
                sent += n
            if chunked:
                conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = conn.getresponse()
        return harness.Response(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


class Robustness(unittest.TestCase):
    """Bad input never gives a 5xx or a non-envelope body."""

    def setUp(self):
        self.s = harness.STACK
        self.children = self.s.fcgi_children()
        self.log = os.path.join(self.s.dir, "fcgi.log")
        self.log_offset = os.path.getsize(self.log)
        self.problems = []
        self._token = None

    def tearDown(self):
        # Every bad case is listed, not just the first.
        problems = self.problems
        r = self.s.api("GET", "/health")
        if r.status != 200 or r.json() != {"error": False,
                                           "message": "200 ALIVE"}:
            problems.append("/health afterwards: %r" % (r,))
        children = self.s.fcgi_children()
        if children != self.children:
            problems.append("responder children changed: %r -> %r" % (
                self.children, children))
        with open(self.log, "rb") as f:
            f.seek(self.log_offset)
            new = f.read().decode("utf-8", "replace")
        for line in new.splitlines():
            if "killed by signal" in line or "exited with status" in line:
                problems.append("fcgi.log: " + line)
        if problems:
            self.fail("%d problem(s):\n  " % len(problems) +
                      "\n  ".join(problems))

    def token(self):
        if self._token is None:
            _, _, self._token = harness.register(self.s)
        return self._token

    def endpoints(self):
        """(method, path, token, a valid body) for each JSON endpoint."""
        name = harness.unique()
        return [
            ("POST", "/auth/basic/register", None, {
                "username": name, "name": "N", "email": name + "@example.com",
                "password": "correct-horse-battery"}),
            ("POST", "/auth/basic/login", None, {
                "loginname": name, "password": "whatever-it-is",
                "remember_me": False}),
            ("POST", "/auth/check-username", None, {"username": name}),
            ("POST", "/user/keys", self.token(), {"name": "k-" + name}),
            ("DELETE", "/user/keys", self.token(), {"name": "k-" + name}),
            ("PATCH", "/user/settings", self.token(), {
                "username": name, "name": "N",
                "email": name + "@example.com"}),
        ]

    def bad(self, r, what, status=None, message=None):
        """Note a problem unless r is a 4xx (or the given status) JSON
        envelope with error true and, if given, the message."""
        try:
            self.assertIsNotNone(r, "no answer")
            if status is None:
                self.assertTrue(400 <= r.status < 500, r)
                status = r.status
            harness.expect(self, r, status, True, message)
        except AssertionError as e:
            self.problems.append("%r: %s" % (what, str(e).splitlines()[0]))

    # -- bodies ------------------------------------------------------------
    def test_malformed_json_is_400_everywhere(self):
        for method, path, tok, _ in self.endpoints():
            for body in MALFORMED:
                r = self.s.api(method, path, body, token=tok, headers=JSON)
                self.bad(r, (method, path, body[:30]), 400,
                         re.compile(r"^request body (is|must)"))

    def test_not_quite_json_is_400_everywhere(self):
        for method, path, tok, _ in self.endpoints():
            for body in LENIENT:
                r = self.s.api(method, path, body, token=tok, headers=JSON)
                self.bad(r, (method, path, body[:30]), 400,
                         re.compile(r"^request body is not valid JSON"))

    def test_empty_body_is_400_everywhere(self):
        for method, path, tok, _ in self.endpoints():
            for headers in ({}, JSON, {"Content-Length": "0"}):
                r = self.s.api(method, path, None, token=tok,
                               headers=headers)
                self.bad(r, (method, path, headers), 400,
                         "request body is required: expected a JSON object")

    def test_wrong_types_are_400_everywhere(self):
        bool_fields = {"remember_me"}
        for method, path, tok, valid in self.endpoints():
            for field in valid:
                values = [5, 1.5, [], {}, ["x"], {"a": "b"}, 0, -1]
                values += ["true"] if field in bool_fields else [True, False]
                for v in values:
                    body = dict(valid, **{field: v})
                    r = self.s.api(method, path, body, token=tok)
                    self.bad(r, (method, path, field, v), 400,
                             re.compile(r"^field '%s'" % field))

    def test_non_utf8_in_strings_is_400_everywhere(self):
        mark = "@@BAD@@"
        for method, path, tok, valid in self.endpoints():
            for field in valid:
                if not isinstance(valid[field], str):
                    continue
                value = "x" + mark + ("@example.com" if field == "email"
                                      else "yz-long-enough")
                text = json.dumps(dict(valid, **{field: value})).encode()
                for seq in BAD_UTF8:
                    body = text.replace(mark.encode(), seq)
                    r = self.s.api(method, path, body, token=tok,
                                   headers=JSON)
                    self.bad(r, (method, path, field, seq), 400)

    def test_nul_inside_strings_is_400(self):
        for method, path, tok, valid in self.endpoints():
            for field in valid:
                if not isinstance(valid[field], str):
                    continue
                body = dict(valid, **{field: "a\u0000b"})
                r = self.s.api(method, path, body, token=tok)
                self.bad(r, (method, path, field), 400,
                         re.compile(r"^field '%s'" % field))

    def test_huge_strings_are_400_not_5xx(self):
        for method, path, tok, valid in self.endpoints():
            for field in valid:
                if not isinstance(valid[field], str):
                    continue
                body = dict(valid, **{field: "x" * 100000})
                r = self.s.api(method, path, body, token=tok)
                self.bad(r, (method, path, field), 400)

    def test_body_near_the_limit_reaches_the_responder(self):
        # 8 000 000 bytes is under client_max_body_size (8 MiB): nginx
        # passes it on, and the responder refuses the oversized field.
        body = b'{"username":"' + b"a" * 7999900 + b'"}'
        r = self.s.api("POST", "/auth/check-username", body, headers=JSON)
        self.bad(r, "8 MB", 400, re.compile(r"^field 'username'"))

    def test_twenty_megabyte_body_is_413(self):
        for method, path, tok, _ in self.endpoints():
            headers = dict(JSON)
            if tok is not None:
                headers["Authorization"] = "Bearer " + tok
            for chunked in (False, True):
                r = stream_request(self.s, method, "/api/v1" + path,
                                   20000000, headers=headers,
                                   chunked=chunked)
                self.bad(r, (method, path, chunked), 413,
                         "Request body is too large")
        # Just over the limit is refused too.
        r = stream_request(self.s, "POST", "/api/v1/auth/check-username",
                           8 * 1024 * 1024 + 1, headers=JSON)
        self.bad(r, "8 MiB + 1", 413, "Request body is too large")

    # -- paths and methods -------------------------------------------------
    def test_unknown_paths_are_404(self):
        for path in ("/api/v1/nope", "/api/v1/user/nope",
                     "/api/v1/user/keys/extra", "/api/v1//nope",
                     "/api/v1/user/", "/api/v1/USER", "/api/v1/auth",
                     "/api/v1/auth/basic", "/api/v1/auth/basic/",
                     "/api/v2/user", "/api", "/api/", "/", "/index.html",
                     "/logo.gif", "/api/v1/" + "a" * 300,
                     "/api/v1/user/" + "b/" * 200,
                     "/api/v1/%2e%2e/%2e%2e/etc/passwd",
                     "/.gradient-error/500",
                     "/api/v1/health/", "/api/v1/health.json"):
            for method in ("GET", "POST", "DELETE"):
                r = self.s.request(method, path, b"{}" if method == "POST"
                                   else None)
                self.bad(r, (method, path[:60]), 404, "Not Found")

    def test_wrong_methods_are_405_with_allow(self):
        cases = [("PUT", "/user", "GET, DELETE"),
                 ("POST", "/user", "GET, DELETE"),
                 ("POST", "/user/settings", "GET, PATCH"),
                 ("PUT", "/user/keys", "GET, POST, DELETE"),
                 ("GET", "/auth/basic/login", "POST"),
                 ("GET", "/auth/basic/register", "POST"),
                 ("DELETE", "/auth/check-username", "POST"),
                 ("GET", "/auth/logout", "POST"),
                 ("DELETE", "/health", "GET"),
                 ("PATCH", "/config", "GET"),
                 ("OPTIONS", "/user", "GET, DELETE"),
                 ("BREW", "/health", "GET")]
        for method, path, allow in cases:
            # No credentials: a wrong method is 405 before it is 401.
            r = self.s.api(method, path, {"x": 1})
            self.bad(r, (method, path), 405, "Method %s is not allowed here; "
                     "use %s" % (method, allow))
            if r.header("Allow") != allow:
                self.problems.append("%s %s: Allow %r, want %r" % (
                    method, path, r.header("Allow"), allow))
        r = self.s.request("TRACE", "/api/v1/health")
        self.bad(r, "TRACE", 405)
        r = raw_request(self.s, b"get /api/v1/health HTTP/1.1\r\nHost: x\r\n"
                        b"Connection: close\r\n\r\n")
        self.bad(r, "lowercase method", 400)

    def test_non_utf8_paths(self):
        for path in ("/api/v1/%FF", "/api/v1/user/%FF%FE", "/api/v1/%C0%AF",
                     "/api/v1/%ED%A0%80", "/api/v1/health%FF"):
            self.bad(self.s.request("GET", path), path, 404, "Not Found")
        for path in ("/api/v1/%00", "/api/v1/health%00", "/api/v1/%"):
            self.bad(self.s.request("GET", path), path, 400)
        r = raw_request(self.s, b"GET /api/v1/\xff\xfe HTTP/1.1\r\nHost: x\r\n"
                        b"Connection: close\r\n\r\n")
        self.bad(r, "raw 0xff", 404, "Not Found")

    # -- headers and framing -----------------------------------------------
    def test_huge_header_is_400_envelope(self):
        r = self.s.api("GET", "/health", headers={"X-Big": "a" * 65536})
        self.bad(r, "64 KB header", 400)
        r = self.s.api("GET", "/user", headers={
            "Authorization": "Bearer " + "a" * 65536})
        self.bad(r, "64 KB token", 400)
        many = {"X-H%d" % i: "v" * 200 for i in range(400)}
        self.bad(self.s.api("GET", "/health", headers=many), "80 KB of "
                 "headers", 400)
        # A long token that nginx passes on is the responder's 401.
        r = self.s.api("GET", "/user", token="a" * 7000)
        self.bad(r, "7 KB token", 401, "Unauthorized")
        if r.header("WWW-Authenticate") != "Bearer":
            self.problems.append("7 KB token: no WWW-Authenticate: Bearer")

    def test_long_uri_is_414_envelope(self):
        for path in ("/api/v1/" + "a" * 10240,
                     "/api/v1/health?" + "q=1&" * 2560):
            r = self.s.request("GET", path)
            self.bad(r, path[:30], None)
            self.assertIn(r.status, (400, 414))

    def test_content_length_mismatch(self):
        head = (b"POST /api/v1/auth/basic/register HTTP/1.1\r\nHost: x\r\n"
                b"Connection: close\r\nContent-Type: application/json\r\n")
        # Shorter than the body: the responder sees exactly "{}".
        r = raw_request(self.s, head + b"Content-Length: 2\r\n\r\n{}xxxx")
        self.bad(r, "short", 400, "field 'username' is required")
        # Longer than the body, and the client stops sending: nginx drops
        # the request; whatever comes back is an envelope.
        r = raw_request(self.s, head + b"Content-Length: 100\r\n\r\n{}",
                        half_close=True)
        if r is not None:
            self.bad(r, "long", None)
        for cl in (b"abc", b"-1", b"1, 2", b"99999999999999999999", b"0x10",
                   b"2\r\nContent-Length: 3"):
            r = raw_request(self.s, head + b"Content-Length: " + cl +
                            b"\r\n\r\n{} ")
            self.bad(r, cl, None)
        r = raw_request(self.s, head + b"Content-Length: 2\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n"
                        b"2\r\n{}\r\n0\r\n\r\n")
        self.bad(r, "both framings", None)
        r = raw_request(self.s, head + b"Transfer-Encoding: chunked\r\n\r\n"
                        b"zz\r\n{}\r\n0\r\n\r\n")
        self.bad(r, "bad chunk", 400)

    def test_chunked_body_is_read(self):
        name = harness.unique()
        rest = b'rname":"%s"}' % name.encode()
        r = raw_request(self.s, b"POST /api/v1/auth/check-username "
                        b"HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n"
                        b'5\r\n{"use\r\n%x\r\n%s\r\n0\r\n\r\n' % (
                            len(rest), rest))
        harness.expect(self, r, 200, False, "Username is available")

    def test_nginx_protocol_errors_are_envelopes(self):
        for req in (b"GET /api/v1/health HTTP/9.9\r\nHost: x\r\n\r\n",
                    b"GET /api/v1/health HTTP/2.0\r\nHost: x\r\n\r\n",
                    b"POST /api/v1/auth/check-username HTTP/1.1\r\nHost: x\r\n"
                    b"Transfer-Encoding: gzip\r\n\r\n{}",
                    b"GET /api/v1/health HTTP/1.1\r\n\r\n",
                    b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n"
                    b"Host: y\r\n\r\n",
                    b"garbage\r\n\r\n"):
            r = raw_request(self.s, req)
            # nginx answers 501 and 505 itself; those may stay 5xx, but the
            # body must still be the envelope.
            if r is not None and r.status in (501, 505):
                self.bad(r, req[:40], r.status)
            else:
                self.bad(r, req[:40])

if __name__ == "__main__":
    unittest.main()
