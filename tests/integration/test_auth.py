"""Integration tests for registration, login, logout and bearer auth."""
import base64
import hashlib
import hmac
import json
import os
import re
import threading
import time
import unittest
import uuid

import harness

PW = "correct-horse-battery"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_payload(tok):
    return json.loads(unb64url(tok.split(".")[1]))


def jwt_make(payload, secret, header=None):
    """An HS256 JWT over payload, signed with secret (bytes)."""
    h = b64url(json.dumps(header or {"alg": "HS256", "typ": "JWT"},
                          separators=(",", ":")).encode())
    p = b64url(json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(secret, (h + "." + p).encode(), hashlib.sha256).digest()
    return h + "." + p + "." + b64url(sig)


def register_body(**kw):
    name = harness.unique()
    body = {"username": name, "name": "Test User",
            "email": name + "@example.com", "password": PW}
    body.update(kw)
    return body


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


class Register(unittest.TestCase):
    """POST /auth/basic/register refuses bad input with 400 or 409."""

    def setUp(self):
        self.s = harness.STACK

    def register(self, body):
        return self.s.api("POST", "/auth/basic/register", body)

    def test_missing_fields_are_400(self):
        for field in ("username", "name", "email", "password"):
            body = register_body()
            del body[field]
            harness.expect(self, self.register(body), 400, True,
                           "field '%s' is required" % field)

    def test_wrong_types_are_400(self):
        r = self.register(register_body(username=5))
        harness.expect(self, r, 400, True, re.compile(r"^field 'username'"))
        r = self.register(register_body(password=None))
        harness.expect(self, r, 400, True, re.compile(r"^field 'password'"))
        for field, value in (("name", ["x"]), ("email", {"a": 1}),
                             ("password", 12345678), ("username", True)):
            r = self.register(register_body(**{field: value}))
            harness.expect(self, r, 400, True,
                           re.compile(r"^field '%s'" % field))

    def test_invalid_username_is_400(self):
        for bad in ("Alice", "ab", "a" * 33, "", "has space", "dot.ted",
                    "caf\u00e9", "x@y"):
            r = self.register(register_body(username=bad))
            harness.expect(self, r, 400, True, re.compile(
                r"^Invalid username: use 3 to 32 lowercase"))
        # The boundaries themselves are fine.
        for ok in ("a" + os.urandom(1).hex(),
                   harness.unique().ljust(32, "z")):
            r = self.register(register_body(username=ok))
            harness.expect(self, r, 200, False,
                           re.compile(r"^User [0-9a-f-]{36} created"))

    def test_invalid_email_is_400(self):
        for bad in ("nope", "a@b", "@example.com", "a@@example.com",
                    "a@.com", "a@example.", "a b@example.com",
                    "a@example..com", "<a>@example.com", "a@b@example.com",
                    "x" * 65 + "@example.com"):
            r = self.register(register_body(email=bad))
            harness.expect(self, r, 400, True, "Invalid email address")

    def test_invalid_name_is_400(self):
        harness.expect(self, self.register(register_body(name="")), 400,
                       True, "Invalid name: use 1 to 128 characters")
        harness.expect(self, self.register(register_body(name="x" * 129)),
                       400, True, "Invalid name: use 1 to 128 characters")
        harness.expect(self, self.register(register_body(name="a\nb")), 400,
                       True, re.compile(r"^Invalid name: control"))

    def test_weak_passwords_are_400(self):
        r = self.register(register_body(password="abcdefg"))
        harness.expect(self, r, 400, True,
                       "Password must be at least 8 characters long")
        r = self.register(register_body(password="aabbccddaabbccdd"))
        harness.expect(self, r, 400, True,
                       "Password must contain at least 5 different characters")
        r = self.register(register_body(password="x" * 200 + "abcdefgh" * 8))
        harness.expect(self, r, 400, True,
                       "Password must be at most 256 characters long")
        name = harness.unique("pw")
        for pw in (name, name.upper()):
            r = self.register(register_body(username=name, password=pw))
            harness.expect(self, r, 400, True, "Password must not be the "
                           "username or the email address")
        body = register_body()
        body["password"] = body["email"].upper()
        harness.expect(self, self.register(body), 400, True,
                       "Password must not be the username or the email "
                       "address")

    def test_duplicate_username_is_409(self):
        name, _, _ = harness.register(self.s)
        r = self.register(register_body(username=name))
        harness.expect(self, r, 409, True, "Username is already taken")

    def test_duplicate_email_in_other_case_is_409(self):
        name, _, _ = harness.register(self.s)
        email = (name + "@example.com").upper()
        r = self.register(register_body(email=email))
        harness.expect(self, r, 409, True, "Email is already in use")

    def test_malformed_body_is_400(self):
        for body in ("", "{", "[]", "null", '{"username": "a",}'):
            r = self.s.api("POST", "/auth/basic/register", body,
                           headers={"Content-Type": "application/json"})
            harness.expect(self, r, 400, True)


class Login(unittest.TestCase):
    """POST /auth/basic/login: credentials, token lifetime, throttling."""

    def setUp(self):
        self.s = harness.STACK

    def login(self, loginname, password, **kw):
        body = {"loginname": loginname, "password": password}
        body.update(kw)
        return self.s.api("POST", "/auth/basic/login", body)

    def user_id(self, tok):
        return self.s.api("GET", "/user", token=tok).message["id"]

    def test_login_by_email_in_any_case(self):
        name, pw, tok = harness.register(self.s)
        uid = self.user_id(tok)
        for login in (name + "@example.com", (name + "@EXAMPLE.com").upper()):
            tok2 = harness.expect(self, self.login(login, pw), 200, False)
            r = self.s.api("GET", "/user", token=tok2)
            self.assertEqual(harness.expect(self, r, 200, False)["id"], uid)

    def test_wrong_password_and_unknown_user_are_the_same_401(self):
        name, _, _ = harness.register(self.s)
        a = self.login(name, "wrong-password-here")
        b = self.login(harness.unique("ghost"), "wrong-password-here")
        c = self.login(harness.unique("ghost") + "@example.com", PW)
        for r in (a, b, c):
            harness.expect(self, r, 401, True, "Invalid username or password")
        self.assertEqual(a.body, b.body)

    def test_login_validation_is_400(self):
        name, pw, _ = harness.register(self.s)
        for body in ({"password": pw}, {"loginname": name},
                     {"loginname": "", "password": pw},
                     {"loginname": 5, "password": pw},
                     {"loginname": name, "password": None}):
            r = self.s.api("POST", "/auth/basic/login", body)
            harness.expect(self, r, 400, True, re.compile(r"^field '"))

    def test_token_claims_and_remember_me_lifetime(self):
        name, pw, _ = harness.register(self.s)
        plain = harness.expect(self, self.login(name, pw), 200, False)
        short = harness.expect(self, self.login(name, pw, remember_me=False),
                               200, False)
        long_ = harness.expect(self, self.login(name, pw, remember_me=True),
                               200, False)
        uid = self.user_id(plain)
        jtis = set()
        for tok, life in ((plain, 86400), (short, 86400), (long_, 2592000)):
            header = json.loads(unb64url(tok.split(".")[0]))
            self.assertEqual(header["alg"], "HS256")
            p = jwt_payload(tok)
            self.assertEqual(p["exp"] - p["iat"], life, p)
            self.assertLess(abs(p["iat"] - time.time()), 300, p)
            self.assertEqual(p["sub"], uid)
            self.assertRegex(p["jti"], UUID_RE)
            jtis.add(p["jti"])
            self.assertEqual(self.s.api("GET", "/user", token=tok).status, 200)
        self.assertEqual(len(jtis), 3, "every login is its own session")

    def test_remember_me_wrong_type_is_400(self):
        name, pw, _ = harness.register(self.s)
        for v in ("yes", 1, None, [True]):
            r = self.login(name, pw, remember_me=v)
            if v is None:
                # null counts as absent, like every optional field.
                harness.expect(self, r, 200, False)
                continue
            harness.expect(self, r, 400, True,
                           "field 'remember_me': expected true or false")


class CheckUsername(unittest.TestCase):
    """POST /auth/check-username answers 200 and tells with "error"."""

    def setUp(self):
        self.s = harness.STACK

    def check(self, body):
        return self.s.api("POST", "/auth/check-username", body)

    def test_available(self):
        r = self.check({"username": harness.unique("free")})
        harness.expect(self, r, 200, False, "Username is available")

    def test_taken(self):
        name, _, _ = harness.register(self.s)
        r = self.check({"username": name})
        harness.expect(self, r, 200, True, "Username is already taken")

    def test_invalid_is_200_with_error(self):
        for bad in ("Upper", "ab", "x" * 33, "", "sp ace"):
            r = self.check({"username": bad})
            harness.expect(self, r, 200, True,
                           re.compile(r"^Invalid username"))

    def test_malformed_body_is_400(self):
        for body in ("", "{", "[]", '"alice"', "{} x"):
            r = self.s.api("POST", "/auth/check-username", body,
                           headers={"Content-Type": "application/json"})
            harness.expect(self, r, 400, True,
                           re.compile(r"^request body"))
        for body in ({}, {"username": 5}, {"username": None}):
            harness.expect(self, self.check(body), 400, True,
                           re.compile(r"^field 'username'"))


class Bearer(unittest.TestCase):
    """Every bad bearer credential is 401 with WWW-Authenticate: Bearer."""

    def setUp(self):
        self.s = harness.STACK

    def assert_401(self, headers, what):
        r = self.s.api("GET", "/user", headers=headers)
        try:
            harness.expect(self, r, 401, True, "Unauthorized")
            self.assertEqual(r.header("WWW-Authenticate"), "Bearer", r)
        except AssertionError as e:
            raise AssertionError("%s: %s" % (what, e)) from None

    def bearer(self, tok):
        return {"Authorization": "Bearer " + tok}

    def test_missing_or_non_bearer_header(self):
        _, _, tok = harness.register(self.s)
        self.assert_401({}, "no header")
        self.assert_401({"Authorization": ""}, "empty header")
        self.assert_401({"Authorization": "Bearer"}, "no token")
        self.assert_401({"Authorization": "Bearer "}, "empty token")
        self.assert_401({"Authorization": "Basic " + base64.b64encode(
            b"alice:" + PW.encode()).decode()}, "basic")
        self.assert_401({"Authorization": tok}, "token without scheme")
        self.assert_401({"Authorization": "Token " + tok}, "other scheme")

    def test_garbage_tokens(self):
        for junk in ("garbage", "a.b.c", "a.b.c.d", "...", "\u00ff",
                     "x" * 5000, "GRAD", "GRAD" + "0" * 63,
                     "GRAD" + "g" * 64, "eyJ.eyJ.", "%00"):
            self.assert_401(self.bearer(junk), junk[:20])

    def test_tampered_payload(self):
        _, _, tok = harness.register(self.s)
        h, p, sig = tok.split(".")
        claims = jwt_payload(tok)
        claims["exp"] += 3600
        p2 = b64url(json.dumps(claims, separators=(",", ":")).encode())
        self.assert_401(self.bearer(h + "." + p2 + "." + sig), "longer exp")
        _, _, other = harness.register(self.s)
        p3 = other.split(".")[1]
        self.assert_401(self.bearer(h + "." + p3 + "." + sig), "other sub")
        flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
        self.assert_401(self.bearer(h + "." + p + "." + flipped), "bad sig")
        self.assert_401(self.bearer(h + "." + p + "."), "no sig")

    def test_forged_with_another_secret_or_alg_none(self):
        _, _, tok = harness.register(self.s)
        claims = jwt_payload(tok)
        # Control: the same claims signed with the real secret are accepted,
        # so the refusals below are about the key and the algorithm.
        good = jwt_make(claims, self.s.jwt_secret)
        self.assertEqual(self.s.api("GET", "/user", headers=self.bearer(
            good)).status, 200)
        self.assert_401(self.bearer(jwt_make(claims, os.urandom(48).hex()
                                             .encode())), "other secret")
        self.assert_401(self.bearer(jwt_make(claims, b"")), "empty secret")
        none_h = b64url(b'{"alg":"none","typ":"JWT"}')
        body = b64url(json.dumps(claims).encode())
        self.assert_401(self.bearer(none_h + "." + body + "."), "alg none")
        # alg none, but carrying the valid HS256 signature.
        sig = good.split(".")[2]
        self.assert_401(self.bearer(none_h + "." + good.split(".")[1] + "." +
                                    sig), "alg none with signature")
        for alg in ("HS512", "RS256", "hs256"):
            self.assert_401(self.bearer(jwt_make(
                claims, self.s.jwt_secret, {"alg": alg, "typ": "JWT"})), alg)

    def test_expired_token_with_real_secret_and_session(self):
        _, _, tok = harness.register(self.s)
        claims = jwt_payload(tok)
        now = int(time.time())
        claims.update(iat=now - 7200, exp=now - 60)
        self.assert_401(self.bearer(jwt_make(claims, self.s.jwt_secret)),
                        "expired")
        # The original token (same session) still works.
        self.assertEqual(self.s.api("GET", "/user", token=tok).status, 200)

    def test_valid_signature_but_unknown_session_or_user(self):
        _, _, tok = harness.register(self.s)
        claims = jwt_payload(tok)
        for change in ({"jti": str(uuid.uuid4())},
                       {"sub": str(uuid.uuid4())},
                       {"jti": "not-a-uuid"}):
            c = dict(claims, **change)
            self.assert_401(self.bearer(jwt_make(c, self.s.jwt_secret)),
                            repr(change))
        c = dict(claims)
        del c["exp"]
        self.assert_401(self.bearer(jwt_make(c, self.s.jwt_secret)), "no exp")

    def test_unknown_api_key(self):
        self.assert_401(self.bearer("GRAD" + os.urandom(32).hex()),
                        "unknown key")


class Throttle(unittest.TestCase):
    """Failed logins are throttled per account, in the database."""

    def setUp(self):
        self.s = harness.STACK

    def login(self, loginname, password):
        return self.s.api("POST", "/auth/basic/login",
                          {"loginname": loginname, "password": password})

    def failures(self, uid):
        return int(self.s.sql("SELECT count(*) FROM login_failure "
                              "WHERE subject = :'p1'", uid)[0][0])

    def assert_429(self, r):
        harness.expect(self, r, 429, True, re.compile(
            r"^Too many failed logins for this account; try again in "
            r"\d+ seconds$"))
        retry = r.header("Retry-After")
        self.assertIsNotNone(retry, r)
        self.assertRegex(retry, r"^[0-9]+$")
        self.assertTrue(1 <= int(retry) <= 900, retry)
        self.assertIn(" %s seconds" % retry, r.message)

    def test_ten_failures_lock_the_account_not_others(self):
        name, pw, tok = harness.register(self.s)
        other, other_pw, _ = harness.register(self.s)
        uid = self.s.api("GET", "/user", token=tok).message["id"]
        for i in range(10):
            r = self.login(name, "wrong-password-%d" % i)
            harness.expect(self, r, 401, True, "Invalid username or password")
        self.assertEqual(self.failures(uid), 10)
        # The right password no longer helps, by username or by email,
        # whichever responder child answers: the count is in the database.
        results = [None] * 6

        def attempt(i):
            login = name if i % 2 else name + "@example.com"
            results[i] = self.login(login, pw)
        threads = [threading.Thread(target=attempt, args=(i,))
                   for i in range(len(results))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results:
            self.assert_429(r)
        self.assert_429(self.login(name, "wrong-again"))
        self.assertEqual(self.failures(uid), 10, "refusals are not failures")
        # Another account is untouched, and answers quickly.
        t0 = time.monotonic()
        r = self.login(other, other_pw)
        elapsed = time.monotonic() - t0
        harness.expect(self, r, 200, False)
        self.assertLess(elapsed, 2.0)
        # Existing sessions of the locked account keep working.
        self.assertEqual(self.s.api("GET", "/user", token=tok).status, 200)

    def test_lock_ends_when_the_window_passes(self):
        name, pw, tok = harness.register(self.s)
        uid = self.s.api("GET", "/user", token=tok).message["id"]
        for i in range(10):
            self.assertEqual(self.login(name, "nope-nope-%d" % i).status, 401)
        self.assert_429(self.login(name, pw))
        self.s.sql("UPDATE login_failure SET at = at - interval '16 minutes' "
                   "WHERE subject = :'p1'", uid)
        tok2 = harness.expect(self, self.login(name, pw), 200, False)
        self.assertEqual(self.s.api("GET", "/user", token=tok2).status, 200)
        self.assertEqual(self.failures(uid), 0, "success clears failures")


    def test_unknown_names_are_throttled_like_accounts(self):
        ghost = harness.unique("ghost")
        for i in range(10):
            r = self.login(ghost, "wrong-password-%d" % i)
            harness.expect(self, r, 401, True, "Invalid username or password")
        self.assertEqual(self.failures("?" + ghost), 10)
        # The name is compared without regard to case.
        self.assert_429(self.login(ghost.upper(), "anything-at-all"))
        self.assert_429(self.login(ghost, "anything-at-all"))
        # Registering the name afterwards gives a fresh, unthrottled account.
        harness.register(self.s, username=ghost)


if __name__ == "__main__":
    unittest.main()
