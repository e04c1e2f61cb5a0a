"""Integration tests for /servers/{org}[/{server}], with the connection
check against a private sshd on loopback (tests/integration/sshd.py),
which this module starts and stops by PID.

Users are registered once per module; every test makes its own
organizations and servers.
"""
import base64
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness
import sshd

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
LEAKS = (b"PRIVATE KEY", b"OPENSSH", b"sb1:")
SERVER_KEYS = ["active", "architectures", "created_at", "created_by",
               "display_name", "features", "host", "id", "last_connection_at",
               "managed", "max_jobs", "name", "organization", "port",
               "username"]
SLUG_MSG = "field 'name': use 1 to 64 lowercase letters, digits, '-' or '_'"
HOST_MSG = "field 'host': expected a host name or address"
USER_MSG = ("field 'username': expected a user name of lowercase letters, "
            "digits, '_' or '-'")
ARCH_MSG = ("field 'architectures': expected an array of 1 to 16 Nix "
            "systems such as \"x86_64-linux\"")
FEAT_MSG = "field 'features': expected an array of 0 to 64 feature names"
PORT_MSG = "field 'port': expected an integer from 1 to 65535"
JOBS_MSG = "field 'max_jobs': expected an integer from 1 to 1024"

_USERS = {}


def api(method, path, body=None, token=None):
    """STACK.api, refusing any answer that carries key material."""
    r = harness.STACK.api(method, path, body, token)
    for bad in LEAKS:
        if bad in r.body:
            raise AssertionError("%s %s answered with %r: %r"
                                 % (method, path, bad, r))
    return r


def user(tag):
    """This module's user called tag, registered once: (name, token, id)."""
    if tag not in _USERS:
        name, _, tok = harness.register(harness.STACK)
        uid = harness.STACK.api("GET", "/user", token=tok).message["id"]
        _USERS[tag] = (name, tok, uid)
    return _USERS[tag]


def make_org(tc, tok):
    name = harness.unique("org")
    r = api("PUT", "/orgs", {"name": name, "display_name": "O"}, tok)
    return name, harness.expect(tc, r, 200, False, UUID_RE)


def server_body(**kw):
    body = {"name": harness.unique("s"), "display_name": "Builder",
            "host": "builder.example.org", "username": "nix-ssh",
            "architectures": ["x86_64-linux"]}
    body.update(kw)
    return {k: v for k, v in body.items() if v is not None}


def make_server(tc, org, tok, **kw):
    body = server_body(**kw)
    r = api("PUT", "/servers/" + org, body, tok)
    return body["name"], harness.expect(tc, r, 200, False, UUID_RE)


def fingerprint(b64blob):
    digest = hashlib.sha256(base64.b64decode(b64blob)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class Servers(unittest.TestCase):
    """Create, list, get, patch, enable, disable and delete."""

    def setUp(self):
        self.s = harness.STACK
        _, self.tok, self.uid = user("alice")
        self.org, self.org_id = make_org(self, self.tok)

    def get(self, name):
        r = api("GET", "/servers/%s/%s" % (self.org, name), token=self.tok)
        return harness.expect(self, r, 200, False)

    def test_create_then_get_shape_and_defaults(self):
        name, sid = make_server(self, self.org, self.tok)
        v = self.get(name)
        self.assertEqual(sorted(v), SERVER_KEYS)
        self.assertRegex(v.pop("created_at"), TIME_RE)
        self.assertEqual(v, {
            "id": sid, "name": name, "display_name": "Builder",
            "organization": self.org_id, "active": True,
            "host": "builder.example.org", "port": 22, "username": "nix-ssh",
            "architectures": ["x86_64-linux"], "features": [], "max_jobs": 1,
            "managed": False, "last_connection_at": None,
            "created_by": self.uid})
        name, _ = make_server(
            self, self.org, self.tok, host="2001:db8::1", port=2222,
            username="_builder-1", max_jobs=1024,
            architectures=["aarch64-linux", "x86_64-linux", "i686-linux"],
            features=["kvm", "big-parallel", "nixos-test",
                      "gccarch-x86-64.v3"])
        v = self.get(name)
        self.assertEqual(
            (v["host"], v["port"], v["username"], v["max_jobs"],
             v["architectures"], v["features"]),
            ("2001:db8::1", 2222, "_builder-1", 1024,
             ["aarch64-linux", "x86_64-linux", "i686-linux"],
             ["kvm", "big-parallel", "nixos-test", "gccarch-x86-64.v3"]))

    def test_list_by_name(self):
        r = api("GET", "/servers/" + self.org, token=self.tok)
        self.assertEqual(harness.expect(self, r, 200, False), [])
        made = [make_server(self, self.org, self.tok, name=n)
                for n in ("zz", "aa", "m-1")]
        other, _ = make_org(self, self.tok)
        make_server(self, other, self.tok, name="aa")
        r = api("GET", "/servers/" + self.org, token=self.tok)
        self.assertEqual(harness.expect(self, r, 200, False), sorted(
            [{"id": i, "name": n} for n, i in made], key=lambda s: s["name"]))

    def test_create_invalid_is_400(self):
        cases = [
            (server_body(name=None), "field 'name' is required"),
            (server_body(display_name=None), "field 'display_name' is "
             "required"),
            (server_body(host=None), "field 'host' is required"),
            (server_body(username=None), "field 'username' is required"),
            (server_body(architectures=None), "field 'architectures' is "
             "required"),
            (server_body(name="Caps"), SLUG_MSG),
            (server_body(display_name="x" * 129), re.compile(
                r"^field 'display_name': expected text of at most 128 ")),
            (server_body(display_name="a\tb"), re.compile(
                r"^field 'display_name': expected text")),
            (server_body(host=""), re.compile(
                r"^field 'host': expected a string")),
            (server_body(host="x" * 254), re.compile(
                r"^field 'host': expected a string")),
            (server_body(username=""), re.compile(
                r"^field 'username': expected a string")),
            (server_body(username="x" * 33), re.compile(
                r"^field 'username': expected a string")),
            (server_body(port=0), PORT_MSG),
            (server_body(port=65536), PORT_MSG),
            (server_body(port=-22), PORT_MSG),
            (server_body(port="22"), PORT_MSG),
            (server_body(port=22.5), PORT_MSG),
            (server_body(port=True), PORT_MSG),
            (server_body(max_jobs=0), JOBS_MSG),
            (server_body(max_jobs=1025), JOBS_MSG),
            (server_body(max_jobs=2 ** 63), JOBS_MSG),
            (server_body(architectures=[]), ARCH_MSG),
            (server_body(architectures="x86_64-linux"), ARCH_MSG),
            (server_body(architectures=["x86_64-windows"]), ARCH_MSG),
            (server_body(architectures=["x86_64-linux", "X86_64-LINUX"]),
             ARCH_MSG),
            (server_body(architectures=[1]), ARCH_MSG),
            (server_body(architectures=[None]), ARCH_MSG),
            (server_body(architectures=["x86_64-linux"] * 17), ARCH_MSG),
            (server_body(features="kvm"), FEAT_MSG),
            (server_body(features=["has space"]), FEAT_MSG),
            (server_body(features=[""]), FEAT_MSG),
            (server_body(features=["x" * 65]), FEAT_MSG),
            (server_body(features=["f%d" % i for i in range(65)]),
             FEAT_MSG),
            (server_body(features=[{"a": 1}]), FEAT_MSG),
        ]
        for host in ("-oProxyCommand=x", "a b", "host/path", "h;x", "h\n",
                     "user@host", "h\u00e9"):
            cases.append((server_body(host=host), HOST_MSG))
        for name in ("Root", "1abc", "-x", "a b", "a.b", "a@b", "\u00e9"):
            cases.append((server_body(username=name), USER_MSG))
        for body, msg in cases:
            with self.subTest(body=str(body)[:120]):
                r = api("PUT", "/servers/" + self.org, body, self.tok)
                harness.expect(self, r, 400, True, msg)
        r = api("GET", "/servers/" + self.org, token=self.tok)
        self.assertEqual(harness.expect(self, r, 200, False), [])

    def test_duplicate_name_is_409_per_organization(self):
        name, sid = make_server(self, self.org, self.tok)
        r = api("PUT", "/servers/" + self.org, server_body(name=name),
                self.tok)
        harness.expect(self, r, 409, True, "Server Name already exists")
        self.assertEqual(self.get(name)["id"], sid)
        other, _ = make_org(self, self.tok)
        make_server(self, other, self.tok, name=name)

    def test_patch_each_field(self):
        name, sid = make_server(self, self.org, self.tok,
                               features=["kvm"])
        path = "/servers/%s/%s" % (self.org, name)
        changes = {"display_name": "Renamed \u2713", "host": "10.0.0.7",
                   "port": 2200, "username": "builder", "max_jobs": 8,
                   "architectures": ["aarch64-darwin", "x86_64-darwin"],
                   "features": []}
        for k, v in changes.items():
            with self.subTest(field=k):
                harness.expect(self, api("PATCH", path, {k: v}, self.tok),
                               200, False, "Server updated")
                self.assertEqual(self.get(name)[k], v)
        new = harness.unique("renamed")
        harness.expect(self, api("PATCH", path, {"name": new}, self.tok),
                       200, False, "Server updated")
        harness.expect(self, api("GET", path, token=self.tok), 404, True,
                       "Server not found")
        v = self.get(new)
        want = dict(changes, id=sid, name=new)
        self.assertEqual({k: v[k] for k in want}, want)

    def test_patch_invalid_or_taken_changes_nothing(self):
        name, _ = make_server(self, self.org, self.tok)
        taken, _ = make_server(self, self.org, self.tok)
        path = "/servers/%s/%s" % (self.org, name)
        before = self.get(name)
        for body, status, msg in (
                ({"name": "Bad"}, 400, SLUG_MSG),
                ({"display_name": ""}, 400, "field 'display_name': must not "
                 "be empty"),
                ({"host": "-x"}, 400, HOST_MSG),
                ({"username": "Root"}, 400, USER_MSG),
                ({"port": 0}, 400, PORT_MSG),
                ({"max_jobs": 0}, 400, JOBS_MSG),
                ({"architectures": []}, 400, ARCH_MSG),
                ({"features": ["a b"]}, 400, FEAT_MSG),
                ({"display_name": "ok", "port": 70000}, 400, PORT_MSG),
                ({"name": taken}, 409, "Server Name already exists")):
            with self.subTest(body=body):
                harness.expect(self, api("PATCH", path, body, self.tok),
                               status, True, msg)
        self.assertEqual(self.get(name), before)

    def test_changed_address_forgets_the_host_key(self):
        name, sid = make_server(self, self.org, self.tok, port=2222)
        path = "/servers/%s/%s" % (self.org, name)

        def pin():
            self.s.sql("UPDATE server SET host_key = 'AAAA' WHERE id ="
                       " :'p1'", sid)

        def host_key():
            return self.s.sql("SELECT coalesce(host_key, 'NULL') FROM server"
                              " WHERE id = :'p1'", sid)[0][0]

        pin()
        for body in ({"display_name": "X"}, {"username": "other"},
                     {"port": 2222}, {"host": "builder.example.org"},
                     {"max_jobs": 3}):
            harness.expect(self, api("PATCH", path, body, self.tok), 200,
                           False)
            self.assertEqual(host_key(), "AAAA", body)
        for body in ({"port": 22}, {"host": "elsewhere.example.org"}):
            pin()
            harness.expect(self, api("PATCH", path, body, self.tok), 200,
                           False)
            self.assertEqual(host_key(), "NULL", body)

    def test_active_off_and_on(self):
        name, _ = make_server(self, self.org, self.tok)
        path = "/servers/%s/%s/active" % (self.org, name)
        for method, msg, active in (("DELETE", "Server disabled", False),
                                    ("DELETE", "Server disabled", False),
                                    ("POST", "Server enabled", True),
                                    ("POST", "Server enabled", True)):
            harness.expect(self, api(method, path, token=self.tok), 200,
                           False, msg)
            self.assertIs(self.get(name)["active"], active)

    def test_delete(self):
        name, sid = make_server(self, self.org, self.tok)
        path = "/servers/%s/%s" % (self.org, name)
        harness.expect(self, api("DELETE", path, token=self.tok), 200, False,
                       "Server deleted")
        for method, sub in (("GET", ""), ("DELETE", ""), ("PATCH", ""),
                            ("POST", "/active"), ("DELETE", "/active"),
                            ("POST", "/check-connection")):
            with self.subTest(method=method, sub=sub):
                harness.expect(self, api(method, path + sub, {}, self.tok),
                               404, True, "Server not found")
        self.assertEqual(self.s.sql("SELECT count(*) FROM server WHERE"
                                    " id = :'p1'", sid), [["0"]])
        make_server(self, self.org, self.tok, name=name)

    def test_unknown_organization_or_server_is_404(self):
        bad_org = "no-such-" + os.urandom(4).hex()
        for method, path in (("GET", "/servers/" + bad_org),
                             ("PUT", "/servers/" + bad_org),
                             ("GET", "/servers/%s/s" % bad_org),
                             ("POST", "/servers/%s/s/check-connection"
                              % bad_org)):
            harness.expect(self, api(method, path, server_body(),
                                     self.tok), 404, True,
                           "Organization not found")
        for srv in ("nope", "UPPER", "a.b", "x" * 65):
            for method, sub in (("GET", ""), ("PATCH", ""),
                                ("POST", "/check-connection")):
                r = api(method, "/servers/%s/%s%s" % (self.org, srv, sub),
                        {"display_name": "x"}, self.tok)
                harness.expect(self, r, 404, True, "Server not found")

    def test_unauthenticated_is_401(self):
        for method, sub in (("GET", ""), ("PUT", ""), ("GET", "/s"),
                            ("PATCH", "/s"), ("DELETE", "/s"),
                            ("POST", "/s/check-connection"),
                            ("POST", "/s/active"), ("DELETE", "/s/active")):
            r = api(method, "/servers/" + self.org + sub, {})
            harness.expect(self, r, 401, True, "Unauthorized")


class Connection(unittest.TestCase):
    """POST .../check-connection against a private sshd, as root."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="gradient-sshcheck.")
        cls.addClassCleanup(shutil.rmtree, cls.dir, ignore_errors=True)
        cls.sshd = sshd.Sshd(os.path.join(cls.dir, "sshd"))
        cls.addClassCleanup(cls.sshd.stop)
        cls.sshd.start()

    def setUp(self):
        self.s = harness.STACK
        _, self.tok, _ = user("alice")
        self.org, _ = make_org(self, self.tok)
        r = api("GET", "/orgs/%s/ssh" % self.org, token=self.tok)
        self.key = harness.expect(self, r, 200, False)
        self.sshd.set_authorized([self.key])
        self.addCleanup(self.sshd.set_authorized, [])

    def server(self, **kw):
        kw.setdefault("port", self.sshd.port)
        name, sid = make_server(self, self.org, self.tok, host="127.0.0.1",
                                username="root", **kw)
        return "/servers/%s/%s" % (self.org, name), sid

    def check(self, path):
        return api("POST", path + "/check-connection", token=self.tok)

    def host_key(self, sid):
        return self.s.sql("SELECT coalesce(host_key, 'NULL') FROM server"
                          " WHERE id = :'p1'", sid)[0][0]

    def test_org_key_is_read_by_ssh_keygen(self):
        path = os.path.join(self.dir, "org-%s.pub" % self.org)
        with open(path, "w") as f:
            f.write(self.key + "\n")
        out = subprocess.run(["ssh-keygen", "-l", "-f", path], check=True,
                             capture_output=True, text=True).stdout.strip()
        self.assertEqual(out, "256 %s gradient@%s (ED25519)" % (
            fingerprint(self.key.split()[1]), self.org))

    def test_connection_is_established_and_host_key_pinned(self):
        path, sid = self.server(architectures=["x86_64-linux"])
        v = harness.expect(self, api("GET", path, token=self.tok), 200,
                           False)
        self.assertIsNone(v["last_connection_at"])
        self.assertEqual(self.host_key(sid), "NULL")
        msg = harness.expect(self, self.check(path), 200, False)
        self.assertTrue(msg.startswith("server connection established"), msg)
        self.assertIn("nix-store (Nix)", msg)
        v = harness.expect(self, api("GET", path, token=self.tok), 200,
                           False)
        self.assertRegex(v["last_connection_at"], TIME_RE)
        self.assertEqual(self.host_key(sid), self.sshd.hostkey)
        self.assertNotIn("host_key", v)
        # Again, against the pinned key.
        harness.expect(self, self.check(path), 200, False, msg)

    def test_key_not_authorised_is_504(self):
        path, sid = self.server()
        self.sshd.set_authorized([])
        msg = harness.expect(self, self.check(path), 504, True)
        self.assertIn("did not accept", msg)
        self.assertEqual(msg, "the server did not accept the "
                         "organization's key for user 'root'")
        v = harness.expect(self, api("GET", path, token=self.tok), 200,
                           False)
        self.assertIsNone(v["last_connection_at"])
        # The regenerated key is a new key: the old one's authorisation
        # does not carry over.
        self.sshd.set_authorized([self.key])
        harness.expect(self, self.check(path), 200, False)
        r = api("POST", "/orgs/%s/ssh" % self.org, token=self.tok)
        harness.expect(self, r, 200, False)
        msg = harness.expect(self, self.check(path), 504, True)
        self.assertIn("did not accept", msg)

    def test_changed_host_key_is_504(self):
        path, sid = self.server()
        harness.expect(self, self.check(path), 200, False)
        other = sshd.keygen(os.path.join(self.dir, "other-%s"
                                         % os.urandom(3).hex()))
        self.s.sql("UPDATE server SET host_key = :'p2' WHERE id = :'p1'",
                   sid, other)
        msg = harness.expect(self, self.check(path), 504, True)
        self.assertIn("has changed", msg)
        self.assertEqual(msg, "host key of 127.0.0.1:%d has changed (%s was "
                         "expected, %s was offered); refusing to connect"
                         % (self.sshd.port, fingerprint(other),
                            fingerprint(self.sshd.hostkey)))
        # The pinned key is kept, not replaced by the offered one.
        self.assertEqual(self.host_key(sid), other)

    def test_wrong_port_is_504(self):
        port = harness.free_port()
        path, _ = self.server(port=port)
        harness.expect(self, self.check(path), 504, True,
                       "cannot connect to 127.0.0.1:%d: Connection refused"
                       % port)


class Restarted(unittest.TestCase):
    """A server whose sshd comes back with another host key is refused."""

    def test_new_host_key_on_the_same_port_is_504(self):
        d = tempfile.mkdtemp(prefix="gradient-sshkey.")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        daemon = sshd.Sshd(d)
        self.addCleanup(daemon.stop)
        daemon.start()
        _, tok, _ = user("alice")
        org, _ = make_org(self, tok)
        daemon.set_authorized([api("GET", "/orgs/%s/ssh" % org,
                                   token=tok).message])
        name, _ = make_server(self, org, tok, host="127.0.0.1",
                              port=daemon.port, username="root")
        path = "/servers/%s/%s/check-connection" % (org, name)
        harness.expect(self, api("POST", path, token=tok), 200, False)
        old = daemon.hostkey
        daemon.stop()
        new = daemon.new_host_key()
        daemon.start()
        msg = harness.expect(self, api("POST", path, token=tok), 504, True)
        self.assertIn("has changed", msg)
        self.assertIn("(%s was expected, %s was offered)"
                      % (fingerprint(old), fingerprint(new)), msg)


class Zlog(unittest.TestCase):
    """Last in this module: the responder log after the SSH checks."""

    def test_responder_log_has_no_key_material(self):
        with open(os.path.join(harness.STACK.dir, "fcgi.log"), "rb") as f:
            log = f.read()
        self.assertNotIn(b"PRIVATE KEY", log)
        self.assertNotIn(b"sb1:", log)
        self.assertNotIn(b"OPENSSH", log)
