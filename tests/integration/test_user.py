"""Integration tests for /user, /user/settings and /user/keys."""
import hashlib
import re
import unittest

import harness

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")
KEY_RE = re.compile(r"^GRAD[0-9a-f]{64}$")
MANAGED = "Cannot modify state-managed user."


class Profile(unittest.TestCase):
    """GET /user, GET and PATCH /user/settings."""

    def setUp(self):
        self.s = harness.STACK

    def settings(self, tok):
        return harness.expect(self, self.s.api("GET", "/user/settings",
                                               token=tok), 200, False)

    def patch(self, tok, body):
        return self.s.api("PATCH", "/user/settings", body, token=tok)

    def test_get_user_shape(self):
        name, _, tok = harness.register(self.s, name="Zo\u00eb \"Q\" <x>")
        msg = harness.expect(self, self.s.api("GET", "/user", token=tok),
                             200, False)
        self.assertEqual(sorted(msg), ["email", "id", "name", "username"])
        self.assertRegex(msg["id"], UUID_RE)
        self.assertEqual(msg["username"], name)
        self.assertEqual(msg["name"], "Zo\u00eb \"Q\" <x>")
        self.assertEqual(msg["email"], name + "@example.com")

    def test_get_settings_shape(self):
        name, _, tok = harness.register(self.s, name="Settings Person")
        self.assertEqual(self.settings(tok), {
            "username": name, "name": "Settings Person",
            "email": name + "@example.com"})

    def test_patch_each_field_then_get_reflects_it(self):
        _, pw, tok = harness.register(self.s)
        uid = self.s.api("GET", "/user", token=tok).message["id"]
        new = harness.unique("renamed")
        for body in ({"username": new}, {"name": "New \u540d\u524d"},
                     {"email": new + "@Example.org"}):
            harness.expect(self, self.patch(tok, body), 200, False,
                           "Settings updated")
        want = {"username": new, "name": "New \u540d\u524d",
                "email": new + "@Example.org"}
        self.assertEqual(self.settings(tok), want)
        me = harness.expect(self, self.s.api("GET", "/user", token=tok), 200,
                            False)
        self.assertEqual(me, dict(want, id=uid))
        # All three at once.
        newer = harness.unique("again")
        harness.expect(self, self.patch(tok, {
            "username": newer, "name": "N", "email": newer + "@example.net"}),
            200, False, "Settings updated")
        self.assertEqual(self.settings(tok), {
            "username": newer, "name": "N", "email": newer + "@example.net"})
        # The new username logs in; the session survived the renames.
        r = self.s.api("POST", "/auth/basic/login",
                       {"loginname": newer, "password": pw})
        harness.expect(self, r, 200, False)

    def test_patch_invalid_fields_are_400(self):
        name, _, tok = harness.register(self.s)
        before = self.settings(tok)
        cases = [
            ({"username": "Upper"}, re.compile(r"^Invalid username")),
            ({"username": "ab"}, re.compile(r"^Invalid username")),
            ({"username": "x" * 33}, re.compile(r"^Invalid username")),
            ({"username": ""}, re.compile(r"^Invalid username")),
            ({"email": "not-an-email"}, "Invalid email address"),
            ({"email": ""}, "Invalid email address"),
            ({"name": ""}, "Invalid name: use 1 to 128 characters"),
            ({"name": "x" * 129}, "Invalid name: use 1 to 128 characters"),
            ({"name": "tab\there"}, re.compile(r"^Invalid name: control")),
            ({"username": 5}, re.compile(r"^field 'username'")),
            ({"name": ["x"]}, re.compile(r"^field 'name'")),
            ({"email": True}, re.compile(r"^field 'email'")),
            # One bad field spoils the whole request.
            ({"name": "Fine", "email": "bad"}, "Invalid email address"),
        ]
        for body, msg in cases:
            harness.expect(self, self.patch(tok, body), 400, True, msg)
        self.assertEqual(self.settings(tok), before)

    def test_patch_to_a_taken_username_or_email_is_409(self):
        taken, _, _ = harness.register(self.s)
        _, _, tok = harness.register(self.s)
        before = self.settings(tok)
        harness.expect(self, self.patch(tok, {"username": taken}), 409, True,
                       "Username is already taken")
        harness.expect(self, self.patch(tok, {
            "email": (taken + "@example.com").upper()}), 409, True,
            "Email is already in use")
        self.assertEqual(self.settings(tok), before)
        # Setting one's own values again is not a conflict.
        harness.expect(self, self.patch(tok, before), 200, False,
                       "Settings updated")

    def test_patch_with_nothing_to_change_is_400(self):
        _, _, tok = harness.register(self.s)
        for body in ({}, {"unknown": "x"}, {"username": None}):
            harness.expect(self, self.patch(tok, body), 400, True,
                           re.compile(r"^Nothing to change"))

    def test_unauthenticated_is_401(self):
        for method, path in (("GET", "/user"), ("DELETE", "/user"),
                             ("GET", "/user/settings"),
                             ("PATCH", "/user/settings"),
                             ("GET", "/user/keys"), ("POST", "/user/keys"),
                             ("DELETE", "/user/keys")):
            r = self.s.api(method, path, {"name": "x"})
            harness.expect(self, r, 401, True, "Unauthorized")
            self.assertEqual(r.header("WWW-Authenticate"), "Bearer")


class Managed(unittest.TestCase):
    """A state-managed user cannot be changed or deleted through the API."""

    def setUp(self):
        self.s = harness.STACK

    def test_managed_user_cannot_patch_or_delete(self):
        name, _, tok = harness.register(self.s)
        uid = self.s.api("GET", "/user", token=tok).message["id"]
        self.s.sql("UPDATE \"user\" SET managed = true WHERE id = :'p1'", uid)
        before = self.s.api("GET", "/user/settings", token=tok).message
        for body in ({"name": "Changed"}, {"username": harness.unique()},
                     {"email": harness.unique() + "@example.com"}):
            r = self.s.api("PATCH", "/user/settings", body, token=tok)
            harness.expect(self, r, 403, True, MANAGED)
        harness.expect(self, self.s.api("DELETE", "/user", token=tok), 403,
                       True, MANAGED)
        r = self.s.api("GET", "/user/settings", token=tok)
        self.assertEqual(harness.expect(self, r, 200, False), before)
        self.assertEqual(self.s.sql("SELECT username FROM \"user\" "
                                    "WHERE id = :'p1'", uid), [[name]])


class Keys(unittest.TestCase):
    """API keys: create, list, delete, and what is stored."""

    def setUp(self):
        self.s = harness.STACK

    def create(self, tok, name):
        return self.s.api("POST", "/user/keys", {"name": name}, token=tok)

    def delete(self, tok, name):
        return self.s.api("DELETE", "/user/keys", {"name": name}, token=tok)

    def listing(self, tok):
        return harness.expect(self, self.s.api("GET", "/user/keys",
                                               token=tok), 200, False)

    def test_create_list_delete(self):
        _, _, tok = harness.register(self.s)
        self.assertEqual(self.listing(tok), [])
        k1 = harness.expect(self, self.create(tok, "ci"), 200, False, KEY_RE)
        k2 = harness.expect(self, self.create(tok, "laptop \u00e9"), 200,
                            False, KEY_RE)
        self.assertNotEqual(k1, k2)
        r = self.s.api("GET", "/user/keys", token=tok)
        keys = harness.expect(self, r, 200, False)
        self.assertEqual([k["name"] for k in keys], ["ci", "laptop \u00e9"])
        for k in keys:
            self.assertEqual(sorted(k), ["id", "name"])
            self.assertRegex(k["id"], UUID_RE)
        for secret in (k1, k2, k1[4:], k2[4:]):
            self.assertNotIn(secret.encode(), r.body)
        # Both keys authenticate as the user.
        for k in (k1, k2):
            self.assertEqual(self.s.api("GET", "/user", token=k).status, 200)
        harness.expect(self, self.delete(tok, "ci"), 200, False,
                       "API key deleted")
        r = self.s.api("GET", "/user", token=k1)
        harness.expect(self, r, 401, True, "Unauthorized")
        self.assertEqual(r.header("WWW-Authenticate"), "Bearer")
        self.assertEqual(self.s.api("GET", "/user", token=k2).status, 200)
        self.assertEqual([k["name"] for k in self.listing(tok)],
                         ["laptop \u00e9"])
        harness.expect(self, self.delete(tok, "ci"), 404, True,
                       "API key not found")
        # The name is free again, and the new key is a new secret.
        k3 = harness.expect(self, self.create(tok, "ci"), 200, False, KEY_RE)
        self.assertNotEqual(k3, k1)

    def test_duplicate_name_is_409(self):
        _, _, tok = harness.register(self.s)
        harness.expect(self, self.create(tok, "dup"), 200, False, KEY_RE)
        harness.expect(self, self.create(tok, "dup"), 409, True,
                       "API key name already exists")
        self.assertEqual(len(self.listing(tok)), 1)

    def test_delete_unknown_name_is_404(self):
        _, _, tok = harness.register(self.s)
        harness.expect(self, self.delete(tok, "never-made"), 404, True,
                       "API key not found")

    def test_bad_names_are_400(self):
        _, _, tok = harness.register(self.s)
        harness.expect(self, self.create(tok, "n" * 64), 200, False, KEY_RE)
        for body in ({"name": "n" * 65}, {"name": ""}, {}, {"name": None},
                     {"name": 5}, {"name": ["a"]}, {"name": "new\nline"},
                     {"name": "nul\u0000"}):
            for method in ("POST", "DELETE"):
                r = self.s.api(method, "/user/keys", body, token=tok)
                harness.expect(self, r, 400, True,
                               re.compile(r"^field 'name'"))
        self.assertEqual(len(self.listing(tok)), 1)

    def test_only_the_hash_is_stored(self):
        _, _, tok = harness.register(self.s)
        uid = self.s.api("GET", "/user", token=tok).message["id"]
        key = harness.expect(self, self.create(tok, "stored"), 200, False,
                             KEY_RE)
        rows = self.s.sql("SELECT key_hash, row_to_json(k)::text FROM "
                          "api_key k WHERE user_id = :'p1'", uid)
        self.assertEqual(len(rows), 1)
        key_hash, row = rows[0]
        self.assertEqual(key_hash, hashlib.sha256(key.encode()).hexdigest())
        self.assertNotIn(key[4:], row)
        self.assertNotIn(key[4:].upper(), row.upper().replace(
            key_hash.upper(), ""))

    def test_a_user_cannot_see_or_delete_anothers_keys(self):
        _, _, a = harness.register(self.s)
        _, _, b = harness.register(self.s)
        kb = harness.expect(self, self.create(b, "shared-name"), 200, False,
                            KEY_RE)
        self.assertEqual(self.listing(a), [])
        harness.expect(self, self.delete(a, "shared-name"), 404, True,
                       "API key not found")
        # The same name is per user, not global.
        harness.expect(self, self.create(a, "shared-name"), 200, False,
                       KEY_RE)
        self.assertEqual(len(self.listing(b)), 1)
        r = self.s.api("GET", "/user", token=kb)
        self.assertEqual(r.message, self.s.api("GET", "/user",
                                               token=b).message)

    def test_a_key_can_manage_keys(self):
        _, _, tok = harness.register(self.s)
        key = harness.expect(self, self.create(tok, "root"), 200, False,
                             KEY_RE)
        harness.expect(self, self.create(key, "child"), 200, False, KEY_RE)
        self.assertEqual([k["name"] for k in self.listing(key)],
                         ["root", "child"])
        # A key may delete itself; afterwards it is refused.
        harness.expect(self, self.delete(key, "root"), 200, False,
                       "API key deleted")
        harness.expect(self, self.s.api("GET", "/user/keys", token=key), 401,
                       True, "Unauthorized")


class Delete(unittest.TestCase):
    """DELETE /user removes the account and everything that opens it."""

    def setUp(self):
        self.s = harness.STACK

    def test_delete_user_revokes_tokens_and_frees_the_name(self):
        name, pw, tok = harness.register(self.s)
        uid = self.s.api("GET", "/user", token=tok).message["id"]
        key = harness.expect(self, self.s.api("POST", "/user/keys",
                                              {"name": "k"}, token=tok),
                             200, False, KEY_RE)
        harness.expect(self, self.s.api("DELETE", "/user", token=tok), 200,
                       False, "User deleted")
        for cred in (tok, key):
            r = self.s.api("GET", "/user", token=cred)
            harness.expect(self, r, 401, True, "Unauthorized")
            self.assertEqual(r.header("WWW-Authenticate"), "Bearer")
        harness.expect(self, self.s.api("DELETE", "/user", token=tok), 401,
                       True, "Unauthorized")
        r = self.s.api("POST", "/auth/basic/login",
                       {"loginname": name, "password": pw})
        harness.expect(self, r, 401, True, "Invalid username or password")
        for table in ("session", "api_key"):
            self.assertEqual(self.s.sql(
                "SELECT count(*) FROM %s WHERE user_id = :'p1'" % table,
                uid), [["0"]], table)
        r = self.s.api("POST", "/auth/check-username", {"username": name})
        harness.expect(self, r, 200, False, "Username is available")
        name2, _, tok2 = harness.register(self.s, username=name)
        me = self.s.api("GET", "/user", token=tok2).message
        self.assertEqual(me["username"], name)
        self.assertNotEqual(me["id"], uid)
        # The old token does not open the new account of the same name.
        harness.expect(self, self.s.api("GET", "/user", token=tok), 401,
                       True, "Unauthorized")


if __name__ == "__main__":
    unittest.main()
