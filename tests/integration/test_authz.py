"""Integration tests for authorization: who may read, change and delete
what, as a table of (resource, action, actor) -> expected status.

Roles are admin > write > view, and an organization's creator is its
admin.  A user who is not a member of an organization gets 404
"Organization not found" for everything under it; a member whose role is
too low gets 403 naming the role needed.  A cache is read by its owner
and by members of the organizations subscribed to it, and changed by its
owner only.  State-managed objects refuse every change with 403.

Every cell that changes something runs in a fresh "world" (organization,
members, project, server, subscribed cache), so cells do not depend on
one another; the table is run through once and the test fails once,
listing every cell that did not answer as expected.
"""
import os
import pwd
import re
import shutil
import tempfile
import unittest

import harness
import sshd

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")
LEAKS = (b"PRIVATE KEY", b"OPENSSH", b"sb1:")
ROLES = {"view": 1, "write": 2, "admin": 3}
ORG_ACTORS = ("stranger", "viewer", "writer", "admin")
CACHE_ACTORS = ("stranger", "member", "owner")
OWNER_MSG = "Forbidden: only the cache's owner can change it"

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


# -- the organization-scoped table --------------------------------------
#
# (resource, action, method, path, body, role needed, status when
# allowed[, prep]).  Paths and bodies are filled in from the world: {org},
# {cache} (subscribed), {cache2} (the admin's, not subscribed) and {extra}
# (a user who is not a member unless prep adds them).  prep names a
# method run on the world before the cell.

ORG_ACTIONS = [
    ("organization", "read", "GET", "/orgs/{org}", None, "view", 200),
    ("organization", "change", "PATCH", "/orgs/{org}",
     {"display_name": "Changed"}, "admin", 200),
    ("organization", "delete", "DELETE", "/orgs/{org}", None, "admin", 200),
    ("members", "read", "GET", "/orgs/{org}/users", None, "view", 200),
    ("members", "add", "POST", "/orgs/{org}/users",
     {"username": "{extra}", "role": "write"}, "admin", 200),
    ("members", "change", "PATCH", "/orgs/{org}/users",
     {"username": "{extra}", "role": "write"}, "admin", 200, "add_extra"),
    ("members", "delete", "DELETE", "/orgs/{org}/users",
     {"username": "{extra}"}, "admin", 200, "add_extra"),
    ("ssh key", "read", "GET", "/orgs/{org}/ssh", None, "view", 200),
    ("ssh key", "change", "POST", "/orgs/{org}/ssh", None, "admin", 200),
    ("subscriptions", "read", "GET", "/orgs/{org}/subscribe", None, "view",
     200),
    ("subscriptions", "add", "POST", "/orgs/{org}/subscribe/{cache2}", None,
     "admin", 200),
    ("subscriptions", "delete", "DELETE", "/orgs/{org}/subscribe/{cache}",
     None, "admin", 200),
    ("project", "list", "GET", "/projects/{org}", None, "view", 200),
    ("project", "read", "GET", "/projects/{org}/p", None, "view", 200),
    ("project", "details", "GET", "/projects/{org}/p/details", None, "view",
     200),
    ("project", "entry-points", "GET", "/projects/{org}/p/entry-points",
     None, "view", 200),
    ("project", "create", "PUT", "/projects/{org}",
     {"name": "new", "display_name": "New", "evaluation_wildcard": "checks",
      "repository": "https://example.org/r.git"}, "write", 200),
    ("project", "change", "PATCH", "/projects/{org}/p",
     {"display_name": "Changed"}, "write", 200),
    ("project", "enable", "POST", "/projects/{org}/p/active", None, "write",
     200),
    ("project", "disable", "DELETE", "/projects/{org}/p/active", None,
     "write", 200),
    ("project", "check-repository", "POST",
     "/projects/{org}/p/check-repository", None, "write", 200),
    ("project", "delete", "DELETE", "/projects/{org}/p", None, "admin", 200),
    ("server", "list", "GET", "/servers/{org}", None, "view", 200),
    ("server", "read", "GET", "/servers/{org}/s", None, "view", 200),
    ("server", "create", "PUT", "/servers/{org}",
     {"name": "new", "display_name": "New", "host": "127.0.0.1",
      "username": "root", "architectures": ["x86_64-linux"]}, "admin", 200),
    ("server", "change", "PATCH", "/servers/{org}/s",
     {"display_name": "Changed"}, "admin", 200),
    ("server", "enable", "POST", "/servers/{org}/s/active", None, "admin",
     200),
    ("server", "disable", "DELETE", "/servers/{org}/s/active", None, "admin",
     200),
    # Allowed, the check runs and finds nothing listening: 504.
    ("server", "check-connection", "POST",
     "/servers/{org}/s/check-connection", None, "admin", 504),
    ("server", "delete", "DELETE", "/servers/{org}/s", None, "admin", 200),
]

# What an admin must still GET after a refused delete.
STILL_THERE = {
    ("organization", "delete"): "/orgs/{org}",
    ("project", "delete"): "/projects/{org}/p",
    ("server", "delete"): "/servers/{org}/s",
    ("subscriptions", "delete"): "/caches/{cache}",
}

CACHE_ACTIONS = [
    # (action, method, path, body, owner only)
    ("read", "GET", "/caches/{cache}", None, False),
    ("key", "GET", "/caches/{cache}/key", None, False),
    ("change", "PATCH", "/caches/{cache}", {"priority": 7}, True),
    ("enable", "POST", "/caches/{cache}/active", None, True),
    ("disable", "DELETE", "/caches/{cache}/active", None, True),
    ("delete", "DELETE", "/caches/{cache}", None, True),
]


def fill(v, world):
    """v with every {key} in its strings replaced from world."""
    if isinstance(v, str):
        for k, x in world.items():
            v = v.replace("{%s}" % k, str(x))
        return v
    if isinstance(v, dict):
        return {k: fill(x, world) for k, x in v.items()}
    if isinstance(v, list):
        return [fill(x, world) for x in v]
    return v


def org_expected(actor, need, ok, org):
    """(status, message) for actor doing what needs role need."""
    if actor == "stranger":
        return 404, "Organization not found"
    if ROLES[{"viewer": "view", "writer": "write",
              "admin": "admin"}[actor]] < ROLES[need]:
        return 403, ("Forbidden: this needs the %s role in organization "
                     "'%s'" % (need, org))
    return ok, None


class Matrix(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # A repository the responder (user "gradient") may read.
        cls.dir = tempfile.mkdtemp(prefix="gradient-authz.")
        cls.addClassCleanup(shutil.rmtree, cls.dir, ignore_errors=True)
        os.chmod(cls.dir, 0o755)
        svc = pwd.getpwnam(harness.SVC_USER)
        cls.repo = sshd.make_repo(cls.dir, owner=(svc.pw_uid, svc.pw_gid))

    def setUp(self):
        self.s = harness.STACK
        self.tok = {a: user(a)[1] for a in ORG_ACTORS + ("extra",)}

    def ok(self, r, status=200):
        harness.expect(self, r, status, status >= 400)
        return r.message

    def world(self):
        """A fresh organization with a viewer, a writer, a project "p", a
        server "s" (nothing listens on its port) and a subscribed cache;
        and an unsubscribed cache of the admin's."""
        admin = self.tok["admin"]
        org = harness.unique("az")
        self.ok(api("PUT", "/orgs", {"name": org, "display_name": "W"},
                    admin))
        for actor, role in (("viewer", "view"), ("writer", "write")):
            self.ok(api("POST", "/orgs/%s/users" % org,
                        {"username": user(actor)[0], "role": role}, admin))
        self.ok(api("PUT", "/projects/" + org, {
            "name": "p", "display_name": "P", "evaluation_wildcard": "checks",
            "repository": "file://" + self.repo}, admin))
        self.ok(api("PUT", "/servers/" + org, {
            "name": "s", "display_name": "S", "host": "127.0.0.1",
            "port": harness.free_port(), "username": "root",
            "architectures": ["x86_64-linux"]}, admin))
        caches = []
        for _ in range(2):
            c = harness.unique("azc")
            self.ok(api("PUT", "/caches", {"name": c, "display_name": "C"},
                        admin))
            caches.append(c)
        self.ok(api("POST", "/orgs/%s/subscribe/%s" % (org, caches[0]),
                    token=admin))
        return {"org": org, "cache": caches[0], "cache2": caches[1],
                "extra": user("extra")[0]}

    def add_extra(self, w):
        self.ok(api("POST", "/orgs/%s/users" % w["org"],
                    {"username": w["extra"], "role": "view"},
                    self.tok["admin"]))

    def test_organization_matrix(self):
        mismatches = []
        shared = self.world()
        cells = 0
        for row in ORG_ACTIONS:
            resource, action, method, path, body, need, ok = row[:7]
            prep = row[7] if len(row) > 7 else None
            for actor in ORG_ACTORS:
                cells += 1
                w = shared if method == "GET" else self.world()
                if prep is not None:
                    getattr(self, prep)(w)
                want, msg = org_expected(actor, need, ok, w["org"])
                r = api(method, fill(path, w), fill(body, w),
                        self.tok[actor])
                where = "(%s, %s, %s) %s %s" % (resource, action, actor,
                                                method, fill(path, w))
                if r.status != want:
                    mismatches.append("%s: expected %d, got %r"
                                      % (where, want, r))
                    continue
                got = r.json()
                if got.get("error") is not (want >= 400) or \
                        (msg is not None and got.get("message") != msg):
                    mismatches.append("%s: expected %d %r, got %r"
                                      % (where, want, msg, r))
                still = STILL_THERE.get((resource, action))
                if still is not None and want >= 400:
                    r = api("GET", fill(still, w), token=self.tok["admin"])
                    if r.status != 200:
                        mismatches.append("%s: refused, yet GET %s is %r"
                                          % (where, fill(still, w), r))
        self.assertEqual(cells, len(ORG_ACTIONS) * len(ORG_ACTORS))
        if mismatches:
            self.fail("%d of %d cells differ:\n  %s" % (
                len(mismatches), cells, "\n  ".join(mismatches)))

    def test_cache_matrix(self):
        actors = {"stranger": self.tok["stranger"],
                  "member": self.tok["viewer"], "owner": self.tok["admin"]}
        mismatches = []
        shared = self.world()
        cells = 0
        for action, method, path, body, owner_only in CACHE_ACTIONS:
            for actor in CACHE_ACTORS:
                cells += 1
                w = shared if method == "GET" else self.world()
                if actor == "stranger":
                    want, msg = 404, "Cache not found"
                elif actor == "member" and owner_only:
                    want, msg = 403, OWNER_MSG
                else:
                    want, msg = 200, None
                p = fill(path, w)
                r = api(method, p, fill(body, w), actors[actor])
                where = "(cache, %s, %s) %s %s" % (action, actor, method, p)
                if r.status != want or (msg is not None and
                                        r.json().get("message") != msg):
                    mismatches.append("%s: expected %d %r, got %r"
                                      % (where, want, msg, r))
                if want >= 400 and action == "delete":
                    r = api("GET", fill("/caches/{cache}", w),
                            token=actors["owner"])
                    if r.status != 200:
                        mismatches.append("%s: refused, yet the cache is %r"
                                          % (where, r))
        # Listing: the owner and the member see it, the stranger not.
        w = shared
        for actor in CACHE_ACTORS:
            cells += 1
            names = [c["name"] for c in
                     api("GET", "/caches", token=actors[actor]).message]
            if (w["cache"] in names) != (actor != "stranger"):
                mismatches.append("(cache, list, %s): %s listed: %s"
                                  % (actor, w["cache"], w["cache"] in names))
        if mismatches:
            self.fail("%d of %d cells differ:\n  %s" % (
                len(mismatches), cells, "\n  ".join(mismatches)))

    def test_subscribing_needs_a_visible_cache(self):
        # An admin of an organization cannot subscribe it to a cache that
        # they cannot see, nor a stranger's cache through someone else's
        # organization.
        w = self.world()
        _, stok, _ = user("stranger")
        theirs = harness.unique("azc")
        self.ok(api("PUT", "/caches", {"name": theirs, "display_name": "T"},
                    stok))
        r = api("POST", "/orgs/%s/subscribe/%s" % (w["org"], theirs),
                token=self.tok["admin"])
        harness.expect(self, r, 404, True, "Cache not found")
        own = harness.unique("stranger-org")
        self.ok(api("PUT", "/orgs", {"name": own, "display_name": "S"}, stok))
        r = api("POST", "/orgs/%s/subscribe/%s" % (own, w["cache"]),
                token=stok)
        harness.expect(self, r, 404, True, "Cache not found")

    def test_roles_follow_membership_changes(self):
        w = self.world()
        vtok = self.tok["viewer"]
        path = "/projects/%s/p" % w["org"]
        r = api("PATCH", path, {"display_name": "X"}, vtok)
        harness.expect(self, r, 403, True, "Forbidden: this needs the write "
                       "role in organization '%s'" % w["org"])
        self.ok(api("PATCH", "/orgs/%s/users" % w["org"], {
            "username": user("viewer")[0], "role": "write"},
            self.tok["admin"]))
        self.ok(api("PATCH", path, {"display_name": "X"}, vtok))
        self.ok(api("DELETE", "/orgs/%s/users" % w["org"], {
            "username": user("viewer")[0]}, self.tok["admin"]))
        harness.expect(self, api("GET", path, token=vtok), 404, True,
                       "Organization not found")
        # Nor does a former member see the subscribed cache any more.
        harness.expect(self, api("GET", "/caches/" + w["cache"],
                                 token=vtok), 404, True, "Cache not found")


class Managed(unittest.TestCase):
    """State-managed objects refuse changes, and stay as they were."""

    def setUp(self):
        self.s = harness.STACK
        _, self.tok, _ = user("admin")

    def ok(self, r):
        return harness.expect(self, r, 200, False)

    def make(self):
        org = harness.unique("mg")
        self.ok(api("PUT", "/orgs", {"name": org, "display_name": "M"},
                    self.tok))
        self.ok(api("PUT", "/projects/" + org, {
            "name": "p", "display_name": "P", "evaluation_wildcard": "checks",
            "repository": "https://example.org/r.git"}, self.tok))
        self.ok(api("PUT", "/servers/" + org, {
            "name": "s", "display_name": "S", "host": "example.org",
            "username": "root", "architectures": ["x86_64-linux"]}, self.tok))
        caches = [harness.unique("mgc") for _ in range(2)]
        for c in caches:
            self.ok(api("PUT", "/caches", {"name": c, "display_name": "C"},
                        self.tok))
        self.ok(api("POST", "/orgs/%s/subscribe/%s" % (org, caches[0]),
                    token=self.tok))
        return org, caches

    def refuse(self, what, calls, reads):
        before = [self.ok(api("GET", p, token=self.tok)) for p in reads]
        msg = "Cannot modify state-managed %s." % what
        for method, path, body in calls:
            with self.subTest(method=method, path=path):
                harness.expect(self, api(method, path, body, self.tok), 403,
                               True, msg)
        after = [self.ok(api("GET", p, token=self.tok)) for p in reads]
        self.assertEqual(after, before)

    def test_managed_organization(self):
        org, (cache, cache2) = self.make()
        self.s.sql("UPDATE organization SET managed = true WHERE name ="
                   " :'p1'", org)
        self.assertIs(self.ok(api("GET", "/orgs/" + org,
                                  token=self.tok))["managed"], True)
        o = "/orgs/" + org
        self.refuse("organization", [
            ("PATCH", o, {"display_name": "Changed"}),
            ("DELETE", o, None),
            ("POST", o + "/users", {"username": user("viewer")[0]}),
            ("PATCH", o + "/users", {"username": user("admin")[0],
                                     "role": "admin"}),
            ("DELETE", o + "/users", {"username": user("admin")[0]}),
            ("POST", o + "/ssh", None),
            ("POST", o + "/subscribe/" + cache2, None),
            ("DELETE", o + "/subscribe/" + cache, None),
        ], [o, o + "/users", o + "/ssh", o + "/subscribe"])

    def test_managed_project(self):
        org, _ = self.make()
        self.s.sql("UPDATE project SET managed = true WHERE name = 'p' AND"
                   " organization_id = (SELECT id FROM organization WHERE"
                   " name = :'p1')", org)
        p = "/projects/%s/p" % org
        self.assertIs(self.ok(api("GET", p, token=self.tok))["managed"], True)
        self.refuse("project", [
            ("PATCH", p, {"display_name": "Changed"}),
            ("PATCH", p, {"repository": "https://example.org/other.git"}),
            ("DELETE", p, None),
            ("POST", p + "/active", None),
            ("DELETE", p + "/active", None),
        ], [p, "/projects/" + org])

    def test_managed_server(self):
        org, _ = self.make()
        self.s.sql("UPDATE server SET managed = true WHERE name = 's' AND"
                   " organization_id = (SELECT id FROM organization WHERE"
                   " name = :'p1')", org)
        s = "/servers/%s/s" % org
        self.assertIs(self.ok(api("GET", s, token=self.tok))["managed"], True)
        self.refuse("server", [
            ("PATCH", s, {"display_name": "Changed"}),
            ("PATCH", s, {"port": 2222}),
            ("DELETE", s, None),
            ("POST", s + "/active", None),
            ("DELETE", s + "/active", None),
        ], [s, "/servers/" + org])

    def test_managed_cache(self):
        _, (cache, _) = self.make()
        self.s.sql("UPDATE cache SET managed = true WHERE name = :'p1'",
                   cache)
        c = "/caches/" + cache
        self.assertIs(self.ok(api("GET", c, token=self.tok))["managed"], True)
        self.refuse("cache", [
            ("PATCH", c, {"priority": 1}),
            ("DELETE", c, None),
            ("POST", c + "/active", None),
            ("DELETE", c + "/active", None),
        ], [c, c + "/key"])

    def test_managed_objects_refuse_other_members_first_by_role(self):
        # The role check comes before the managed check: a viewer of a
        # managed organization is told about the role.
        org, _ = self.make()
        self.ok(api("POST", "/orgs/%s/users" % org,
                    {"username": user("viewer")[0]}, self.tok))
        self.s.sql("UPDATE organization SET managed = true WHERE name ="
                   " :'p1'", org)
        r = api("PATCH", "/orgs/" + org, {"display_name": "X"},
                user("viewer")[1])
        harness.expect(self, r, 403, True, "Forbidden: this needs the admin "
                       "role in organization '%s'" % org)
