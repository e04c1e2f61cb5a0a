"""Integration tests for /caches: binary caches and their public keys.

A cache belongs to the user who made it; members of organizations
subscribed to it can read it.  Users are registered once per module and
every test makes its own caches (whose names are global).
"""
import base64
import os
import re
import unittest

import harness

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
LEAKS = (b"PRIVATE KEY", b"OPENSSH", b"sb1:")
CACHE_KEYS = ["active", "created_at", "created_by", "description",
              "display_name", "id", "managed", "name", "priority"]
SLUG_MSG = "field 'name': use 1 to 64 lowercase letters, digits, '-' or '_'"
PRIO_MSG = "field 'priority': expected an integer from 0 to 1000"
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


def cache_body(**kw):
    body = {"name": harness.unique("cache"), "display_name": "A Cache"}
    body.update(kw)
    return {k: v for k, v in body.items() if v is not None}


def make_cache(tc, tok, **kw):
    body = cache_body(**kw)
    r = api("PUT", "/caches", body, tok)
    return body["name"], harness.expect(tc, r, 200, False, UUID_RE)


class Caches(unittest.TestCase):
    """PUT and GET /caches, GET, PATCH and DELETE /caches/{cache}."""

    def setUp(self):
        self.s = harness.STACK
        _, self.tok, self.uid = user("alice")

    def get(self, name, tok=None):
        r = api("GET", "/caches/" + name, token=tok or self.tok)
        return harness.expect(self, r, 200, False)

    def test_create_then_get_shape(self):
        name, cid = make_cache(self, self.tok)
        c = self.get(name)
        self.assertEqual(sorted(c), CACHE_KEYS)
        self.assertRegex(c.pop("created_at"), TIME_RE)
        self.assertEqual(c, {
            "id": cid, "name": name, "display_name": "A Cache",
            "description": "", "priority": 40, "active": True,
            "managed": False, "created_by": self.uid})
        for prio in (0, 1000, 7):
            name, _ = make_cache(self, self.tok, priority=prio,
                                 description="Packages \u00e0 \"la\" carte",
                                 display_name="\u00e9" * 128)
            c = self.get(name)
            self.assertEqual((c["priority"], c["description"],
                              c["display_name"]),
                             (prio, "Packages \u00e0 \"la\" carte",
                              "\u00e9" * 128))

    def test_key_is_nix_public_key(self):
        name, _ = make_cache(self, self.tok)
        r = api("GET", "/caches/%s/key" % name, token=self.tok)
        key = harness.expect(self, r, 200, False, re.compile(
            r"^gradient-%s:[A-Za-z0-9+/]{43}=$" % re.escape(name)))
        self.assertEqual(len(base64.b64decode(key.split(":")[1],
                                              validate=True)), 32)
        # Stable, and each cache has its own.
        self.assertEqual(api("GET", "/caches/%s/key" % name,
                             token=self.tok).message, key)
        other, _ = make_cache(self, self.tok)
        okey = api("GET", "/caches/%s/key" % other, token=self.tok).message
        self.assertNotEqual(okey.split(":")[1], key.split(":")[1])

    def test_list_shows_own_and_subscribed_caches(self):
        _, tok, _ = user("lister")
        r = api("GET", "/caches", token=tok)
        self.assertEqual(harness.expect(self, r, 200, False), [])
        own = [make_cache(self, tok, name=n) for n in
               (harness.unique("zz"), harness.unique("aa"))]
        # One through an organization this user belongs to.
        org = harness.unique("org")
        harness.expect(self, api("PUT", "/orgs", {
            "name": org, "display_name": "O"}, self.tok), 200, False)
        harness.expect(self, api("POST", "/orgs/%s/users" % org, {
            "username": user("lister")[0]}, self.tok), 200, False)
        via = make_cache(self, self.tok)
        harness.expect(self, api("POST", "/orgs/%s/subscribe/%s"
                                 % (org, via[0]), token=self.tok), 200, False)
        hidden, _ = make_cache(self, self.tok)
        want = sorted([{"id": i, "name": n} for n, i in own + [via]],
                      key=lambda c: c["name"])
        r = api("GET", "/caches", token=tok)
        self.assertEqual(harness.expect(self, r, 200, False), want)
        self.assertNotIn(hidden, [c["name"] for c in r.message])
        # A cache subscribed by two of the user's organizations is
        # listed once.
        org2 = harness.unique("org")
        api("PUT", "/orgs", {"name": org2, "display_name": "O"}, self.tok)
        api("POST", "/orgs/%s/users" % org2, {"username": user("lister")[0]},
            self.tok)
        harness.expect(self, api("POST", "/orgs/%s/subscribe/%s"
                                 % (org2, via[0]), token=self.tok), 200, False)
        self.assertEqual(api("GET", "/caches", token=tok).message, want)

    def test_create_invalid_is_400(self):
        cases = [
            (cache_body(name=None), "field 'name' is required"),
            (cache_body(display_name=None), "field 'display_name' is "
             "required"),
            (cache_body(name="Caps"), SLUG_MSG),
            (cache_body(name="a:b"), SLUG_MSG),
            (cache_body(name="x" * 65), "field 'name': expected a string of "
             "1 to 64 characters"),
            (cache_body(display_name=""),
             "field 'display_name': must not be empty"),
            (cache_body(display_name="x" * 129), re.compile(
                r"^field 'display_name': expected text of at most 128 ")),
            (cache_body(description="d" * 4097), re.compile(
                r"^field 'description': expected text of at most 4096 ")),
            (cache_body(description="a\rb"), re.compile(
                r"^field 'description': expected text")),
            (cache_body(priority=-1), PRIO_MSG),
            (cache_body(priority=1001), PRIO_MSG),
            (cache_body(priority="40"), PRIO_MSG),
            (cache_body(priority=40.5), PRIO_MSG),
            (cache_body(priority=False), PRIO_MSG),
            (cache_body(priority=[40]), PRIO_MSG),
        ]
        for body, msg in cases:
            with self.subTest(body=str(body)[:100]):
                r = api("PUT", "/caches", body, self.tok)
                harness.expect(self, r, 400, True, msg)
                if "name" in body and len(body["name"]) <= 64:
                    harness.expect(self, api("GET", "/caches/" + body["name"],
                                             token=self.tok), 404, True,
                                   "Cache not found")

    def test_duplicate_name_is_409_for_anyone(self):
        name, cid = make_cache(self, self.tok)
        for tok in (self.tok, user("bob")[1]):
            r = api("PUT", "/caches", cache_body(name=name), tok)
            harness.expect(self, r, 409, True, "Cache name already exists")
        self.assertEqual(self.get(name)["id"], cid)

    def test_patch_each_field(self):
        name, cid = make_cache(self, self.tok)
        path = "/caches/" + name
        key = api("GET", path + "/key", token=self.tok).message
        changes = {"display_name": "Renamed \u2713", "description": "Desc",
                   "priority": 0}
        for k, v in changes.items():
            with self.subTest(field=k):
                harness.expect(self, api("PATCH", path, {k: v}, self.tok),
                               200, False, "Cache updated")
                self.assertEqual(self.get(name)[k], v)
        harness.expect(self, api("PATCH", path, {"priority": 1000},
                                 self.tok), 200, False)
        self.assertEqual(self.get(name)["priority"], 1000)
        new = harness.unique("renamed")
        harness.expect(self, api("PATCH", path, {"name": new}, self.tok),
                       200, False, "Cache updated")
        harness.expect(self, api("GET", path, token=self.tok), 404, True,
                       "Cache not found")
        c = self.get(new)
        self.assertEqual((c["id"], c["display_name"], c["priority"]),
                         (cid, "Renamed \u2713", 1000))
        # The signing key is kept through a rename.
        r = api("GET", "/caches/%s/key" % new, token=self.tok)
        self.assertEqual(harness.expect(self, r, 200, False).split(":")[1],
                         key.split(":")[1])

    def test_patch_invalid_or_taken_changes_nothing(self):
        name, _ = make_cache(self, self.tok)
        taken, _ = make_cache(self, self.tok)
        before = self.get(name)
        for body, status, msg in (
                ({"name": "Bad"}, 400, SLUG_MSG),
                ({"display_name": ""}, 400, "field 'display_name': must not "
                 "be empty"),
                ({"priority": -1}, 400, PRIO_MSG),
                ({"priority": 1001}, 400, PRIO_MSG),
                ({"description": "x\x00"}, 400, re.compile(
                    r"^field 'description': expected")),
                ({"display_name": "ok", "priority": "1"}, 400, PRIO_MSG),
                ({"name": taken}, 409, "Cache name already exists")):
            with self.subTest(body=body):
                harness.expect(self, api("PATCH", "/caches/" + name, body,
                                         self.tok), status, True, msg)
        self.assertEqual(self.get(name), before)

    def test_active_off_and_on(self):
        name, _ = make_cache(self, self.tok)
        path = "/caches/%s/active" % name
        for method, msg, active in (("DELETE", "Cache disabled", False),
                                    ("DELETE", "Cache disabled", False),
                                    ("POST", "Cache enabled", True),
                                    ("POST", "Cache enabled", True)):
            harness.expect(self, api(method, path, token=self.tok), 200,
                           False, msg)
            self.assertIs(self.get(name)["active"], active)

    def test_delete(self):
        name, cid = make_cache(self, self.tok)
        org = harness.unique("org")
        api("PUT", "/orgs", {"name": org, "display_name": "O"}, self.tok)
        harness.expect(self, api("POST", "/orgs/%s/subscribe/%s"
                                 % (org, name), token=self.tok), 200, False)
        harness.expect(self, api("DELETE", "/caches/" + name,
                                 token=self.tok), 200, False, "Cache deleted")
        for method, sub in (("GET", ""), ("PATCH", ""), ("DELETE", ""),
                            ("GET", "/key"), ("POST", "/active"),
                            ("DELETE", "/active")):
            with self.subTest(method=method, sub=sub):
                r = api(method, "/caches/" + name + sub, {}, self.tok)
                harness.expect(self, r, 404, True, "Cache not found")
        self.assertEqual(self.s.sql(
            "SELECT (SELECT count(*) FROM cache WHERE id = :'p1'),"
            " (SELECT count(*) FROM organization_cache WHERE cache_id ="
            " :'p1')", cid), [["0", "0"]])
        r = api("GET", "/orgs/%s/subscribe" % org, token=self.tok)
        self.assertEqual(harness.expect(self, r, 200, False), [])
        make_cache(self, self.tok, name=name)

    def test_invisible_or_unknown_is_404(self):
        theirs, _ = make_cache(self, user("bob")[1])
        for name in (theirs, "no-such-" + os.urandom(4).hex(), "UPPER",
                     "a.b", "x" * 65):
            for method, sub in (("GET", ""), ("GET", "/key"),
                                ("PATCH", ""), ("DELETE", ""),
                                ("POST", "/active"), ("DELETE", "/active")):
                with self.subTest(name=name, method=method, sub=sub):
                    r = api(method, "/caches/" + name + sub,
                            {"display_name": "x"}, self.tok)
                    harness.expect(self, r, 404, True, "Cache not found")
        self.assertEqual(self.get(theirs, user("bob")[1])["display_name"],
                         "A Cache")

    def test_member_reads_but_only_the_owner_changes(self):
        name, cid = make_cache(self, self.tok)
        org = harness.unique("org")
        api("PUT", "/orgs", {"name": org, "display_name": "O"}, self.tok)
        bob, btok, _ = user("bob")
        api("POST", "/orgs/%s/users" % org, {"username": bob,
                                               "role": "admin"}, self.tok)
        harness.expect(self, api("POST", "/orgs/%s/subscribe/%s"
                                 % (org, name), token=self.tok), 200, False)
        self.assertEqual(self.get(name, btok)["id"], cid)
        r = api("GET", "/caches/%s/key" % name, token=btok)
        self.assertEqual(harness.expect(self, r, 200, False),
                         api("GET", "/caches/%s/key" % name,
                             token=self.tok).message)
        for method, sub, body in (("PATCH", "", {"priority": 1}),
                                  ("DELETE", "", None),
                                  ("POST", "/active", None),
                                  ("DELETE", "/active", None)):
            with self.subTest(method=method, sub=sub):
                r = api(method, "/caches/" + name + sub, body, btok)
                harness.expect(self, r, 403, True, OWNER_MSG)
        self.assertEqual(self.get(name)["priority"], 40)
        # Unsubscribed, the cache is invisible to bob again.
        harness.expect(self, api("DELETE", "/orgs/%s/subscribe/%s"
                                 % (org, name), token=btok), 200, False)
        harness.expect(self, api("GET", "/caches/" + name, token=btok), 404,
                       True, "Cache not found")

    def test_unauthenticated_is_401(self):
        for method, path in (("GET", "/caches"), ("PUT", "/caches"),
                             ("GET", "/caches/c"), ("PATCH", "/caches/c"),
                             ("DELETE", "/caches/c"),
                             ("POST", "/caches/c/active"),
                             ("DELETE", "/caches/c/active"),
                             ("GET", "/caches/c/key")):
            r = api(method, path, {})
            harness.expect(self, r, 401, True, "Unauthorized")
