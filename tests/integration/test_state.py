"""Integration tests for "gradientctl state apply|check" (src/state.c).

Each test writes a state file and its secret files (mode 0600) into a
fresh mkdtemp directory: a password, an OpenSSH ed25519 key made by
ssh-keygen and a Nix cache signing key made by nix-store, and applies it
to the shared stack with the stack's own gradient.conf.  Names are unique
per test, so tests do not see each other's objects.  "Nothing written" is
checked by comparing a snapshot of every row of every table.
"""
import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness

CTL = os.path.join(harness.BUILDDIR, "src", "gradientctl")
KINDS = ("user", "organization", "project", "server", "cache")


def ctl(*args):
    return subprocess.run([CTL, "-f", harness.STACK.conf] + list(args),
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=120)


def snapshot(stack):
    """Every row of every table, as text, sorted: nothing excluded."""
    tables = [r[0] for r in stack.sql(
        "SELECT quote_ident(table_name) FROM information_schema.tables"
        " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        " ORDER BY 1")]
    # Rows as one line each: text columns may hold newlines (commit
    # messages, nix errors), and psql prints one row a line.
    query = " UNION ALL ".join(
        "SELECT %s AS t, translate(x::text, E'\\n\\t', '  ') AS r"
        " FROM %s x" % ("'" + t.replace("'", "''") + "'", t)
        for t in tables)
    rows = stack.sql(query + " ORDER BY 1, 2")
    snap = {t: [] for t in tables}
    for t, r in rows:
        snap[t].append(r)
    return snap


class World:
    """A state file naming one of everything, with its secret files."""

    def __init__(self, tc):
        self.tc = tc
        self.dir = tempfile.mkdtemp(prefix="gradient-state-")
        os.chmod(self.dir, 0o700)
        tc.addCleanup(shutil.rmtree, self.dir, True)
        self.user = harness.unique("st")
        self.org = harness.unique("org")
        self.cache = harness.unique("cache")
        self.password = "pw-" + os.urandom(8).hex()
        self.secret("password", self.password + "\n")
        self.key = self.ssh_key("key")
        self.keyname = self.cache + "-test-1"
        self.sec, self.pub = self.cache_key("cache", self.keyname)
        self.doc = {
            "users": [{
                "username": self.user, "name": "State User",
                "email": self.user + "@example.com",
                # Relative: taken from the state file's directory.
                "password_file": "password"}],
            "organizations": [{
                "name": self.org, "display_name": "Acme",
                "description": "",
                "private_key_file": self.key,
                "members": [{"username": self.user, "role": "admin"}]}],
            "projects": [{
                "organization": self.org, "name": "web",
                "display_name": "Web", "description": "",
                "repository": "https://example.com/web.git",
                "branch": "main",
                "evaluation_wildcard": "packages.x86_64-linux.*",
                "active": True}],
            "servers": [{
                "organization": self.org, "name": "builder-1",
                "display_name": "Builder 1", "host": "10.0.0.5",
                "port": 22, "username": "nix",
                "architectures": ["x86_64-linux"], "features": ["kvm"],
                "max_jobs": 4, "active": True}],
            "caches": [{
                "name": self.cache, "display_name": "Main",
                "description": "", "priority": 40,
                "signing_key_file": os.path.join(self.dir, "cache.sec"),
                "owner": self.user, "organizations": [self.org],
                "active": True}],
        }

    def secret(self, name, text):
        path = os.path.join(self.dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def ssh_key(self, name):
        path = os.path.join(self.dir, name)
        if os.path.exists(path):
            os.unlink(path)
            os.unlink(path + ".pub")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                        "-f", path, "-C", "x"], check=True,
                       stdin=subprocess.DEVNULL)
        os.chmod(path, 0o600)
        return path

    def ssh_public(self):
        """The key part ("ssh-ed25519 AAAA...") of the key file."""
        out = subprocess.run(["ssh-keygen", "-y", "-f", self.key],
                             check=True, capture_output=True,
                             text=True).stdout
        return " ".join(out.split()[:2])

    def cache_key(self, stem, keyname):
        sec = os.path.join(self.dir, stem + ".sec")
        pub = os.path.join(self.dir, stem + ".pub")
        for p in (sec, pub):
            if os.path.exists(p):
                os.unlink(p)
        subprocess.run(["nix-store", "--generate-binary-cache-key", keyname,
                        sec, pub], check=True, stdin=subprocess.DEVNULL,
                       capture_output=True)
        os.chmod(sec, 0o600)
        with open(sec) as f:
            sec_text = f.read().strip()
        with open(pub) as f:
            pub_text = f.read().strip()
        return sec_text, pub_text

    def write(self, doc=None):
        path = os.path.join(self.dir, "state.json")
        with open(path, "w") as f:
            json.dump(self.doc if doc is None else doc, f, indent=2)
        return path

    def secrets(self):
        """Texts that must never be printed or stored in clear."""
        with open(self.key) as f:
            pem = f.read()
        body = [line for line in pem.splitlines()
                if line and not line.startswith("-----")]
        return [self.password, self.sec, self.sec.split(":", 1)[1]] + body

    def login(self, password=None):
        r = harness.STACK.api("POST", "/auth/basic/login", {
            "loginname": self.user,
            "password": password or self.password})
        harness.expect(self.tc, r, 200, False)
        return r.message


class Base(unittest.TestCase):
    def setUp(self):
        self.s = harness.STACK

    def apply(self, world, doc=None, verb="apply", ok=True):
        r = ctl("state", verb, world.write(doc))
        out = r.stdout + r.stderr
        for secret in world.secrets():
            self.assertNotIn(secret, out)
        if ok:
            self.assertEqual(r.returncode, 0, out)
            self.assertEqual(r.stderr, "", out)
        else:
            self.assertEqual(r.returncode, 1, out)
            self.assertEqual(r.stdout, "", out)
        return r

    def summary(self, r):
        m = re.search(r"^state: (\d+) created, (\d+) updated, (\d+) "
                      r"unchanged$", r.stdout, re.M)
        self.assertIsNotNone(m, r.stdout)
        return tuple(int(x) for x in m.groups())

    def changed_lines(self, r):
        return [line for line in r.stdout.splitlines()
                if not line.startswith("state")]


class Apply(Base):
    def test_apply_creates_everything_managed(self):
        w = World(self)
        r = self.apply(w)
        self.assertEqual(self.summary(r), (5, 0, 0))
        self.assertEqual(sorted(self.changed_lines(r)), sorted([
            "created user '%s'" % w.user,
            "created organization '%s'" % w.org,
            "created project '%s/web'" % w.org,
            "created server '%s/builder-1'" % w.org,
            "created cache '%s'" % w.cache]))
        # The rows, all managed.
        self.assertEqual(self.s.sql(
            "SELECT managed, name, email FROM \"user\" WHERE username = :'p1'",
            w.user), [["t", "State User", w.user + "@example.com"]])
        self.assertEqual(self.s.sql(
            "SELECT o.managed, o.display_name, m.role FROM organization o"
            " JOIN organization_user m ON m.organization_id = o.id"
            " JOIN \"user\" u ON u.id = m.user_id"
            " WHERE o.name = :'p1'", w.org), [["t", "Acme", "admin"]])
        self.assertEqual(self.s.sql(
            "SELECT p.managed, p.repository, p.branch, p.active FROM project p"
            " JOIN organization o ON o.id = p.organization_id"
            " WHERE o.name = :'p1' AND p.name = 'web'", w.org),
            [["t", "https://example.com/web.git", "main", "t"]])
        self.assertEqual(self.s.sql(
            "SELECT s.managed, s.host, s.port, s.username, s.architectures,"
            " s.features, s.max_jobs FROM server s JOIN organization o"
            " ON o.id = s.organization_id WHERE o.name = :'p1'", w.org),
            [["t", "10.0.0.5", "22", "nix", "{x86_64-linux}", "{kvm}", "4"]])
        self.assertEqual(self.s.sql(
            "SELECT c.managed, c.priority, c.public_key, u.username"
            " FROM cache c JOIN \"user\" u ON u.id = c.created_by"
            " WHERE c.name = :'p1'", w.cache),
            [["t", "40", w.pub, w.user]])
        self.assertEqual(self.s.sql(
            "SELECT o.name FROM organization_cache s"
            " JOIN organization o ON o.id = s.organization_id"
            " JOIN cache c ON c.id = s.cache_id WHERE c.name = :'p1'",
            w.cache), [[w.org]])
        # Secrets are sealed, never in clear.
        [[ssh_priv]] = self.s.sql("SELECT ssh_private_key FROM organization"
                                  " WHERE name = :'p1'", w.org)
        [[cache_sec]] = self.s.sql("SELECT secret_key FROM cache"
                                   " WHERE name = :'p1'", w.cache)
        for sealed in (ssh_priv, cache_sec):
            self.assertTrue(sealed.startswith("sb1:"), sealed[:8])
            for secret in w.secrets():
                self.assertNotIn(secret, sealed)
            self.assertNotIn("OPENSSH", sealed)
        [[pwhash]] = self.s.sql("SELECT password_hash FROM \"user\""
                                " WHERE username = :'p1'", w.user)
        self.assertTrue(pwhash.startswith("$argon2id$"), pwhash[:10])

        # And through the API, as the state user with the file's password.
        tok = w.login()
        orgs = harness.expect(self, self.s.api("GET", "/orgs", token=tok),
                              200, False)
        self.assertIn(w.org, [o["name"] for o in orgs])
        org = harness.expect(self, self.s.api("GET", "/orgs/" + w.org,
                                              token=tok), 200, False)
        self.assertIs(org["managed"], True)
        self.assertEqual(org["role"], "admin")
        proj = harness.expect(self, self.s.api(
            "GET", "/projects/%s/web" % w.org, token=tok), 200, False)
        self.assertIs(proj["managed"], True)
        self.assertEqual(proj["evaluation_wildcard"],
                         "packages.x86_64-linux.*")
        srv = harness.expect(self, self.s.api(
            "GET", "/servers/%s/builder-1" % w.org, token=tok), 200, False)
        self.assertIs(srv["managed"], True)
        self.assertEqual(srv["architectures"], ["x86_64-linux"])
        self.assertEqual(srv["features"], ["kvm"])
        cache = harness.expect(self, self.s.api(
            "GET", "/caches/" + w.cache, token=tok), 200, False)
        self.assertIs(cache["managed"], True)
        self.assertEqual(harness.expect(self, self.s.api(
            "GET", "/caches/%s/key" % w.cache, token=tok), 200, False),
            w.pub)
        ssh = harness.expect(self, self.s.api(
            "GET", "/orgs/%s/ssh" % w.org, token=tok), 200, False)
        self.assertEqual(" ".join(ssh.split()[:2]), w.ssh_public())
        self.assertEqual(ssh.split()[2:], ["gradient@" + w.org])
        subs = harness.expect(self, self.s.api(
            "GET", "/orgs/%s/subscribe" % w.org, token=tok), 200, False)
        self.assertEqual([c["name"] for c in subs], [w.cache])

    def test_second_apply_changes_no_row(self):
        w = World(self)
        self.apply(w)
        before = snapshot(self.s)
        r = self.apply(w)
        self.assertEqual(self.summary(r), (0, 0, 5))
        self.assertIn("0 created, 0 updated", r.stdout)
        self.assertEqual(self.changed_lines(r), [])
        self.assertEqual(snapshot(self.s), before)
        # Row versions too: an UPDATE that wrote equal values would show.
        xmin = self.s.sql("SELECT xmin FROM \"user\" WHERE username = :'p1'",
                          w.user)
        self.apply(w)
        self.assertEqual(self.s.sql(
            "SELECT xmin FROM \"user\" WHERE username = :'p1'", w.user), xmin)

    def test_changing_one_field_updates_exactly_that_object(self):
        w = World(self)
        self.apply(w)
        before = snapshot(self.s)
        doc = copy.deepcopy(w.doc)
        doc["projects"][0]["display_name"] = "Web (renamed)"
        r = self.apply(w, doc)
        self.assertEqual(self.summary(r), (0, 1, 4))
        self.assertEqual(self.changed_lines(r), [
            "updated project '%s/web' (attributes)" % w.org])
        after = snapshot(self.s)
        self.assertEqual([t for t in before if before[t] != after[t]],
                         ["project"])
        self.assertEqual(self.s.sql(
            "SELECT p.display_name FROM project p JOIN organization o"
            " ON o.id = p.organization_id WHERE o.name = :'p1'", w.org),
            [["Web (renamed)"]])

        # A server's address: the pinned host key is forgotten with it.
        self.s.sql("UPDATE server SET host_key = 'AAAA' WHERE name ="
                   " 'builder-1' AND organization_id = (SELECT id FROM"
                   " organization WHERE name = :'p1')", w.org)
        doc["servers"][0]["host"] = "10.0.0.6"
        r = self.apply(w, doc)
        self.assertEqual(self.changed_lines(r), [
            "updated server '%s/builder-1' (attributes)" % w.org])
        self.assertEqual(self.s.sql(
            "SELECT host, host_key IS NULL FROM server WHERE name ="
            " 'builder-1' AND organization_id = (SELECT id FROM"
            " organization WHERE name = :'p1')", w.org), [["10.0.0.6", "t"]])

        # A new password: only the user, and the new one logs in.
        w.password = "pw2-" + os.urandom(8).hex()
        w.secret("password", w.password + "\n")
        r = self.apply(w, doc)
        self.assertEqual(self.changed_lines(r), [
            "updated user '%s' (password)" % w.user])
        w.login()

        # A member's role, a new subscription and a new signing key.
        other = World(self)
        self.apply(other, {"organizations": [{
            "name": other.org, "display_name": "Other"}]})
        doc["organizations"][0]["members"][0]["role"] = "write"
        doc["caches"][0]["organizations"].append(other.org)
        w.sec, w.pub = w.cache_key("cache", w.keyname + "b")
        r = self.apply(w, doc)
        self.assertEqual(self.summary(r), (0, 2, 3))
        self.assertEqual(sorted(self.changed_lines(r)), sorted([
            "updated organization '%s' (members)" % w.org,
            "updated cache '%s' (signing key, subscriptions)" % w.cache]))
        self.assertEqual(self.s.sql(
            "SELECT public_key FROM cache WHERE name = :'p1'", w.cache),
            [[w.pub]])

        # A new SSH key.
        w.key = w.ssh_key("key")
        r = self.apply(w, doc)
        self.assertEqual(self.changed_lines(r), [
            "updated organization '%s' (ssh key)" % w.org])
        tok = w.login()
        ssh = harness.expect(self, self.s.api(
            "GET", "/orgs/%s/ssh" % w.org, token=tok), 200, False)
        self.assertEqual(" ".join(ssh.split()[:2]), w.ssh_public())
        # Then nothing again.
        before = snapshot(self.s)
        r = self.apply(w, doc)
        self.assertEqual(self.summary(r), (0, 0, 5))
        self.assertEqual(snapshot(self.s), before)

    def test_keys_are_generated_once_without_key_files(self):
        w = World(self)
        doc = copy.deepcopy(w.doc)
        del doc["organizations"][0]["private_key_file"]
        del doc["caches"][0]["signing_key_file"]
        self.apply(w, doc)
        keys = self.s.sql(
            "SELECT o.ssh_public_key, o.ssh_private_key, c.public_key,"
            " c.secret_key FROM organization o, cache c"
            " WHERE o.name = :'p1' AND c.name = :'p2'", w.org, w.cache)
        [[ssh_pub, ssh_priv, cache_pub, cache_sec]] = keys
        self.assertRegex(ssh_pub, r"^ssh-ed25519 [A-Za-z0-9+/=]+ gradient@" +
                         re.escape(w.org) + "$")
        self.assertTrue(ssh_priv.startswith("sb1:"))
        # gradient.conf sets no server_name: the default is "gradient".
        self.assertTrue(cache_pub.startswith("gradient-%s:" % w.cache),
                        cache_pub)
        self.assertTrue(cache_sec.startswith("sb1:"))
        r = self.apply(w, doc)
        self.assertEqual(self.summary(r), (0, 0, 5))
        self.assertEqual(self.s.sql(
            "SELECT o.ssh_public_key, o.ssh_private_key, c.public_key,"
            " c.secret_key FROM organization o, cache c"
            " WHERE o.name = :'p1' AND c.name = :'p2'", w.org, w.cache), keys)

    def test_check_writes_nothing(self):
        w = World(self)
        before = snapshot(self.s)
        r = self.apply(w, verb="check")
        self.assertEqual(snapshot(self.s), before)
        self.assertIn("would create organization '%s'" % w.org,
                      r.stdout.splitlines())
        self.assertRegex(r.stdout, r"(?m)^state check: 5 to create, 0 to "
                         r"update, 0 unchanged; nothing written$")
        self.apply(w)
        doc = copy.deepcopy(w.doc)
        doc["caches"][0]["priority"] = 41
        before = snapshot(self.s)
        r = self.apply(w, doc, verb="check")
        self.assertEqual(snapshot(self.s), before)
        self.assertEqual(self.changed_lines(r), [
            "would update cache '%s' (attributes)" % w.cache])

    def test_objects_not_named_are_left_alone(self):
        name, _, tok = harness.register(self.s)
        other = harness.unique("org")
        harness.expect(self, self.s.api("PUT", "/orgs", {
            "name": other, "display_name": "Not managed"}, token=tok),
            200, False)
        row = self.s.sql("SELECT o::text FROM organization o"
                         " WHERE name = :'p1'", other)
        w = World(self)
        doc = copy.deepcopy(w.doc)
        # A member the file does not list stays, with its role.
        doc["organizations"][0]["members"] = []
        self.apply(w, doc)
        self.s.sql("INSERT INTO organization_user (organization_id, user_id,"
                   " role) SELECT o.id, u.id, 'view' FROM organization o,"
                   " \"user\" u WHERE o.name = :'p1' AND u.username = :'p2'",
                   w.org, name)
        self.apply(w)
        self.assertEqual(self.s.sql("SELECT o::text FROM organization o"
                                    " WHERE name = :'p1'", other), row)
        self.assertEqual(self.s.sql(
            "SELECT u.username, m.role FROM organization_user m"
            " JOIN \"user\" u ON u.id = m.user_id JOIN organization o"
            " ON o.id = m.organization_id WHERE o.name = :'p1'"
            " ORDER BY 1", w.org), sorted([[name, "view"],
                                           [w.user, "admin"]]))


class Invalid(Base):
    """Every error names the object and field, exits 1, writes nothing."""

    def check_refused(self, w, doc, pattern):
        before = snapshot(self.s)
        r = self.apply(w, doc, ok=False)
        self.assertRegex(r.stderr, pattern)
        self.assertEqual(snapshot(self.s), before)
        return r

    def test_invalid_files(self):
        w = World(self)
        w.secret("weak", "aaaaaaaa\n")
        w.secret("empty", "")
        cases = [
            (lambda d: d["organizations"][0].update(nmae="x"),
             r"organizations\[0\]\.nmae: unknown field \(expected name, "),
            (lambda d: d.update(projcts=[]),
             r"projcts: unknown top-level field"),
            (lambda d: d["organizations"][0].update(name="Acme!"),
             r"organizations\[0\]\.name: use 1 to 64 lowercase"),
            (lambda d: d["projects"][0].update(organization="no-such-org"),
             r"projects\[0\]\.organization: no organization 'no-such-org'"),
            (lambda d: d["users"][0].update(password_file="weak"),
             r"users\[0\]\.password_file: Password must contain at least "
             r"5 different characters"),
            (lambda d: d["users"][0].update(password_file="empty"),
             r"users\[0\]\.password_file: .*empty: is empty"),
            (lambda d: d["users"][0].update(password_file="missing"),
             r"users\[0\]\.password_file: .*missing: No such file"),
            (lambda d: d["users"][0].pop("email"),
             r"users\[0\]\.email: required field is missing"),
            (lambda d: d["servers"][0].update(port="22"),
             r"servers\[0\]\.port: expected an integer from 1 to 65535"),
            (lambda d: d["servers"][0].update(architectures=["x86_64-linux",
                                                             "vax"]),
             r"servers\[0\]\.architectures\[1\]: expected a Nix system"),
            (lambda d: d["projects"][0].update(repository="--upload-pack=x"),
             r"projects\[0\]\.repository: expected a git URL"),
            (lambda d: d["projects"][0].update(evaluation_wildcard="a..b"),
             r"projects\[0\]\.evaluation_wildcard: expected attribute"),
            (lambda d: d["organizations"][0]["members"][0].update(
                role="owner"),
             r"organizations\[0\]\.members\[0\]\.role: expected admin, "
             r"write or view"),
            (lambda d: d["organizations"][0]["members"].append(
                {"username": "nobody-here", "role": "view"}),
             r"organizations\[0\]\.members\[1\]\.username: no user "
             r"'nobody-here'"),
            (lambda d: d["caches"][0].update(
                signing_key_file=os.path.join(w.dir, "cache.pub")),
             r"caches\[0\]\.signing_key_file: .*not a Nix secret key"),
            (lambda d: d["caches"][0].update(owner="nobody-here"),
             r"caches\[0\]\.owner: no user 'nobody-here'"),
            (lambda d: d["organizations"][0].update(
                private_key_file=os.path.join(w.dir, "key.pub")),
             r"organizations\[0\]\.private_key_file: "),
            (lambda d: d["users"].append(dict(d["users"][0])),
             r"users\[1\]\.username: '.*' is already defined by users\[0\]"),
            (lambda d: d.update(users={}),
             r"users: expected an array"),
            (lambda d: d["caches"].__setitem__(0, "main"),
             r"caches\[0\]: expected an object"),
        ]
        for mutate, pattern in cases:
            with self.subTest(pattern=pattern):
                doc = copy.deepcopy(w.doc)
                mutate(doc)
                self.check_refused(w, doc, pattern)

    def test_not_json(self):
        w = World(self)
        path = os.path.join(w.dir, "state.json")
        for text in ("", "[]", "{\"users\": [],}", "{'users': []}"):
            with self.subTest(text=text):
                with open(path, "w") as f:
                    f.write(text)
                r = ctl("state", "apply", path)
                self.assertEqual(r.returncode, 1, r)
                self.assertIn(path + ": ", r.stderr)
                self.assertEqual(r.stdout, "")

    def test_late_error_rolls_back_earlier_objects(self):
        # The user and organization are valid and come first; the cache's
        # subscription fails in the database, after they were inserted.
        w = World(self)
        doc = copy.deepcopy(w.doc)
        doc["caches"][0]["organizations"] = ["not-there"]
        self.check_refused(w, doc, r"caches\[0\]\.organizations\[0\]: no "
                           r"organization 'not-there'")
        self.assertEqual(self.s.sql("SELECT count(*) FROM organization"
                                    " WHERE name = :'p1'", w.org), [["0"]])

    def test_email_taken_by_another_account(self):
        name, _, _ = harness.register(self.s)
        w = World(self)
        doc = copy.deepcopy(w.doc)
        doc["users"][0]["email"] = name.upper() + "@EXAMPLE.com"
        self.check_refused(w, doc, r"users\[0\]\.email: already used by "
                           r"another account")


class ApiRefusesManaged(Base):
    def test_api_refuses_changes_to_managed_objects(self):
        w = World(self)
        self.apply(w)
        tok = w.login()
        before = snapshot(self.s)
        o, c, p, sv = (w.org, w.cache, "%s/web" % w.org,
                       "%s/builder-1" % w.org)
        cases = [
            ("PATCH", "/orgs/" + o, {"display_name": "X"}, "organization"),
            ("DELETE", "/orgs/" + o, None, "organization"),
            ("POST", "/orgs/%s/ssh" % o, None, "organization"),
            ("POST", "/orgs/%s/users" % o, {"username": w.user},
             "organization"),
            ("PATCH", "/projects/" + p, {"display_name": "X"}, "project"),
            ("DELETE", "/projects/" + p, None, "project"),
            ("DELETE", "/projects/%s/active" % p, None, "project"),
            ("PATCH", "/servers/" + sv, {"display_name": "X"}, "server"),
            ("DELETE", "/servers/" + sv, None, "server"),
            ("PATCH", "/caches/" + c, {"display_name": "X"}, "cache"),
            ("DELETE", "/caches/" + c, None, "cache"),
            ("DELETE", "/caches/%s/active" % c, None, "cache"),
            ("PATCH", "/user/settings", {"name": "X"}, "user"),
            ("DELETE", "/user", None, "user"),
        ]
        for method, path, body, what in cases:
            with self.subTest(method=method, path=path):
                r = self.s.api(method, path, body, token=tok)
                harness.expect(self, r, 403, True,
                               "Cannot modify state-managed %s." % what)
        # Those 403s wrote nothing (bar the login the test made before).
        self.assertEqual(snapshot(self.s), before)


if __name__ == "__main__":
    unittest.main()
