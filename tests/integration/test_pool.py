"""Integration tests for the gradient-fcgi responder pool.

The shared stack runs a supervisor with three children.  A child killed
outright is replaced and requests keep succeeding; SIGHUP replaces every
child; many concurrent clients are all answered.  SIGTERM is tried on a
second, private stack, never on the shared one.
"""
import os
import signal
import subprocess
import threading
import time
import unittest

import harness

RELOADS = 8


def alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


class Pool(unittest.TestCase):
    def setUp(self):
        self.s = harness.STACK
        # Earlier tests may have left the pool mid-restart; start from a
        # full, settled pool.
        harness.wait_for(lambda: len(self.live_children()) == 3,
                         "three responder children")

    def live_children(self):
        return [p for p in self.s.fcgi_children() if alive(p)]

    def log_text(self):
        with open(os.path.join(self.s.dir, "fcgi.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def get_user(self, tok, n):
        return [self.s.api("GET", "/user", token=tok) for _ in range(n)]

    def test_a_killed_child_is_replaced(self):
        name, _, tok = harness.register(self.s)
        before = self.live_children()
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        # A child hit by SIGKILL inside accept() can still take one last
        # connection from the queue and reset it; wait until it is gone.
        harness.wait_for(lambda: not alive(victim), "the child to die")
        for r in self.get_user(tok, 20):
            self.assertEqual(harness.expect(self, r, 200, False)["username"],
                             name)
        harness.wait_for(lambda: victim not in self.s.fcgi_children() and
                         len(self.live_children()) == 3,
                         "the killed child to be replaced", timeout=10)
        after = self.live_children()
        self.assertEqual(set(before) - set(after), {victim})
        self.assertEqual(len(set(after) - set(before)), 1)
        # The supervisor noticed and said why.
        harness.wait_for(lambda: "child %d killed by signal %d" % (
            victim, signal.SIGKILL) in self.log_text(),
            "the supervisor to log the death", timeout=5)
        for r in self.get_user(tok, 10):
            harness.expect(self, r, 200, False)

    def test_killing_every_child_is_survived(self):
        _, _, tok = harness.register(self.s)
        before = self.live_children()
        for pid in before:
            os.kill(pid, signal.SIGKILL)
        harness.wait_for(lambda: not any(alive(p) for p in before),
                         "the children to die")
        # Requests wait in the listen queue until the replacements accept.
        for r in self.get_user(tok, 10):
            harness.expect(self, r, 200, False)
        harness.wait_for(lambda: len(self.live_children()) == 3 and
                         not set(self.live_children()) & set(before),
                         "three new children", timeout=15)

    def test_concurrent_clients_are_all_answered(self):
        users = [harness.register(self.s) for _ in range(4)]
        threads, results = [], []
        lock = threading.Lock()

        def client(i):
            name, _, tok = users[i % len(users)]
            got = []
            for _ in range(20):
                try:
                    r = self.s.api("GET", "/user", token=tok)
                    got.append((name, r.status, r.json()))
                except Exception as e:   # noqa: BLE001 - report, not raise
                    got.append((name, None, repr(e)))
            with lock:
                results.extend(got)
        for i in range(32):
            threads.append(threading.Thread(target=client, args=(i,)))
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        elapsed = time.monotonic() - t0
        self.assertEqual(len(results), 32 * 20)
        bad = [x for x in results if x[1] != 200 or
               x[2]["message"]["username"] != x[0]]
        self.assertEqual(bad[:5], [], "%d of %d failed" % (len(bad),
                                                           len(results)))
        self.assertLess(elapsed, 30)

    def test_sighup_replaces_every_child(self):
        # Last by name, and it leaves a full pool behind for later modules.
        _, _, tok = harness.register(self.s)
        before = self.live_children()
        os.kill(self.s.fcgi_pid(), signal.SIGHUP)
        harness.wait_for(lambda: len(self.live_children()) == 3 and
                         not set(self.live_children()) & set(before),
                         "three new children after SIGHUP", timeout=15)
        harness.wait_for(lambda: "reloaded: 3 children" in self.log_text(),
                         "the reload to be logged", timeout=5)
        self.assertTrue(alive(self.s.fcgi_pid()))
        for r in self.get_user(tok, 20):
            harness.expect(self, r, 200, False)
        # A clean reload kills nobody.
        self.assertNotIn("exited with status", self.log_text())

    def test_sighup_during_requests_loses_none(self):
        # A reload is graceful: a child finishes what it accepted, so no
        # client sees an error, however the signal falls.  Several reloads
        # under load, since the race it guards against is narrow.
        _, _, tok = harness.register(self.s)
        statuses = []
        stop = threading.Event()

        def client():
            while not stop.is_set():
                try:
                    statuses.append(self.s.api("GET", "/user",
                                               token=tok).status)
                except OSError as e:
                    statuses.append(repr(e))
        threads = [threading.Thread(target=client) for _ in range(6)]
        for t in threads:
            t.start()
        try:
            for _ in range(RELOADS):
                before = self.live_children()
                n = len(statuses)
                harness.wait_for(lambda: len(statuses) >= n + 20,
                                 "requests before the reload")
                os.kill(self.s.fcgi_pid(), signal.SIGHUP)
                harness.wait_for(lambda: len(self.live_children()) == 3 and
                                 not set(self.live_children()) & set(before),
                                 "three new children after SIGHUP",
                                 timeout=15)
            n = len(statuses)
            harness.wait_for(lambda: len(statuses) >= n + 20,
                             "requests after the reloads")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        failed = [x for x in statuses if x != 200]
        self.assertEqual(failed, [], "%d of %d requests failed across %d "
                         "reloads" % (len(failed), len(statuses), RELOADS))


class Shutdown(unittest.TestCase):
    def test_sigterm_stops_a_private_pool_cleanly(self):
        stack = harness.Stack(children=1)
        try:
            stack.start()
            _, _, tok = harness.register(stack)
            self.assertEqual(stack.api("GET", "/user", token=tok).status, 200)
            proc = stack.procs["fcgi"]
            children = stack.fcgi_children()
            self.assertEqual(len(children), 1)
            self.assertTrue(os.path.exists(stack.socket))
            proc.send_signal(signal.SIGTERM)
            try:
                status = proc.wait(10)
            except subprocess.TimeoutExpired:
                self.fail("gradient-fcgi did not exit within 10 s of SIGTERM")
            self.assertEqual(status, 0)
            for pid in children:
                self.assertFalse(alive(pid), "child %d outlived SIGTERM" % pid)
            self.assertFalse(os.path.exists(stack.socket),
                             "the socket file was left behind")
            with open(os.path.join(stack.dir, "fcgi.log"), "rb") as f:
                log = f.read().decode("utf-8", "replace")
            self.assertIn("stopping", log)
            self.assertNotIn("killed by signal", log)
            # nginx now has no upstream: still an envelope, not HTML.
            r = stack.api("GET", "/health")
            self.assertEqual(r.status, 502, r)
            harness.expect(self, r, 502, True,
                           "Bad Gateway: no responder answered")
        finally:
            stack.stop()


if __name__ == "__main__":
    unittest.main()
