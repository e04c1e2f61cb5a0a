"""test_git_remote.py - gr_git_ls_remote() against real git and SSH servers.

The driver tests/git_probe (built by "make check") runs gr_git_ls_remote()
once and prints "ok <refs>" and the known_hosts after the run, or
"error <message>".  This module starts its own "git daemon" and its own
sshd (with its own host key and authorized_keys) on loopback ports, in a
fresh temporary directory; it does not use the shared stack.  Servers are
stopped by PID in class clean-ups, which also run when start-up fails, and
readiness is polled with a deadline.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import harness

PROBE = os.path.join(harness.BUILDDIR, "tests", "git_probe")
GIT_ENV = {
    "PATH": "/usr/bin:/bin",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.org",
    "LC_ALL": "C",
}


def run(argv, **kw):
    env = dict(GIT_ENV, HOME=kw.pop("home", "/nonexistent"))
    return subprocess.run(argv, env=env, check=True, capture_output=True,
                          timeout=60, **kw)


def wait_listening(port, proc, what, banner=None, timeout=20.0):
    """Poll until port accepts (and sends banner), or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %d" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), 1) as s:
                if banner is None:
                    return
                s.settimeout(2)
                if s.recv(64).startswith(banner):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def stop(proc):
    """Stop one server we started, by its PID."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


def tail(path, n=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


class GitRemote(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(PROBE, os.X_OK):
            raise RuntimeError(PROBE + " is missing: run make check "
                               "(or make tests/git_probe) first")
        cls.dir = tempfile.mkdtemp(prefix="gradient-gitremote.")
        cls.addClassCleanup(shutil.rmtree, cls.dir, ignore_errors=True)
        cls.tmpdir = os.path.join(cls.dir, "tmp")   # the probe's TMPDIR
        os.mkdir(cls.tmpdir)

        # A bare repository with one branch and one tag.
        work = os.path.join(cls.dir, "work")
        run(["git", "init", "-q", "-b", "main", work], home=cls.dir)
        run(["git", "-C", work, "commit", "-q", "--allow-empty", "-m", "x"],
            home=cls.dir)
        run(["git", "-C", work, "tag", "v1"], home=cls.dir)
        cls.repo = os.path.join(cls.dir, "repo.git")
        run(["git", "clone", "-q", "--bare", work, cls.repo], home=cls.dir)

        cls._start_git_daemon()
        cls._start_sshd()

    @classmethod
    def _start_git_daemon(cls):
        cls.git_port = harness.free_port()
        cls.git_log = os.path.join(cls.dir, "git-daemon.log")
        with open(cls.git_log, "wb") as log:
            cls.git_daemon = subprocess.Popen(
                ["git", "daemon", "--export-all", "--base-path=" + cls.dir,
                 "--listen=127.0.0.1", "--port=%d" % cls.git_port,
                 "--reuseaddr", "--verbose", cls.dir],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env=dict(GIT_ENV, HOME=cls.dir))
        cls.addClassCleanup(stop, cls.git_daemon)
        wait_listening(cls.git_port, cls.git_daemon, "git daemon")

    @classmethod
    def _start_sshd(cls):
        d = cls.dir
        keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""]
        cls.host_key = os.path.join(d, "ssh_host_ed25519_key")
        cls.client_key = os.path.join(d, "client_key")
        cls.other_key = os.path.join(d, "other_key")
        for k in (cls.host_key, cls.client_key, cls.other_key):
            run(keygen + ["-C", "test", "-f", k])
        shutil.copy(cls.client_key + ".pub",
                    os.path.join(d, "authorized_keys"))
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        cls.ssh_port = harness.free_port()
        cfg = os.path.join(d, "sshd_config")
        with open(cfg, "w") as f:
            f.write("ListenAddress 127.0.0.1\n"
                    "HostKey %s\n"
                    "AuthorizedKeysFile %s/authorized_keys\n"
                    "UsePAM no\n"
                    "StrictModes no\n"
                    "PermitRootLogin prohibit-password\n"
                    "PasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\n"
                    "PidFile none\n"
                    "LogLevel VERBOSE\n" % (cls.host_key, d))
        cls.sshd_log = os.path.join(d, "sshd.log")
        with open(cls.sshd_log, "wb") as log:
            cls.sshd = subprocess.Popen(
                ["/usr/sbin/sshd", "-D", "-e", "-f", cfg,
                 "-p", str(cls.ssh_port)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        cls.addClassCleanup(stop, cls.sshd)
        wait_listening(cls.ssh_port, cls.sshd, "sshd", banner=b"SSH-2.0-")
        with open(cls.host_key + ".pub") as f:
            cls.host_pub = f.read().split()[:2]   # type, base64

    # -- helpers ---------------------------------------------------------
    def probe(self, url, key=None, known_hosts=None, timeout=20):
        """Run git_probe; returns (ok, refs_or_message, known_hosts)."""
        argv = [PROBE, url, key or ""]
        if known_hosts is not None:
            kh = os.path.join(self.dir, "kh_in")
            with open(kh, "w") as f:
                f.write(known_hosts)
            argv.append(kh)
        env = {"PATH": "/usr/bin:/bin", "TMPDIR": self.tmpdir,
               "GIT_PROBE_TIMEOUT": str(timeout)}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        p = subprocess.run(argv, env=env, capture_output=True, text=True,
                           timeout=60)
        # Whatever happened, the probe's temporary directory is gone.
        self.assertEqual(os.listdir(self.tmpdir), [])
        first, _, rest = p.stdout.partition("\n")
        self.assertIn(p.returncode, (0, 1), p.stderr)
        if p.returncode == 0:
            self.assertTrue(first.startswith("ok "), p.stdout)
            return True, int(first[3:]), rest
        self.assertTrue(first.startswith("error "), p.stdout)
        return False, p.stdout[6:].rstrip("\n"), None

    def ssh_url(self):
        return "ssh://root@127.0.0.1:%d%s" % (self.ssh_port, self.repo)

    def host_entry(self):
        return "[127.0.0.1]:%d ssh-ed25519" % self.ssh_port

    def logs(self):
        return ("\n--- sshd ---\n" + tail(self.sshd_log) +
                "\n--- git daemon ---\n" + tail(self.git_log))

    # -- git:// ------------------------------------------------------------
    def test_git_daemon_lists_refs(self):
        ok, refs, kh = self.probe(
            "git://127.0.0.1:%d/repo.git" % self.git_port)
        self.assertTrue(ok, str(refs) + self.logs())
        self.assertEqual(refs, 2)          # main and v1
        self.assertEqual(kh, "")

    def test_git_unreachable_port_is_an_error(self):
        port = harness.free_port()        # nothing listens there
        ok, msg, _ = self.probe("git://127.0.0.1:%d/repo.git" % port)
        self.assertFalse(ok)
        self.assertIn("unable to connect", msg)
        self.assertIn("Connection refused", msg)

    def test_silent_server_times_out(self):
        # The kernel completes the handshake for a listening socket that
        # never accepts, so git sends its request and waits for ever.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(8)
            port = s.getsockname()[1]
            t0 = time.monotonic()
            ok, msg, _ = self.probe("git://127.0.0.1:%d/repo.git" % port,
                                    timeout=2)
            elapsed = time.monotonic() - t0
        self.assertFalse(ok)
        self.assertEqual(msg, "timed out after 2 s")
        self.assertLess(elapsed, 6)

    def test_git_daemon_missing_repository(self):
        ok, msg, _ = self.probe(
            "git://127.0.0.1:%d/nope.git" % self.git_port)
        self.assertFalse(ok)
        self.assertIn("not exported", msg)

    # -- ssh:// ------------------------------------------------------------
    def test_ssh_accepts_new_host_key_and_lists_refs(self):
        ok, refs, kh = self.probe(self.ssh_url(), self.client_key)
        self.assertTrue(ok, str(refs) + self.logs())
        self.assertEqual(refs, 2)
        self.assertIn(self.host_entry(), kh)
        self.assertIn(self.host_pub[1], kh)
        self.assertNotIn("|1|", kh)        # not hashed (Debian's default)

        # The second time the stored key is used and left as it was.
        ok, refs, kh2 = self.probe(self.ssh_url(), self.client_key, kh)
        self.assertTrue(ok, str(refs) + self.logs())
        self.assertEqual(kh2, kh)

    def test_ssh_key_not_authorised(self):
        ok, msg, _ = self.probe(self.ssh_url(), self.other_key)
        self.assertFalse(ok)
        self.assertIn("Permission denied", msg)
        self.assertNotIn("gradient-git.", msg)   # no temporary paths

    def test_ssh_without_key_offers_none(self):
        ok, msg, _ = self.probe(self.ssh_url())
        self.assertFalse(ok)
        self.assertIn("Permission denied", msg)

    def test_ssh_bad_key_file_is_not_revealed(self):
        bad = os.path.join(self.dir, "bad_key")
        with open(bad, "w") as f:
            f.write("-----BEGIN OPENSSH PRIVATE KEY-----\nnonsense\n"
                    "-----END OPENSSH PRIVATE KEY-----\n")
        ok, msg, _ = self.probe(self.ssh_url(), bad)
        self.assertFalse(ok)
        self.assertNotIn(self.tmpdir, msg)
        self.assertNotIn("gradient-git.", msg)

    def test_ssh_host_key_mismatch(self):
        with open(self.other_key + ".pub") as f:
            other = f.read().split()[1]
        ok, msg, _ = self.probe(self.ssh_url(), self.client_key,
                                self.host_entry() + " " + other + "\n")
        self.assertFalse(ok)
        self.assertIn("Host key verification failed", msg)
        self.assertNotIn("gradient-git.", msg)
        self.assertLessEqual(len(msg), 400)
