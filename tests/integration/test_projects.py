"""Integration tests for /projects/{org}[/{project}] and /commits/{id}.

The repository checks contact real servers: a "git daemon", a file://
repository and a private sshd (tests/integration/sshd.py), all on
loopback and started by this module, stopped by PID in class clean-ups.
Users are registered once per module; every test makes its own
organizations and projects.
"""
import os
import pwd
import re
import shutil
import tempfile
import unittest
import uuid

import harness
import sshd

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
LEAKS = (b"PRIVATE KEY", b"OPENSSH", b"sb1:")
PROJECT_KEYS = ["active", "branch", "created_at", "created_by",
                "description", "display_name", "evaluation_wildcard", "id",
                "last_check_at", "managed", "name", "organization",
                "repository"]
REPO_MSG = ("field 'repository': expected a git URL (https://, http://, "
            "git://, ssh://, file:// or user@host:path)")
WILDCARD_MSG = ("field 'evaluation_wildcard': expected attribute paths "
                "separated by commas, with '*' for any attribute (e.g. "
                "\"packages.x86_64-linux.*\")")
BRANCH_MSG = "field 'branch': not a valid branch name"
SLUG_MSG = "field 'name': use 1 to 64 lowercase letters, digits, '-' or '_'"

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


def project_body(**kw):
    body = {"name": harness.unique("p"), "display_name": "A Project",
            "repository": "https://example.org/repo.git",
            "evaluation_wildcard": "packages.x86_64-linux.*"}
    body.update(kw)
    return {k: v for k, v in body.items() if v is not None}


def make_project(tc, org, tok, **kw):
    body = project_body(**kw)
    r = api("PUT", "/projects/" + org, body, tok)
    return body["name"], harness.expect(tc, r, 200, False, UUID_RE)


class Projects(unittest.TestCase):
    """Create, list, get, patch, enable, disable and delete."""

    def setUp(self):
        self.s = harness.STACK
        _, self.tok, self.uid = user("alice")
        self.org, self.org_id = make_org(self, self.tok)

    def get(self, name):
        r = api("GET", "/projects/%s/%s" % (self.org, name), token=self.tok)
        return harness.expect(self, r, 200, False)

    def test_create_then_get_shape(self):
        name, pid = make_project(self, self.org, self.tok)
        p = self.get(name)
        self.assertEqual(sorted(p), PROJECT_KEYS)
        self.assertRegex(p.pop("created_at"), TIME_RE)
        self.assertEqual(p, {
            "id": pid, "name": name, "display_name": "A Project",
            "description": "", "organization": self.org_id,
            "repository": "https://example.org/repo.git", "branch": None,
            "evaluation_wildcard": "packages.x86_64-linux.*",
            "active": True, "managed": False, "last_check_at": None,
            "created_by": self.uid})
        name, _ = make_project(self, self.org, self.tok, branch="release/1.x",
                               description="Built \u00e0 la \"carte\"",
                               repository="git@github.com:a/b.git")
        p = self.get(name)
        self.assertEqual((p["branch"], p["description"], p["repository"]),
                         ("release/1.x", "Built \u00e0 la \"carte\"",
                          "git@github.com:a/b.git"))
        # An empty branch means the default one.
        name, _ = make_project(self, self.org, self.tok, branch="")
        self.assertIsNone(self.get(name)["branch"])

    def test_list_by_name(self):
        r = api("GET", "/projects/" + self.org, token=self.tok)
        self.assertEqual(harness.expect(self, r, 200, False), [])
        made = [make_project(self, self.org, self.tok, name=n)
                for n in ("zeta", "alpha", "mid-1")]
        other_org, _ = make_org(self, self.tok)
        make_project(self, other_org, self.tok, name="alpha")
        r = api("GET", "/projects/" + self.org, token=self.tok)
        self.assertEqual(harness.expect(self, r, 200, False), sorted(
            [{"id": i, "name": n} for n, i in made], key=lambda p: p["name"]))

    def test_valid_repositories_and_wildcards(self):
        repos = ["https://github.com/NixOS/nixpkgs.git",
                 "http://example.org:8080/r", "git://127.0.0.1/r.git",
                 "ssh://git@example.org:2222/r.git", "ssh://example.org/r",
                 "file:///srv/git/r.git", "git@github.com:owner/repo.git",
                 "deploy@[::1]:r.git", "https://[2001:db8::1]/r.git"]
        for repo in repos:
            with self.subTest(repo=repo):
                name, _ = make_project(self, self.org, self.tok,
                                       repository=repo)
                self.assertEqual(self.get(name)["repository"], repo)
        for wc in ("checks", "packages.x86_64-linux.*", "*",
                   "checks.*, packages.*.default", "hydraJobs.x'",
                   "a.b_c-d'.e", "_private"):
            with self.subTest(wildcard=wc):
                name, _ = make_project(self, self.org, self.tok,
                                       evaluation_wildcard=wc)
                self.assertEqual(self.get(name)["evaluation_wildcard"], wc)
        for branch in ("main", "feature/x-1", "v1.2.3", "a+b_c"):
            with self.subTest(branch=branch):
                name, _ = make_project(self, self.org, self.tok,
                                       branch=branch)
                self.assertEqual(self.get(name)["branch"], branch)

    def test_create_invalid_is_400(self):
        cases = [
            (project_body(name=None), "field 'name' is required"),
            (project_body(display_name=None), "field 'display_name' is "
             "required"),
            (project_body(repository=None), "field 'repository' is "
             "required"),
            (project_body(evaluation_wildcard=None), "field "
             "'evaluation_wildcard' is required"),
            (project_body(name="Caps"), SLUG_MSG),
            (project_body(name="x" * 65), "field 'name': expected a string "
             "of 1 to 64 characters"),
            (project_body(display_name="x" * 129), re.compile(
                r"^field 'display_name': expected text of at most 128 ")),
            (project_body(display_name="a\nb"), re.compile(
                r"^field 'display_name': expected text")),
            (project_body(description="d" * 4097), re.compile(
                r"^field 'description': expected text of at most 4096 ")),
            (project_body(repository=""), re.compile(
                r"^field 'repository': expected a string")),
            (project_body(repository=["https://x/y"]), re.compile(
                r"^field 'repository': expected a string")),
            (project_body(evaluation_wildcard=""), re.compile(
                r"^field 'evaluation_wildcard': expected a string")),
            (project_body(branch=5), re.compile(
                r"^field 'branch': expected a string")),
        ]
        for repo in ("-oProxyCommand=touch /tmp/x", "ext::sh -c touch% x",
                     "EXT::sh", "fd::0", "transport::x",
                     "ssh://-oProxyCommand=x/r", "ssh://user@-host/r",
                     "https://", "ftp://example.org/r", "/srv/git/r.git",
                     "relative/path", "host:path", "user@host:",
                     "user@host:-oFoo", "file://relative",
                     "https://example.org/r\n", "https://exa mple.org/r",
                     "https://example.org:123456/r", "x" * 1025):
            cases.append((project_body(repository=repo), REPO_MSG
                          if len(repo) <= 1024 else re.compile(
                              r"^field 'repository': expected a string")))
        for wc in ("a..b", "a.", ".a", "a,", ",a", "1abc", "a b", "a.*x",
                   "a;b", "packages.\"x\"", "*" + "a" * 1024):
            cases.append((project_body(evaluation_wildcard=wc),
                          WILDCARD_MSG if len(wc) <= 1024 else re.compile(
                              r"^field 'evaluation_wildcard': expected a "
                              r"string")))
        for branch in ("-x", "/x", "x/", "x.", "a..b", "a//b", "a@{1}",
                       "a b", "a~1", "a:b", "a\\b"):
            cases.append((project_body(branch=branch), BRANCH_MSG))
        for body, msg in cases:
            with self.subTest(body=str(body)[:120]):
                r = api("PUT", "/projects/" + self.org, body, self.tok)
                harness.expect(self, r, 400, True, msg)
        r = api("GET", "/projects/" + self.org, token=self.tok)
        self.assertEqual(harness.expect(self, r, 200, False), [])

    def test_duplicate_name_is_409_per_organization(self):
        name, pid = make_project(self, self.org, self.tok)
        r = api("PUT", "/projects/" + self.org, project_body(name=name),
                self.tok)
        harness.expect(self, r, 409, True, "Project name already exists")
        self.assertEqual(self.get(name)["id"], pid)
        other, _ = make_org(self, self.tok)
        make_project(self, other, self.tok, name=name)

    def test_patch_each_field(self):
        name, pid = make_project(self, self.org, self.tok, branch="main")
        path = "/projects/%s/%s" % (self.org, name)
        changes = {"display_name": "Renamed \u2713", "description": "Desc",
                   "repository": "ssh://git@example.org/r.git",
                   "branch": "dev", "evaluation_wildcard": "checks"}
        for k, v in changes.items():
            with self.subTest(field=k):
                harness.expect(self, api("PATCH", path, {k: v}, self.tok),
                               200, False, "Project updated")
                self.assertEqual(self.get(name)[k], v)
        # An empty branch returns to the default branch.
        harness.expect(self, api("PATCH", path, {"branch": ""}, self.tok),
                       200, False, "Project updated")
        self.assertIsNone(self.get(name)["branch"])
        # An absent branch leaves it alone.
        api("PATCH", path, {"branch": "dev"}, self.tok)
        harness.expect(self, api("PATCH", path, {"display_name": "D"},
                                 self.tok), 200, False)
        self.assertEqual(self.get(name)["branch"], "dev")
        new = harness.unique("renamed")
        harness.expect(self, api("PATCH", path, {"name": new}, self.tok),
                       200, False, "Project updated")
        harness.expect(self, api("GET", path, token=self.tok), 404, True,
                       "Project not found")
        p = self.get(new)
        self.assertEqual((p["id"], p["display_name"], p["active"]),
                         (pid, "D", True))

    def test_patch_invalid_or_taken_changes_nothing(self):
        name, _ = make_project(self, self.org, self.tok)
        taken, _ = make_project(self, self.org, self.tok)
        path = "/projects/%s/%s" % (self.org, name)
        before = self.get(name)
        for body, status, msg in (
                ({"name": "Bad"}, 400, SLUG_MSG),
                ({"display_name": ""}, 400, "field 'display_name': must not "
                 "be empty"),
                ({"repository": "ext::sh"}, 400, REPO_MSG),
                ({"evaluation_wildcard": "a..b"}, 400, WILDCARD_MSG),
                ({"branch": "-x"}, 400, BRANCH_MSG),
                ({"display_name": "ok", "repository": "nope"}, 400,
                 REPO_MSG),
                ({"name": taken}, 409, "Project name already exists")):
            with self.subTest(body=body):
                harness.expect(self, api("PATCH", path, body, self.tok),
                               status, True, msg)
        self.assertEqual(self.get(name), before)

    def test_active_off_and_on(self):
        name, _ = make_project(self, self.org, self.tok)
        path = "/projects/%s/%s/active" % (self.org, name)
        for method, msg, active in (("DELETE", "Project disabled", False),
                                    ("DELETE", "Project disabled", False),
                                    ("POST", "Project enabled", True),
                                    ("POST", "Project enabled", True)):
            harness.expect(self, api(method, path, token=self.tok), 200,
                           False, msg)
            self.assertIs(self.get(name)["active"], active)

    def test_details_and_entry_points(self):
        name, _ = make_project(self, self.org, self.tok)
        r = api("GET", "/projects/%s/%s/details" % (self.org, name),
                token=self.tok)
        self.assertEqual(harness.expect(self, r, 200, False), {
            "latest_evaluation": None, "recent_evaluations": [],
            "entry_points": []})
        r = api("GET", "/projects/%s/%s/entry-points" % (self.org, name),
                token=self.tok)
        self.assertEqual(harness.expect(self, r, 200, False), [])

    def test_delete(self):
        name, pid = make_project(self, self.org, self.tok)
        path = "/projects/%s/%s" % (self.org, name)
        harness.expect(self, api("DELETE", path, token=self.tok), 200, False,
                       "Project deleted")
        for method, sub in (("GET", ""), ("DELETE", ""), ("PATCH", ""),
                            ("GET", "/details"), ("GET", "/entry-points"),
                            ("POST", "/active"), ("DELETE", "/active"),
                            ("POST", "/check-repository")):
            with self.subTest(method=method, sub=sub):
                harness.expect(self, api(method, path + sub, {}, self.tok),
                               404, True, "Project not found")
        self.assertEqual(self.s.sql("SELECT count(*) FROM project WHERE"
                                    " id = :'p1'", pid), [["0"]])
        make_project(self, self.org, self.tok, name=name)

    def test_unknown_organization_or_project_is_404(self):
        bad_org = "no-such-" + os.urandom(4).hex()
        for method, path in (("GET", "/projects/" + bad_org),
                             ("PUT", "/projects/" + bad_org),
                             ("GET", "/projects/%s/p" % bad_org),
                             ("GET", "/projects/UPPER/p")):
            harness.expect(self, api(method, path, project_body(),
                                     self.tok), 404, True,
                           "Organization not found")
        for proj in ("nope", "UPPER", "a.b", "x" * 65):
            for method, sub in (("GET", ""), ("PATCH", ""),
                                ("GET", "/details")):
                r = api(method, "/projects/%s/%s%s" % (self.org, proj, sub),
                        {"display_name": "x"}, self.tok)
                harness.expect(self, r, 404, True, "Project not found")

    def test_unauthenticated_is_401(self):
        for method, sub in (("GET", ""), ("PUT", ""), ("GET", "/p"),
                            ("PATCH", "/p"), ("DELETE", "/p"),
                            ("GET", "/p/details"), ("GET", "/p/entry-points"),
                            ("POST", "/p/check-repository"),
                            ("POST", "/p/active"), ("DELETE", "/p/active")):
            r = api(method, "/projects/" + self.org + sub, {})
            harness.expect(self, r, 401, True, "Unauthorized")


class Commits(unittest.TestCase):
    """GET /commits/{id}: members of the commit's organization only."""

    KEYS = ["author", "author_email", "author_name", "committed_at",
            "created_at", "hash", "id", "message"]

    def setUp(self):
        self.s = harness.STACK
        _, self.tok, self.uid = user("alice")
        self.org, self.org_id = make_org(self, self.tok)

    def insert(self, author=None):
        h = os.urandom(20).hex()
        (cid,), = self.s.sql(
            "INSERT INTO \"commit\" (organization_id, hash, message, author,"
            " author_name, author_email, committed_at) VALUES (:'p1', :'p2',"
            " :'p3', NULLIF(:'p4', '')::uuid, :'p5', :'p6',"
            " '2026-01-02 03:04:05.5+00') RETURNING id",
            self.org_id, h, "feat: add \"dark\" mode \u2600", author or "",
            "Ali\u00e7e Example", "alice@example.org")
        return cid, h

    def test_member_gets_the_commit(self):
        cid, h = self.insert(author=self.uid)
        r = api("GET", "/commits/" + cid, token=self.tok)
        c = harness.expect(self, r, 200, False)
        self.assertEqual(sorted(c), self.KEYS)
        self.assertRegex(c.pop("created_at"), TIME_RE)
        self.assertEqual(c, {
            "id": cid, "message": "feat: add \"dark\" mode \u2600", "hash": h,
            "author": self.uid, "author_name": "Ali\u00e7e Example",
            "author_email": "alice@example.org",
            "committed_at": "2026-01-02T03:04:05.5Z"})
        # Without a known author, author is null; any member may read it.
        cid, _ = self.insert()
        viewer, vtok, _ = user("bob")
        r = api("POST", "/orgs/%s/users" % self.org, {"username": viewer},
                self.tok)
        harness.expect(self, r, 200, False)
        r = api("GET", "/commits/" + cid, token=vtok)
        self.assertIsNone(harness.expect(self, r, 200, False)["author"])
        r = api("GET", "/commits/" + cid.upper(), token=vtok)
        self.assertEqual(harness.expect(self, r, 200, False)["id"], cid)

    def test_unknown_invisible_or_malformed_is_404(self):
        cid, _ = self.insert()
        _, stranger, _ = user("carol")
        for tok, commit in ((stranger, cid), (self.tok, str(uuid.uuid4())),
                            (self.tok, "not-a-uuid"), (self.tok, cid[:-1]),
                            (self.tok, cid + "0"), (self.tok, "0" * 36),
                            (self.tok, cid.replace("-", ""))):
            with self.subTest(commit=commit):
                r = api("GET", "/commits/" + commit, token=tok)
                harness.expect(self, r, 404, True, "Commit not found")
        harness.expect(self, api("GET", "/commits/" + cid), 401, True,
                       "Unauthorized")

    def test_gone_with_its_organization(self):
        cid, _ = self.insert()
        harness.expect(self, api("DELETE", "/orgs/" + self.org,
                                 token=self.tok), 200, False)
        harness.expect(self, api("GET", "/commits/" + cid, token=self.tok),
                       404, True, "Commit not found")


class Repository(unittest.TestCase):
    """POST .../check-repository against git daemon, file:// and sshd."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="gradient-repocheck.")
        cls.addClassCleanup(shutil.rmtree, cls.dir, ignore_errors=True)
        os.chmod(cls.dir, 0o755)     # the responder runs as "gradient"
        # Served as root (git daemon, sshd), and one for the responder's
        # own git, which refuses a repository of someone else's.
        cls.repo = sshd.make_repo(cls.dir, "repo.git")
        svc = pwd.getpwnam(harness.SVC_USER)
        cls.svc_repo = sshd.make_repo(cls.dir, "svc.git",
                                      owner=(svc.pw_uid, svc.pw_gid))
        cls.daemon = sshd.GitDaemon(cls.dir)
        cls.addClassCleanup(cls.daemon.stop)
        cls.daemon.start()
        cls.sshd = sshd.Sshd(os.path.join(cls.dir, "ssh"))
        cls.addClassCleanup(cls.sshd.stop)
        cls.sshd.start()

    def setUp(self):
        self.s = harness.STACK
        _, self.tok, _ = user("alice")
        self.org, self.org_id = make_org(self, self.tok)

    def check(self, repo):
        name, _ = make_project(self, self.org, self.tok, repository=repo)
        path = "/projects/%s/%s" % (self.org, name)
        return api("POST", path + "/check-repository", token=self.tok), path

    def org_key(self):
        return api("GET", "/orgs/%s/ssh" % self.org, token=self.tok).message

    def known_hosts(self):
        # As hex: psql's rows are lines, and known_hosts has several.
        (kh,), = self.s.sql("SELECT 'x' || encode(convert_to(known_hosts,"
                            " 'UTF8'), 'hex') FROM organization WHERE"
                            " id = :'p1'", self.org_id)
        return bytes.fromhex(kh[1:]).decode()

    def test_git_daemon(self):
        r, path = self.check("git://127.0.0.1:%d/repo.git" % self.daemon.port)
        harness.expect(self, r, 200, False, "Repository is accessible "
                       "(2 refs)")
        p = harness.expect(self, api("GET", path, token=self.tok), 200,
                           False)
        self.assertRegex(p["last_check_at"], TIME_RE)
        self.assertEqual(self.known_hosts(), "")

    def test_file_url(self):
        r, _ = self.check("file://" + self.svc_repo)
        harness.expect(self, r, 200, False, "Repository is accessible "
                       "(2 refs)")

    def test_ssh_with_the_organization_key(self):
        url = "ssh://root@127.0.0.1:%d%s" % (self.sshd.port, self.repo)
        self.sshd.set_authorized([self.org_key()])
        try:
            r, path = self.check(url)
            harness.expect(self, r, 200, False, "Repository is accessible "
                           "(2 refs)")
            want = "[127.0.0.1]:%d ssh-ed25519 %s" % (self.sshd.port,
                                                     self.sshd.hostkey)
            self.assertIn(want, self.known_hosts().splitlines())
            # Again, now with the host key known.
            r = api("POST", path + "/check-repository", token=self.tok)
            harness.expect(self, r, 200, False, "Repository is accessible "
                           "(2 refs)")
            self.assertIn(want, self.known_hosts().splitlines())
            # A different key on record for the host: refused.
            other = sshd.keygen(os.path.join(
                self.dir, "other-%s" % os.urandom(3).hex()))
            self.s.sql("UPDATE organization SET known_hosts = :'p2' WHERE"
                       " id = :'p1'", self.org_id, "[127.0.0.1]:%d "
                       "ssh-ed25519 %s" % (self.sshd.port, other))
            r = api("POST", path + "/check-repository", token=self.tok)
            harness.expect(self, r, 400, True, re.compile(
                r"^Repository check failed: (.|\n)*Host key verification "
                r"failed"))
        finally:
            self.sshd.set_authorized([])

    def test_ssh_without_the_key_is_refused(self):
        url = "ssh://root@127.0.0.1:%d%s" % (self.sshd.port, self.repo)
        # Some other organization's key is authorised, not this one's.
        other, _ = make_org(self, self.tok)
        line = api("GET", "/orgs/%s/ssh" % other, token=self.tok).message
        self.sshd.set_authorized([line])
        try:
            r, path = self.check(url)
        finally:
            self.sshd.set_authorized([])
        msg = harness.expect(self, r, 400, True, re.compile(
            r"^Repository check failed: "))
        self.assertIn("Permission denied", msg)
        p = harness.expect(self, api("GET", path, token=self.tok), 200,
                           False)
        self.assertIsNone(p["last_check_at"])

    def test_unreachable_is_400(self):
        closed = harness.free_port()
        for url in ("git://127.0.0.1:%d/repo.git" % closed,
                    "http://127.0.0.1:%d/repo.git" % closed,
                    "ssh://root@127.0.0.1:%d/repo.git" % closed,
                    "git://127.0.0.1:%d/missing.git" % self.daemon.port,
                    "file://%s/missing.git" % self.dir):
            with self.subTest(url=url):
                r, _ = self.check(url)
                harness.expect(self, r, 400, True, re.compile(
                    r"^Repository check failed: ."))
