"""Integration tests for registration, login, logout and bearer auth."""
import unittest

import harness


class Auth(unittest.TestCase):
    def setUp(self):
        self.s = harness.STACK

    def test_register_login_get_user(self):
        name = harness.unique()
        r = self.s.api("POST", "/auth/basic/register", {
            "username": name, "name": "Alice", "email": name + "@example.com",
            "password": "correct-horse-battery"})
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json()["error"])
        self.assertRegex(r.message, r"^User [0-9a-f-]{36} created successfully\.$")
        uid = r.message.split()[1]
        r = self.s.api("POST", "/auth/basic/login",
                       {"loginname": name, "password": "correct-horse-battery"})
        self.assertEqual(r.status, 200, r)
        tok = r.message
        self.assertEqual(tok.count("."), 2)
        r = self.s.api("GET", "/user", token=tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.message, {"id": uid, "username": name, "name": "Alice",
                                     "email": name + "@example.com"})

    def test_logout_revokes_the_token(self):
        _, _, tok = harness.register(self.s)
        self.assertEqual(self.s.api("GET", "/user", token=tok).status, 200)
        r = self.s.api("POST", "/auth/logout", token=tok)
        self.assertEqual(r.json(), {"error": False, "message": "Logout Successfully"})
        r = self.s.api("GET", "/user", token=tok)
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json(), {"error": True, "message": "Unauthorized"})

    def test_api_key_works_like_a_jwt(self):
        _, _, tok = harness.register(self.s)
        r = self.s.api("POST", "/user/keys", {"name": "ci"}, token=tok)
        self.assertEqual(r.status, 200, r)
        key = r.message
        self.assertRegex(key, r"^GRAD[0-9a-f]{64}$")
        a = self.s.api("GET", "/user", token=tok)
        b = self.s.api("GET", "/user", token=key)
        self.assertEqual(b.status, 200, b)
        self.assertEqual(a.message, b.message)
        row = self.s.sql("SELECT key_hash FROM api_key WHERE name = 'ci' "
                         "AND user_id = :'p1'", a.message["id"])
        self.assertEqual(len(row), 1)
        self.assertNotIn(key, row[0][0])


if __name__ == "__main__":
    unittest.main()
