"""harness.py - start a private Gradient stack on loopback for the tests.

One Stack is PostgreSQL (run as the unprivileged user "gradient", since
PostgreSQL refuses root), gradient-fcgi and nginx, in a fresh temporary
directory, on free ports.  Every process is stopped by PID in stop().
Readiness is polled with a deadline, never slept for.  On failure the
runner prints the log tails from tail_logs().
"""
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SVC_USER = "gradient"
SRCDIR = os.environ.get("GRADIENT_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.environ.get("GRADIENT_BUILDDIR") or os.path.join(SRCDIR, "build")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pg_bindir():
    root = "/usr/lib/postgresql"
    versions = sorted(os.listdir(root), key=lambda v: int(v.split(".")[0]))
    return os.path.join(root, versions[-1], "bin")


def wait_for(pred, what, timeout=20.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(interval)
    raise RuntimeError("timed out waiting for " + what)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def message(self):
        return self.json()["message"]

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:200])


class Stack:
    def __init__(self, children=3, extra_config=None, worker=True):
        self.children = children
        self.worker = worker
        self.extra_config = extra_config or {}
        self.procs = {}
        self.dir = None

    # -- lifecycle -------------------------------------------------------
    def start(self):
        ensure_user()
        self.dir = tempfile.mkdtemp(prefix="gradient-test-")
        os.chmod(self.dir, 0o755)
        uid = pwd.getpwnam(SVC_USER).pw_uid
        gid = pwd.getpwnam(SVC_USER).pw_gid
        os.chown(self.dir, uid, gid)
        try:
            self._start_pg(uid, gid)
            self._write_config(uid, gid)
            self._run([os.path.join(BUILDDIR, "src", "gradientctl"), "-f",
                       self.conf, "migrate"])
            self.start_fcgi()
            if self.worker:
                self.start_worker()
            self._start_nginx()
            wait_for(self._healthy, "the API to answer /health")
        except Exception:
            self.tail_logs()
            self.stop()
            raise
        return self

    def stop(self):
        """Stop every process; returns sanitizer reports found in the logs
        (ASan, UBSan and LeakSanitizer write there, the last one at exit)."""
        for name in ["nginx"] + sorted(n for n in self.procs
                                       if n.startswith("worker")) + \
                ["fcgi", "postgres"]:
            p = self.procs.pop(name, None)
            if p is not None:
                # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait
                # for every client to leave.
                stop_process(p, sig=signal.SIGINT if name == "postgres"
                             else signal.SIGTERM)
        reports = self.sanitizer_reports()
        if self.dir and os.environ.get("GRADIENT_KEEP_TMP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)
        return reports

    def sanitizer_reports(self):
        found = []
        for name in ("fcgi.log", "worker.log"):
            path = os.path.join(self.dir or "", name)
            if not os.path.exists(path):
                continue
            with open(path, errors="replace") as f:
                for line in f:
                    if ("Sanitizer" in line and "ERROR" in line) or \
                            "runtime error:" in line:
                        found.append(name + ": " + line.rstrip())
        return found

    def _run(self, argv, **kw):
        return subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, **kw)

    def _as_svc(self, argv):
        return ["runuser", "-u", SVC_USER, "--"] + argv

    def _start_pg(self, uid, gid):
        bindir = pg_bindir()
        data = os.path.join(self.dir, "pg")
        self.pg_socket_dir = self.dir
        self.pg_port = free_port()
        self._run(self._as_svc([os.path.join(bindir, "initdb"), "-D", data,
                                "-U", SVC_USER, "--auth=trust", "-E", "UTF8",
                                "--locale=C.UTF-8", "--no-sync"]))
        self.start_postgres()
        self._run(self._as_svc([os.path.join(bindir, "createdb"), "-h",
                                self.dir, "-p", str(self.pg_port), "gradient"]))

    def start_postgres(self):
        bindir = pg_bindir()
        log = open(os.path.join(self.dir, "postgres.log"), "ab")
        # Started directly as the service user (not through runuser), so
        # that the PID we hold is the postmaster's own.
        pw = pwd.getpwnam(SVC_USER)
        self.procs["postgres"] = subprocess.Popen(
            [os.path.join(bindir, "postgres"), "-D",
             os.path.join(self.dir, "pg"),
             "-k", self.dir, "-p", str(self.pg_port),
             "-c", "listen_addresses=",
             "-c", "fsync=off", "-c", "max_connections=200"],
            user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        isready = os.path.join(bindir, "pg_isready")
        wait_for(lambda: subprocess.run(
            [isready, "-q", "-h", self.dir, "-p", str(self.pg_port)]
        ).returncode == 0, "PostgreSQL")

    def restart_postgres(self):
        """Stop PostgreSQL (fast shutdown, every connection is cut) and
        start it again on the same socket."""
        stop_process(self.procs.pop("postgres"), sig=signal.SIGINT)
        self.start_postgres()

    def _write_config(self, uid, gid):
        for name in ("jwt_secret", "crypt_secret"):
            path = os.path.join(self.dir, name)
            with open(path, "wb") as f:
                f.write(os.urandom(48).hex().encode())
            os.chown(path, uid, gid)
            os.chmod(path, 0o600)
        self.socket = os.path.join(self.dir, "fcgi.sock")
        self.database_url = "host=%s port=%d dbname=gradient user=%s" % (
            self.dir, self.pg_port, SVC_USER)
        cfg = {
            "database_url": self.database_url,
            "listen": self.socket,
            "children": str(self.children),
            "user": SVC_USER,
            "sql_dir": os.path.join(SRCDIR, "sql"),
            "jwt_secret_file": os.path.join(self.dir, "jwt_secret"),
            "crypt_secret_file": os.path.join(self.dir, "crypt_secret"),
            "state_dir": os.path.join(self.dir, "worker"),
        }
        cfg.update(self.extra_config)
        self.conf = os.path.join(self.dir, "gradient.conf")
        with open(self.conf, "w") as f:
            for k, v in cfg.items():
                f.write("%s = %s\n" % (k, v))
        with open(os.path.join(self.dir, "jwt_secret"), "rb") as f:
            self.jwt_secret = f.read().strip()

    def start_fcgi(self):
        log = open(os.path.join(self.dir, "fcgi.log"), "ab")
        self.procs["fcgi"] = subprocess.Popen(
            [os.path.join(BUILDDIR, "fcgi", "gradient-fcgi"), "-f", self.conf],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.socket), "the responder socket")

    def start_worker(self, name="worker"):
        """Start a gradient-worker (as root: it runs nix, which needs the
        store); several may run under different names."""
        log = open(os.path.join(self.dir, name + ".log"), "ab")
        self.procs[name] = subprocess.Popen(
            [os.path.join(BUILDDIR, "worker", "gradient-worker"), "-f",
             self.conf],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        path = os.path.join(self.dir, name + ".log")
        wait_for(lambda: b"listening for evaluations" in
                 open(path, "rb").read(), "the worker to listen")
        return self.procs[name]

    def stop_worker(self, name="worker", sig=signal.SIGTERM):
        p = self.procs.pop(name, None)
        if p is not None:
            stop_process(p, sig=sig)
        return p

    def _start_nginx(self):
        self.port = free_port()
        tmp = os.path.join(self.dir, "nginx-tmp")
        os.mkdir(tmp)
        uid = pwd.getpwnam(SVC_USER).pw_uid
        os.chown(tmp, uid, -1)
        with open(os.path.join(SRCDIR, "nginx", "dev.conf.in")) as f:
            text = f.read()
        for k, v in (("@RUN_DIR@", self.dir), ("@HTTP_PORT@", str(self.port)),
                     ("@FCGI_SOCKET@", self.socket), ("@USER@", SVC_USER),
                     ("@LOCATIONS@", os.path.join(
                         SRCDIR, "nginx", "gradient-locations.conf"))):
            text = text.replace(k, v)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(text)
        log = open(os.path.join(self.dir, "nginx.log"), "ab")
        self.procs["nginx"] = subprocess.Popen(
            ["nginx", "-c", conf, "-p", self.dir, "-e",
             os.path.join(self.dir, "nginx-error.log")],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def _healthy(self):
        try:
            return self.request("GET", "/api/v1/health").status == 200
        except OSError:
            return False

    def tail_logs(self, lines=30):
        if not self.dir:
            return
        for name in ("fcgi.log", "worker.log", "nginx-error.log",
                     "postgres.log"):
            path = os.path.join(self.dir, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    tail = f.read().splitlines()[-lines:]
                print("---- %s (last %d lines)" % (name, len(tail)))
                for line in tail:
                    print("    " + line)

    # -- processes -------------------------------------------------------
    def fcgi_pid(self):
        return self.procs["fcgi"].pid

    def fcgi_children(self):
        out = subprocess.run(["pgrep", "-P", str(self.fcgi_pid())],
                             stdout=subprocess.PIPE, text=True).stdout
        return sorted(int(x) for x in out.split())

    # -- database --------------------------------------------------------
    def sql(self, query, *args):
        """Run a query through psql; returns rows as lists of strings.
        Arguments are passed as psql variables, never spliced."""
        argv = self._as_svc([os.path.join(pg_bindir(), "psql"), "-h", self.dir,
                             "-p", str(self.pg_port), "-d", "gradient",
                             "-qtA", "-F", "\t", "-v", "ON_ERROR_STOP=1"])
        for i, a in enumerate(args, 1):
            argv += ["-v", "p%d=%s" % (i, a)]
        out = subprocess.run(argv, input=query, check=True, text=True,
                             stdout=subprocess.PIPE).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    # -- HTTP ------------------------------------------------------------
    def request(self, method, path, body=None, token=None, headers=None,
                timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def api(self, method, path, body=None, token=None, headers=None):
        return self.request(method, "/api/v1" + path, body, token, headers)


def stop_process(p, timeout=10, sig=signal.SIGTERM):
    if p.poll() is not None:
        return
    try:
        p.send_signal(sig)
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def ensure_user():
    try:
        pwd.getpwnam(SVC_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--home-dir", "/nonexistent",
                        "--no-create-home", "--shell", "/usr/sbin/nologin",
                        SVC_USER], check=True)


def expect(tc, r, status, error, message=None):
    """Assert that r is a JSON envelope with this status and error flag.

    message, if given, is the exact message or a compiled regex that must
    match it.  Returns the message."""
    tc.assertEqual(r.status, status, r)
    tc.assertEqual(r.header("Content-Type"), "application/json", r)
    try:
        body = r.json()
    except ValueError:
        tc.fail("body is not JSON: %r" % (r,))
    tc.assertIsInstance(body, dict, r)
    tc.assertEqual(sorted(body), ["error", "message"], r)
    tc.assertIs(body["error"], error, r)
    if hasattr(message, "search"):
        tc.assertIsInstance(body["message"], str, r)
        tc.assertRegex(body["message"], message)
    elif message is not None:
        tc.assertEqual(body["message"], message, r)
    return body["message"]


_counter = [0]


def unique(prefix="u"):
    _counter[0] += 1
    return "%s%d%s" % (prefix, _counter[0], os.urandom(3).hex())


def register(stack, username=None, password="correct-horse-battery",
             email=None, name="Test User"):
    """Register and log in a fresh user; returns (username, password, jwt)."""
    username = username or unique()
    email = email or username + "@example.com"
    r = stack.api("POST", "/auth/basic/register", {
        "username": username, "name": name, "email": email,
        "password": password})
    assert r.status == 200, r
    r = stack.api("POST", "/auth/basic/login",
                  {"loginname": username, "password": password})
    assert r.status == 200, r
    return username, password, r.message
