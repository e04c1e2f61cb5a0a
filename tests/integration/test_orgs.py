"""Integration tests for /orgs: organizations, members, the SSH key and
cache subscriptions; and that no secret (the organization's private key,
a cache's signing secret) leaves the server or reaches its log.

Users are registered once per module (argon2 makes that the slow part)
and every test makes its own organizations, so tests do not interfere.
"""
import base64
import ctypes
import ctypes.util
import hashlib
import os
import re
import struct
import subprocess
import tempfile
import threading
import unittest

import harness

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
SLUG_MSG = "field 'name': use 1 to 64 lowercase letters, digits, '-' or '_'"
LEAKS = (b"PRIVATE KEY", b"OPENSSH", b"sb1:")
ORG_KEYS = ["created_at", "created_by", "description", "display_name", "id",
            "managed", "name", "role"]

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


def make_org(tc, tok, **kw):
    """A new organization; returns (name, id)."""
    body = {"name": harness.unique("org"), "display_name": "An Org"}
    body.update(kw)
    r = api("PUT", "/orgs", body, tok)
    return body["name"], harness.expect(tc, r, 200, False, UUID_RE)


def make_cache(tc, tok):
    name = harness.unique("cache")
    r = api("PUT", "/caches", {"name": name, "display_name": "C"}, tok)
    return name, harness.expect(tc, r, 200, False, UUID_RE)


def add_member(tc, org, tok, username, role):
    r = api("POST", "/orgs/%s/users" % org, {"username": username,
                                               "role": role}, tok)
    harness.expect(tc, r, 200, False, "User added")


class Orgs(unittest.TestCase):
    """PUT /orgs, GET /orgs, GET, PATCH and DELETE /orgs/{org}."""

    def setUp(self):
        self.s = harness.STACK

    def get(self, org, tok):
        return harness.expect(self, api("GET", "/orgs/" + org, token=tok),
                              200, False)

    def test_create_then_get_shape(self):
        _, tok, uid = user("alice")
        name, oid = make_org(self, tok, display_name="Zo\u00eb's <Org>",
                             description="What \"we\" build")
        o = self.get(name, tok)
        self.assertEqual(sorted(o), ORG_KEYS)
        self.assertRegex(o.pop("created_at"), TIME_RE)
        self.assertEqual(o, {
            "id": oid, "name": name, "display_name": "Zo\u00eb's <Org>",
            "description": "What \"we\" build", "created_by": uid,
            "managed": False, "role": "admin"})
        # The creator is its only member, an admin.
        r = api("GET", "/orgs/%s/users" % name, token=tok)
        self.assertEqual(harness.expect(self, r, 200, False),
                         [{"name": user("alice")[0], "role": "admin"}])
        # description defaults to "".
        name2, _ = make_org(self, tok)
        self.assertEqual(self.get(name2, tok)["description"], "")

    def test_list_shows_the_users_organizations_by_name(self):
        _, tok, _ = user("lister")
        _, other, _ = user("alice")
        r = api("GET", "/orgs", token=tok)
        self.assertEqual(harness.expect(self, r, 200, False), [])
        made = [make_org(self, tok, name=n) for n in
                (harness.unique("zz"), harness.unique("aa"),
                 harness.unique("mm"))]
        theirs, _ = make_org(self, other)
        # Member of someone else's organization: listed, with no role field.
        joined, joined_id = make_org(self, other)
        add_member(self, joined, other, user("lister")[0], "view")
        want = sorted([{"id": i, "name": n} for n, i in made] +
                      [{"id": joined_id, "name": joined}],
                      key=lambda o: o["name"])
        r = api("GET", "/orgs", token=tok)
        self.assertEqual(harness.expect(self, r, 200, False), want)
        self.assertNotIn(theirs, [o["name"] for o in r.message])

    def test_create_accepts_the_limits(self):
        _, tok, _ = user("alice")
        for name, display, desc in (
                (harness.unique("o-_"), "\u00e9" * 128, "d" * 4096),
                ("x" * 58 + os.urandom(3).hex(), "X", "\u4e2d" * 4096),
                (harness.unique(""), "\U0001F600", "")):
            n, _ = make_org(self, tok, name=name, display_name=display,
                            description=desc)
            o = self.get(n, tok)
            self.assertEqual((o["name"], o["display_name"],
                              o["description"]), (name, display, desc))

    def test_create_invalid_is_400(self):
        _, tok, _ = user("alice")
        text = re.compile(r"^field 'display_name': expected ")
        desc = ("field 'description': expected text of at most 4096 "
                "characters without control characters")
        disp = ("field 'display_name': expected text of at most 128 "
                "characters without control characters")
        ok = {"name": harness.unique("org"), "display_name": "D"}
        cases = [
            ({"display_name": "D"}, "field 'name' is required"),
            ({"name": harness.unique("o")}, "field 'display_name' is "
             "required"),
            (dict(ok, name="Upper"), SLUG_MSG),
            (dict(ok, name="has space"), SLUG_MSG),
            (dict(ok, name="dot.name"), SLUG_MSG),
            (dict(ok, name="\u00fcml"), SLUG_MSG),
            (dict(ok, name="x" * 65), "field 'name': expected a string of "
             "1 to 64 characters"),
            (dict(ok, name=""), "field 'name': expected a string of 1 to "
             "64 characters"),
            (dict(ok, name=5), "field 'name': expected a string of 1 to 64 "
             "characters"),
            (dict(ok, display_name=""), "field 'display_name': must not "
             "be empty"),
            (dict(ok, display_name="x" * 129), disp),
            (dict(ok, display_name="\u00e9" * 129), disp),
            (dict(ok, display_name="tab\there"), disp),
            (dict(ok, display_name="del\x7f"), disp),
            (dict(ok, display_name=["x"]), text),
            (dict(ok, description="d" * 4097), desc),
            (dict(ok, description="two\nlines"), desc),
            (dict(ok, description=7), re.compile(
                r"^field 'description': expected a string")),
        ]
        for body, msg in cases:
            with self.subTest(body=str(body)[:80]):
                harness.expect(self, api("PUT", "/orgs", body, tok), 400,
                               True, msg)
        for raw, msg in ((b"", "request body is required: expected a JSON "
                          "object"),
                         (b"[]", "request body must be a JSON object"),
                         (b"{", re.compile(r"^request body is not valid "
                                           r"JSON"))):
            r = self.s.api("PUT", "/orgs", raw, tok,
                           headers={"Content-Type": "application/json"})
            harness.expect(self, r, 400, True, msg)
        # Nothing was made.
        names = [o["name"] for o in api("GET", "/orgs", token=tok).message]
        self.assertNotIn(ok["name"], names)

    def test_length_messages_name_the_real_limit(self):
        # 129 and 600 characters are both too long for a display name;
        # the answer should name the limit (128 characters) either way,
        # and never a byte count.
        _, tok, _ = user("alice")
        for field, n, limit in (("display_name", 129, 128),
                                ("display_name", 600, 128),
                                ("description", 4097, 4096),
                                ("description", 20000, 4096)):
            with self.subTest(field=field, n=n):
                body = {"name": harness.unique("org"), "display_name": "D",
                        field: "x" * n}
                msg = harness.expect(self, api("PUT", "/orgs", body, tok),
                                     400, True)
                self.assertIn("at most %d characters" % limit, msg)

    def test_duplicate_name_is_409(self):
        _, tok, _ = user("alice")
        _, other, _ = user("bob")
        name, oid = make_org(self, tok)
        for t in (tok, other):
            r = api("PUT", "/orgs", {"name": name, "display_name": "Again"},
                    t)
            harness.expect(self, r, 409, True,
                           "Organization name already exists")
        self.assertEqual(self.get(name, tok)["id"], oid)
        self.assertEqual(self.get(name, tok)["display_name"], "An Org")

    def test_patch_each_field(self):
        _, tok, _ = user("alice")
        name, oid = make_org(self, tok)
        for body in ({"display_name": "New \u540d"},
                     {"description": "Now described"}):
            r = api("PATCH", "/orgs/" + name, body, tok)
            harness.expect(self, r, 200, False, "Organization updated")
        o = self.get(name, tok)
        self.assertEqual((o["display_name"], o["description"]),
                         ("New \u540d", "Now described"))
        # Rename: the old name is gone, the id stays.
        new = harness.unique("renamed")
        r = api("PATCH", "/orgs/" + name, {"name": new, "description": ""},
                tok)
        harness.expect(self, r, 200, False, "Organization updated")
        harness.expect(self, api("GET", "/orgs/" + name, token=tok), 404,
                       True, "Organization not found")
        o = self.get(new, tok)
        self.assertEqual((o["id"], o["name"], o["description"],
                          o["display_name"]), (oid, new, "", "New \u540d"))

    def test_patch_invalid_or_taken_changes_nothing(self):
        _, tok, _ = user("alice")
        name, _ = make_org(self, tok)
        taken, _ = make_org(self, tok)
        before = self.get(name, tok)
        for body, status, msg in (
                ({"name": "Bad Name"}, 400, SLUG_MSG),
                ({"name": ""}, 400, re.compile(r"^field 'name': expected")),
                ({"display_name": ""}, 400, "field 'display_name': must not "
                 "be empty"),
                ({"display_name": "x" * 129}, 400, re.compile(
                    r"^field 'display_name': expected text of at most 128")),
                ({"description": "a\x01b"}, 400, re.compile(
                    r"^field 'description': expected text")),
                # One bad field spoils the whole request.
                ({"display_name": "Fine", "name": "NOPE"}, 400, SLUG_MSG),
                ({"name": taken}, 409, "Organization name already exists")):
            with self.subTest(body=body):
                r = api("PATCH", "/orgs/" + name, body, tok)
                harness.expect(self, r, status, True, msg)
        self.assertEqual(self.get(name, tok), before)

    def test_delete_removes_it_and_what_hangs_on_it(self):
        _, tok, _ = user("alice")
        name, oid = make_org(self, tok)
        r = api("PUT", "/projects/" + name, {
            "name": "p", "display_name": "P", "evaluation_wildcard": "checks",
            "repository": "https://example.org/r.git"}, tok)
        harness.expect(self, r, 200, False)
        r = api("DELETE", "/orgs/" + name, token=tok)
        harness.expect(self, r, 200, False, "Organization deleted")
        for path in ("/orgs/" + name, "/orgs/%s/users" % name,
                     "/projects/" + name):
            harness.expect(self, api("GET", path, token=tok), 404, True,
                           "Organization not found")
        harness.expect(self, api("DELETE", "/orgs/" + name, token=tok), 404,
                       True, "Organization not found")
        self.assertNotIn(name, [o["name"] for o in
                                api("GET", "/orgs", token=tok).message])
        self.assertEqual(self.s.sql(
            "SELECT (SELECT count(*) FROM project WHERE organization_id ="
            " :'p1'), (SELECT count(*) FROM organization_user WHERE"
            " organization_id = :'p1')", oid), [["0", "0"]])
        # The name is free again.
        make_org(self, tok, name=name)

    def test_unknown_or_malformed_name_is_404(self):
        _, tok, _ = user("alice")
        for org in ("no-such-org-" + os.urandom(4).hex(), "UPPER", "a.b",
                    "%20", "x" * 65):
            for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""),
                                 ("GET", "/users"), ("GET", "/ssh"),
                                 ("POST", "/ssh"), ("GET", "/subscribe")):
                with self.subTest(org=org, method=method, path=path):
                    r = api(method, "/orgs/" + org + path, {}, tok)
                    harness.expect(self, r, 404, True,
                                   "Organization not found")

    def test_wrong_method_is_405(self):
        _, tok, _ = user("alice")
        name, _ = make_org(self, tok)
        for method, path, allow in (
                ("POST", "/orgs", "GET, PUT"),
                ("PUT", "/orgs/" + name, "GET, PATCH, DELETE"),
                ("PUT", "/orgs/%s/ssh" % name, "GET, POST"),
                ("GET", "/orgs/%s/subscribe/x" % name, "POST, DELETE")):
            r = api(method, path, token=tok)
            harness.expect(self, r, 405, True, "Method %s is not allowed "
                           "here; use %s" % (method, allow))
            self.assertEqual(r.header("Allow"), allow)

    def test_unauthenticated_is_401(self):
        for method, path in (
                ("GET", "/orgs"), ("PUT", "/orgs"), ("GET", "/orgs/x"),
                ("PATCH", "/orgs/x"), ("DELETE", "/orgs/x"),
                ("GET", "/orgs/x/users"), ("POST", "/orgs/x/users"),
                ("PATCH", "/orgs/x/users"), ("DELETE", "/orgs/x/users"),
                ("GET", "/orgs/x/ssh"), ("POST", "/orgs/x/ssh"),
                ("GET", "/orgs/x/subscribe"),
                ("POST", "/orgs/x/subscribe/c"),
                ("DELETE", "/orgs/x/subscribe/c")):
            r = api(method, path, {"name": "x"})
            harness.expect(self, r, 401, True, "Unauthorized")
            self.assertEqual(r.header("WWW-Authenticate"), "Bearer")


class Members(unittest.TestCase):
    """GET, POST, PATCH and DELETE /orgs/{org}/users."""

    def setUp(self):
        self.s = harness.STACK
        self.admin, self.tok, _ = user("alice")
        self.org, _ = make_org(self, self.tok)
        self.path = "/orgs/%s/users" % self.org

    def members(self):
        r = api("GET", self.path, token=self.tok)
        return harness.expect(self, r, 200, False)

    def call(self, method, body):
        return api(method, self.path, body, self.tok)

    def test_add_list_patch_remove(self):
        bob, carol = user("bob")[0], user("carol")[0]
        harness.expect(self, self.call("POST", {"username": bob}), 200,
                       False, "User added")
        harness.expect(self, self.call("POST", {"username": carol,
                                                "role": "write"}),
                       200, False, "User added")
        want = sorted([{"name": self.admin, "role": "admin"},
                       {"name": bob, "role": "view"},
                       {"name": carol, "role": "write"}],
                      key=lambda m: m["name"])
        self.assertEqual(self.members(), want)
        # The new members see the organization with their role.
        r = api("GET", "/orgs/" + self.org, token=user("bob")[1])
        self.assertEqual(harness.expect(self, r, 200, False)["role"], "view")
        harness.expect(self, self.call("PATCH", {"username": bob,
                                                 "role": "admin"}),
                       200, False, "Role updated")
        r = api("GET", "/orgs/" + self.org, token=user("bob")[1])
        self.assertEqual(harness.expect(self, r, 200, False)["role"],
                         "admin")
        harness.expect(self, self.call("DELETE", {"username": carol}), 200,
                       False, "User removed")
        want = sorted([{"name": self.admin, "role": "admin"},
                       {"name": bob, "role": "admin"}],
                      key=lambda m: m["name"])
        self.assertEqual(self.members(), want)
        harness.expect(self, api("GET", "/orgs/" + self.org,
                                 token=user("carol")[1]),
                       404, True, "Organization not found")

    def test_add_errors(self):
        bob = user("bob")[0]
        harness.expect(self, self.call("POST", {"username": bob}), 200,
                       False, "User added")
        for body, status, msg in (
                ({"username": bob}, 409, "User is already a member"),
                ({"username": bob, "role": "admin"}, 409,
                 "User is already a member"),
                ({"username": self.admin}, 409, "User is already a member"),
                ({"username": "nobody-" + os.urandom(4).hex()}, 404,
                 "User not found"),
                ({"username": user("carol")[0], "role": "owner"}, 400,
                 "field 'role': expected admin, write or view"),
                ({"username": user("carol")[0], "role": "Admin"}, 400,
                 "field 'role': expected admin, write or view"),
                ({"username": user("carol")[0], "role": "none"}, 400,
                 "field 'role': expected admin, write or view"),
                ({"username": user("carol")[0], "role": 3}, 400,
                 re.compile(r"^field 'role': expected a string")),
                ({"role": "view"}, 400, "field 'username' is required"),
                ({"username": ""}, 400, re.compile(
                    r"^field 'username': expected a string")),
                ({"username": 12}, 400, re.compile(
                    r"^field 'username': expected a string"))):
            with self.subTest(body=body):
                harness.expect(self, self.call("POST", body), status, True,
                               msg)
        self.assertEqual(len(self.members()), 2)

    def test_patch_and_remove_errors(self):
        carol = user("carol")[0]
        for method in ("PATCH", "DELETE"):
            with self.subTest(method=method):
                harness.expect(self, self.call(method, {
                    "username": carol, "role": "view"}), 404, True,
                    "User is not a member")
                harness.expect(self, self.call(method, {
                    "username": "nobody-" + os.urandom(4).hex(),
                    "role": "view"}), 404, True, "User is not a member")
                harness.expect(self, self.call(method, {}), 400, True,
                               "field 'username' is required")
        harness.expect(self, self.call("PATCH", {"username": self.admin}),
                       400, True, "field 'role' is required")
        harness.expect(self, self.call("PATCH", {"username": self.admin,
                                                 "role": "boss"}),
                       400, True, "field 'role': expected admin, write or "
                       "view")

    def test_last_admin_stays(self):
        msg = "An organization keeps at least one admin"
        bob = user("bob")[0]
        for body in ({"username": self.admin, "role": "write"},
                     {"username": self.admin, "role": "view"}):
            harness.expect(self, self.call("PATCH", body), 400, True, msg)
        harness.expect(self, self.call("DELETE", {"username": self.admin}),
                       400, True, msg)
        # Setting the last admin to admin again is no demotion.
        harness.expect(self, self.call("PATCH", {"username": self.admin,
                                                 "role": "admin"}),
                       200, False, "Role updated")
        # With a second admin, the first may step down, then leave.
        harness.expect(self, self.call("POST", {"username": bob,
                                                "role": "admin"}),
                       200, False, "User added")
        harness.expect(self, self.call("PATCH", {"username": self.admin,
                                                 "role": "view"}),
                       200, False, "Role updated")
        # Now bob is the last admin, and the first cannot manage members.
        btok = user("bob")[1]
        harness.expect(self, api("DELETE", self.path, {"username": bob},
                                 btok), 400, True, msg)
        harness.expect(self, api("PATCH", self.path, {
            "username": bob, "role": "write"}, btok), 400, True, msg)
        harness.expect(self, api("DELETE", self.path, {
            "username": self.admin}, btok), 200, False, "User removed")
        r = api("GET", self.path, token=btok)
        self.assertEqual(harness.expect(self, r, 200, False),
                         [{"name": bob, "role": "admin"}])

    def test_concurrent_demotions_keep_an_admin(self):
        bob, btok, _ = user("bob")
        msg = "An organization keeps at least one admin"
        for _ in range(5):
            org, oid = make_org(self, self.tok)
            path = "/orgs/%s/users" % org
            add_member(self, org, self.tok, bob, "admin")
            out = {}

            def demote(tok, who):
                out[who] = api("PATCH", path, {"username": who,
                                               "role": "view"}, tok)

            ts = [threading.Thread(target=demote, args=(self.tok, bob)),
                  threading.Thread(target=demote, args=(btok, self.admin))]
            for t in ts:
                t.start()
            for t in ts:
                t.join(30)
            statuses = sorted(r.status for r in out.values())
            self.assertIn(statuses, ([200, 400], [200, 403]), out)
            self.assertEqual(self.s.sql(
                "SELECT count(*) FROM organization_user WHERE"
                " organization_id = :'p1' AND role = 'admin'", oid), [["1"]])
            for r in out.values():
                if r.status == 400:
                    harness.expect(self, r, 400, True, msg)

    def test_deleting_the_last_admins_account_leaves_no_headless_org(self):
        # The last admin cannot be demoted or removed; deleting their
        # account must not get around that: the organization must not be
        # left without an admin (or the deletion is refused).
        _, _, tok = harness.register(self.s)
        org, oid = make_org(self, tok)
        add_member(self, org, tok, user("bob")[0], "write")
        r = self.s.api("DELETE", "/user", token=tok)
        harness.expect(self, r, 409, True, "You are the last admin of "
                       "organization '%s': make another member admin or "
                       "delete the organization first" % org)
        admins = self.s.sql("SELECT count(*) FROM organization_user WHERE"
                            " organization_id = :'p1' AND role = 'admin'",
                            oid)
        exists = self.s.sql("SELECT count(*) FROM organization WHERE"
                            " id = :'p1'", oid)
        self.assertTrue(exists == [["0"]] or admins != [["0"]],
                        "DELETE /user answered %r and left organization "
                        "'%s' with no admin" % (r, org))


class SshKey(unittest.TestCase):
    """GET and POST /orgs/{org}/ssh."""

    KEY_RE = (r"^ssh-ed25519 (AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]+=*) "
              r"gradient@%s$")

    def setUp(self):
        self.s = harness.STACK
        _, self.tok, _ = user("alice")

    def key(self, org):
        r = api("GET", "/orgs/%s/ssh" % org, token=self.tok)
        msg = harness.expect(self, r, 200, False)
        self.assertRegex(msg, self.KEY_RE % re.escape(org))
        return msg

    def test_get_is_an_ed25519_public_key(self):
        org, _ = make_org(self, self.tok)
        line = self.key(org)
        blob = base64.b64decode(line.split()[1])
        self.assertEqual(len(blob), 4 + 11 + 4 + 32)
        self.assertEqual(blob[:19], b"\0\0\0\x0bssh-ed25519\0\0\0\x20")
        self.assertEqual(self.key(org), line)       # stable
        # The column holds the same line.
        self.assertEqual(self.s.sql("SELECT ssh_public_key FROM organization"
                                    " WHERE name = :'p1'", org), [[line]])
        # Each organization has its own.
        other, _ = make_org(self, self.tok)
        self.assertNotEqual(self.key(other).split()[1], line.split()[1])

    def test_comment_follows_a_rename(self):
        org, _ = make_org(self, self.tok)
        new = harness.unique("renamed")
        harness.expect(self, api("PATCH", "/orgs/" + org, {"name": new},
                                 self.tok), 200, False)
        r = api("GET", "/orgs/%s/ssh" % new, token=self.tok)
        self.assertRegex(harness.expect(self, r, 200, False),
                         self.KEY_RE % re.escape(new))

    def test_regenerate_makes_a_new_key(self):
        org, _ = make_org(self, self.tok)
        old = self.key(org)
        sealed = self.s.sql("SELECT ssh_private_key FROM organization WHERE"
                            " name = :'p1'", org)
        r = api("POST", "/orgs/%s/ssh" % org, token=self.tok)
        new = harness.expect(self, r, 200, False)
        self.assertRegex(new, self.KEY_RE % re.escape(org))
        self.assertNotEqual(new.split()[1], old.split()[1])
        self.assertEqual(self.key(org), new)
        self.assertNotEqual(self.s.sql(
            "SELECT ssh_private_key FROM organization WHERE name = :'p1'",
            org), sealed)


class Subscriptions(unittest.TestCase):
    """GET /orgs/{org}/subscribe, POST and DELETE .../subscribe/{cache}."""

    def setUp(self):
        self.s = harness.STACK
        _, self.tok, _ = user("alice")
        self.org, _ = make_org(self, self.tok)

    def subs(self):
        r = api("GET", "/orgs/%s/subscribe" % self.org, token=self.tok)
        return harness.expect(self, r, 200, False)

    def sub(self, method, cache):
        return api(method, "/orgs/%s/subscribe/%s" % (self.org, cache),
                   token=self.tok)

    def test_subscribe_list_unsubscribe(self):
        self.assertEqual(self.subs(), [])
        made = [make_cache(self, self.tok) for _ in range(2)]
        for name, _ in made:
            harness.expect(self, self.sub("POST", name), 200, False,
                           "Subscribed")
        self.assertEqual(self.subs(), sorted(
            [{"id": i, "name": n} for n, i in made], key=lambda c: c["name"]))
        harness.expect(self, self.sub("POST", made[0][0]), 409, True,
                       "Already subscribed")
        harness.expect(self, self.sub("DELETE", made[0][0]), 200, False,
                       "Unsubscribed")
        self.assertEqual(self.subs(), [{"id": made[1][1],
                                        "name": made[1][0]}])
        harness.expect(self, self.sub("DELETE", made[0][0]), 404, True,
                       "Not subscribed")
        # A deleted cache leaves the list.
        harness.expect(self, api("DELETE", "/caches/" + made[1][0],
                                 token=self.tok), 200, False)
        self.assertEqual(self.subs(), [])

    def test_unknown_or_invisible_cache_is_404(self):
        theirs, _ = make_cache(self, user("bob")[1])
        for cache in ("no-such-cache-" + os.urandom(3).hex(), theirs,
                      "UPPER", "a.b"):
            for method in ("POST", "DELETE"):
                with self.subTest(cache=cache, method=method):
                    harness.expect(self, self.sub(method, cache), 404, True,
                                   "Cache not found")
        self.assertEqual(self.subs(), [])

    def test_members_see_a_subscribed_cache(self):
        bob, btok, _ = user("bob")
        add_member(self, self.org, self.tok, bob, "view")
        cache, cid = make_cache(self, self.tok)
        harness.expect(self, api("GET", "/caches/" + cache, token=btok), 404,
                       True, "Cache not found")
        harness.expect(self, self.sub("POST", cache), 200, False)
        r = api("GET", "/caches/" + cache, token=btok)
        self.assertEqual(harness.expect(self, r, 200, False)["id"], cid)
        # The viewer sees the subscription list, but cannot change it.
        r = api("GET", "/orgs/%s/subscribe" % self.org, token=btok)
        self.assertEqual(harness.expect(self, r, 200, False),
                         [{"id": cid, "name": cache}])
        harness.expect(self, self.sub("DELETE", cache), 200, False)
        harness.expect(self, api("GET", "/caches/" + cache, token=btok), 404,
                       True, "Cache not found")


# -- secrets ---------------------------------------------------------------

def unseal(stack, sealed):
    """Open a "sb1:" column value with the stack's crypt secret, as
    src/crypto.c does: XSalsa20-Poly1305 (libsodium's crypto_secretbox,
    through ctypes) under BLAKE2b("gradient secretbox v1", key=secret)."""
    lib = ctypes.CDLL(ctypes.util.find_library("sodium") or
                      "libsodium.so.23")
    if lib.sodium_init() < 0:
        raise RuntimeError("sodium_init failed")
    with open(os.path.join(stack.dir, "crypt_secret"), "rb") as f:
        secret = f.read()
    if secret.endswith(b"\n"):
        secret = secret[:-1]
    key = hashlib.blake2b(b"gradient secretbox v1", key=secret[:64],
                          digest_size=32).digest()
    assert sealed.startswith("sb1:"), sealed[:8]
    box = base64.b64decode(sealed[4:])
    nonce, ct = box[:24], box[24:]
    out = ctypes.create_string_buffer(len(ct) - 16)
    if lib.crypto_secretbox_open_easy(out, ct, ctypes.c_ulonglong(len(ct)),
                                      nonce, key) != 0:
        raise AssertionError("the sealed value does not open")
    return out.raw


def openssh_seed(pem):
    """The 32-byte ed25519 seed inside an unencrypted OpenSSH key."""
    body = base64.b64decode("".join(pem.strip().splitlines()[1:-1]))
    magic = b"openssh-key-v1\0"
    assert body.startswith(magic)
    pos = len(magic)

    def string():
        nonlocal pos
        n, = struct.unpack(">I", body[pos:pos + 4])
        pos += 4 + n
        return body[pos - n:pos]

    cipher, kdf, _ = string(), string(), string()
    assert (cipher, kdf) == (b"none", b"none")
    pos += 4                                # number of keys
    string()                                # public key
    priv = string()
    pos = 8                                 # two check words
    body = priv
    assert string() == b"ssh-ed25519"
    string()                                # public half
    return string()[:32]


class Secrets(unittest.TestCase):
    """Private keys are sealed at rest, and never answered nor logged."""

    def setUp(self):
        self.s = harness.STACK
        _, self.tok, _ = user("alice")

    def every_answer(self, org, cache):
        """The bodies of every endpoint about org and cache."""
        proj = {"name": "p", "display_name": "P",
                "evaluation_wildcard": "checks",
                "repository": "ssh://git@127.0.0.1:%d/r.git"
                % harness.free_port()}
        srv = {"name": "s", "display_name": "S", "host": "127.0.0.1",
               "port": harness.free_port(), "username": "root",
               "architectures": ["x86_64-linux"]}
        calls = [
            ("GET", "/orgs", None), ("GET", "/orgs/" + org, None),
            ("GET", "/orgs/%s/users" % org, None),
            ("GET", "/orgs/%s/ssh" % org, None),
            ("POST", "/orgs/%s/subscribe/%s" % (org, cache), None),
            ("GET", "/orgs/%s/subscribe" % org, None),
            ("PUT", "/projects/" + org, proj),
            ("GET", "/projects/" + org, None),
            ("GET", "/projects/%s/p" % org, None),
            ("GET", "/projects/%s/p/details" % org, None),
            # Uses the key with ssh(1): connection refused.
            ("POST", "/projects/%s/p/check-repository" % org, None),
            ("PUT", "/servers/" + org, srv),
            ("GET", "/servers/" + org, None),
            ("GET", "/servers/%s/s" % org, None),
            # Opens the key for libssh2: connection refused.
            ("POST", "/servers/%s/s/check-connection" % org, None),
            ("GET", "/caches", None), ("GET", "/caches/" + cache, None),
            ("GET", "/caches/%s/key" % cache, None),
            ("PATCH", "/caches/" + cache, {"priority": 41}),
        ]
        out = []
        for method, path, body in calls:
            r = api(method, path, body, self.tok)
            self.assertIn(r.status, (200, 400, 504), (method, path, r))
            out.append(r.body)
        return out

    def test_org_key_is_sealed_and_never_answered(self):
        org, _ = make_org(self, self.tok)
        cache, _ = make_cache(self, self.tok)
        public = api("GET", "/orgs/%s/ssh" % org, token=self.tok).message
        (sealed,), = self.s.sql("SELECT ssh_private_key FROM organization"
                                " WHERE name = :'p1'", org)
        self.assertTrue(sealed.startswith("sb1:"), sealed[:10])
        self.assertNotIn("OPENSSH", sealed)
        self.assertNotIn("PRIVATE", sealed)
        pem = unseal(self.s, sealed).decode()
        self.assertTrue(pem.startswith("-----BEGIN OPENSSH PRIVATE KEY-----"))
        # The sealed key is the private half of the public key answered.
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "key")
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600),
                      "w") as f:
                f.write(pem)
            derived = subprocess.run(["ssh-keygen", "-y", "-f", path],
                                     check=True, capture_output=True,
                                     text=True).stdout.split()
        self.assertEqual(derived[:2], public.split()[:2])
        seed = openssh_seed(pem)
        lines = [x for x in pem.strip().splitlines()[1:-1] if len(x) >= 16]
        needles = [base64.b64encode(seed), seed.hex().encode(),
                   base64.b64encode(seed).rstrip(b"=")] + \
            [x.encode() for x in lines]
        for body in self.every_answer(org, cache):
            for n in needles:
                self.assertNotIn(n, body)
        self.assertNotIn(seed, open(os.path.join(self.s.dir, "fcgi.log"),
                                    "rb").read())

    def test_regenerated_key_is_sealed_too(self):
        org, _ = make_org(self, self.tok)
        r = api("POST", "/orgs/%s/ssh" % org, token=self.tok)
        public = harness.expect(self, r, 200, False)
        (sealed,), = self.s.sql("SELECT ssh_private_key FROM organization"
                                " WHERE name = :'p1'", org)
        self.assertTrue(sealed.startswith("sb1:"))
        self.assertNotIn("OPENSSH", sealed)
        pem = unseal(self.s, sealed).decode()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "key")
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600),
                      "w") as f:
                f.write(pem)
            derived = subprocess.run(["ssh-keygen", "-y", "-f", path],
                                     check=True, capture_output=True,
                                     text=True).stdout.split()
        self.assertEqual(derived[:2], public.split()[:2])

    def test_cache_secret_is_sealed_and_never_answered(self):
        org, _ = make_org(self, self.tok)
        cache, _ = make_cache(self, self.tok)
        pub = api("GET", "/caches/%s/key" % cache, token=self.tok).message
        (sealed, column), = self.s.sql("SELECT secret_key, public_key FROM"
                                       " cache WHERE name = :'p1'", cache)
        self.assertEqual(column, pub)
        self.assertTrue(sealed.startswith("sb1:"), sealed[:10])
        self.assertNotIn("OPENSSH", sealed)
        secret = unseal(self.s, sealed).decode()
        keyname, b64 = secret.split(":")
        self.assertEqual(keyname, "gradient-" + cache)
        raw = base64.b64decode(b64)
        self.assertEqual(len(raw), 64)
        # Nix's form: seed, then the public key that GET .../key answers.
        self.assertEqual(raw[32:], base64.b64decode(pub.split(":")[1]))
        self.assertNotIn(b64, sealed)
        needles = [b64.encode(), base64.b64encode(raw[:32]),
                   base64.b64encode(raw[:32]).rstrip(b"="),
                   raw[:32].hex().encode()]
        for body in self.every_answer(org, cache):
            for n in needles:
                self.assertNotIn(n, body)
        with open(os.path.join(self.s.dir, "fcgi.log"), "rb") as f:
            log = f.read()
        for n in needles:
            self.assertNotIn(n, log)

    def test_responder_log_has_no_key_material(self):
        with open(os.path.join(self.s.dir, "fcgi.log"), "rb") as f:
            log = f.read()
        self.assertNotIn(b"PRIVATE KEY", log)
        self.assertNotIn(b"sb1:", log)
        self.assertNotIn(b"OPENSSH", log)
