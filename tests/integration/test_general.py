"""Integration tests for GET /health and GET /config."""
import unittest

import harness


class General(unittest.TestCase):
    def setUp(self):
        self.s = harness.STACK

    def test_health_answers_alive_envelope(self):
        r = self.s.api("GET", "/health")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(r.json(), {"error": False, "message": "200 ALIVE"})

    def test_config_reports_feature_flags(self):
        r = self.s.api("GET", "/config")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"error": False, "message": {
            "oidc_enabled": False, "registration_disabled": False,
            "email_verification_enabled": False}})

    def test_health_wrong_method_is_405_with_allow(self):
        r = self.s.api("POST", "/health", {})
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header("Allow"), "GET")
        self.assertTrue(r.json()["error"])

    def test_unknown_path_is_404_envelope(self):
        for path in ("/api/v1/nope", "/api/v1/user/nope", "/nothing", "/api/v1"):
            r = self.s.request("GET", path)
            self.assertEqual(r.status, 404, path)
            self.assertEqual(r.header("Content-Type"), "application/json")
            self.assertEqual(r.json(), {"error": True, "message": "Not Found"})


class Head(unittest.TestCase):
    def test_head_is_get_without_body(self):
        r = harness.STACK.api("HEAD", "/health")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(r.body, b"")
