"""Integration test: responders survive a PostgreSQL restart.

Each child keeps one connection open; when PostgreSQL restarts, the
connection breaks, and the next request must reconnect and succeed rather
than answer 5xx for ever.
"""
import unittest

import harness


class Reconnect(unittest.TestCase):
    def setUp(self):
        self.s = harness.STACK

    def test_requests_succeed_after_postgres_restart(self):
        _, _, tok = harness.register(self.s)
        for _ in range(6):
            self.assertEqual(self.s.api("GET", "/user", token=tok).status, 200)
        self.s.restart_postgres()
        # Every child's connection is now dead; each must reconnect on
        # its next request.  Enough requests to reach all children.
        statuses = [self.s.api("GET", "/user", token=tok).status
                    for _ in range(30)]
        self.assertEqual(statuses, [200] * 30)
        # Sessions are in the database: the token still works and login
        # (a transaction) works too.
        r = self.s.api("GET", "/user/keys", token=tok)
        self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    unittest.main()
