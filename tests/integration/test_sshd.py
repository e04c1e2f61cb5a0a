"""Integration test: SSH keys and the build server check, against sshd.

src/sshkey.c and src/ssh.c are driven through tests/ssh_probe (the API
endpoint that will call gr_ssh_check() comes later).  Each class starts
its own OpenSSH sshd on 127.0.0.1 and a free port, with a host key made
for it, in a fresh temporary directory; the user is root.  The shared
stack (harness.STACK) is not used.  Readiness is polled with a deadline,
and every sshd is stopped by PID in a class cleanup, which runs even
when setUpClass fails half way.
"""
import base64
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import harness

PROBE = os.path.join(harness.BUILDDIR, "tests", "ssh_probe")
SSHD = "/usr/sbin/sshd"
COMMENT = "gradient@my-org"


def probe(*args, timeout=60):
    """Run ssh_probe; returns (exit status, stdout)."""
    r = subprocess.run([PROBE] + [str(a) for a in args],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    return r.returncode, r.stdout


def fingerprint(b64blob):
    digest = hashlib.sha256(base64.b64decode(b64blob)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def pub_field(path):
    """The base64 field of a public key file."""
    with open(path) as f:
        return f.read().split()[1]


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Sshd:
    """A private sshd in dir; force_command, if given, replaces commands."""

    def __init__(self, dir, force_command=None):
        self.dir = dir
        self.port = harness.free_port()
        self.host_key = os.path.join(dir, "host_key")
        self.authorized_keys = os.path.join(dir, "authorized_keys")
        self.log = os.path.join(dir, "sshd.log")
        self.proc = None
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                        "-C", "test-host", "-f", self.host_key], check=True)
        self.set_authorized([])
        lines = [
            "ListenAddress 127.0.0.1",
            "HostKey " + self.host_key,
            "AuthorizedKeysFile " + self.authorized_keys,
            "PidFile " + os.path.join(dir, "sshd.pid"),
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "LogLevel VERBOSE",
        ]
        if force_command is not None:
            lines.append("ForceCommand " + force_command)
        self.config = os.path.join(dir, "sshd_config")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        # The privilege separation directory; a container may lack it.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", self.config, "-p", str(self.port)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while not port_open(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError("sshd exited with status %d:\n%s"
                                   % (self.proc.returncode, self.tail()))
            if time.monotonic() > deadline:
                raise RuntimeError("sshd did not listen:\n" + self.tail())
            time.sleep(0.05)

    def stop(self):
        if self.proc is not None:
            harness.stop_process(self.proc)

    def set_authorized(self, lines):
        with open(self.authorized_keys, "w") as f:
            f.write("".join(line + "\n" for line in lines))

    @property
    def hostkey(self):
        return pub_field(self.host_key + ".pub")

    def tail(self, n=20):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Base(unittest.TestCase):
    force_command = None
    needs_sshd = True

    @classmethod
    def setUpClass(cls):
        if not os.access(PROBE, os.X_OK):
            raise unittest.SkipTest(PROBE + " is not built (make check)")
        if not os.access(SSHD, os.X_OK):
            raise unittest.SkipTest("openssh-server is not installed")
        cls.dir = tempfile.mkdtemp(prefix="gradient-sshd-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, ignore_errors=True)
        cls.key = os.path.join(cls.dir, "org_key")
        cls.pub = cls.key + ".pub"
        rc, out = probe("keygen", COMMENT, cls.key, cls.pub)
        if rc != 0:
            raise RuntimeError("ssh_probe keygen: " + out)
        with open(cls.pub) as f:
            cls.line = f.read().rstrip("\n")
        if cls.needs_sshd:
            cls.sshd = Sshd(cls.dir, cls.force_command)
            cls.addClassCleanup(cls.sshd.stop)
            cls.sshd.start()

    def check(self, *extra, port=None, key=None, host="127.0.0.1",
              timeout=None):
        args = [] if timeout is None else ["-t", timeout]
        args += [host, port or self.sshd.port, "root", key or self.key]
        return probe(*(args + list(extra)))

    def expect_error(self, out, *fragments):
        self.assertTrue(out.startswith("error "), out)
        for frag in fragments:
            self.assertIn(frag, out, "sshd log:\n" + self.sshd.tail())
        return out


class Keys(Base):
    needs_sshd = False

    def test_ssh_keygen_reads_the_public_line(self):
        r = subprocess.run(["ssh-keygen", "-l", "-f", self.pub],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^256 SHA256:[A-Za-z0-9+/]{43} "
                         + COMMENT + r" \(ED25519\)$")
        self.assertIn(fingerprint(self.line.split()[1]), r.stdout)

    def test_ssh_keygen_derives_the_same_public_line(self):
        st = os.stat(self.key)
        self.assertEqual(st.st_mode & 0o777, 0o600)
        r = subprocess.run(["ssh-keygen", "-y", "-f", self.key],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.rstrip("\n"), self.line)
        self.assertTrue(self.line.startswith(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"), self.line)

    def test_public_from_private_reads_ssh_keygen_keys(self):
        path = os.path.join(self.dir, "keygen_key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                        "-C", "made by ssh-keygen", "-f", path], check=True)
        rc, out = probe("pub", path)
        self.assertEqual(rc, 0, out)
        with open(path + ".pub") as f:
            self.assertEqual(out, f.read())

    def test_public_from_private_refuses_a_passphrase(self):
        path = os.path.join(self.dir, "locked_key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "pw",
                        "-f", path], check=True)
        rc, out = probe("pub", path)
        self.assertEqual(rc, 1, out)
        self.assertIn("encrypted", out)
        self.assertNotIn("BEGIN", out)


class Check(Base):
    def setUp(self):
        self.sshd.set_authorized([self.line])

    def test_authorized_key_gets_the_version_and_host_key(self):
        rc, out = self.check()
        self.assertEqual(rc, 0, out + "\nsshd log:\n" + self.sshd.tail())
        first, hostkey = out.rstrip("\n").split("\n")
        self.assertRegex(first, r"^ok nix-store \(Nix\) \d")
        self.assertEqual(hostkey, self.sshd.hostkey)
        # Pinned: the same key passes.
        rc, out = self.check(hostkey)
        self.assertEqual(rc, 0, out)
        self.assertTrue(out.startswith("ok nix-store (Nix)"), out)

    def test_removed_key_is_not_accepted(self):
        other = os.path.join(self.dir, "other_key")
        rc, out = probe("keygen", "someone@else", other, other + ".pub")
        self.assertEqual(rc, 0, out)
        with open(other + ".pub") as f:
            self.sshd.set_authorized([f.read().rstrip("\n")])
        rc, out = self.check()
        self.assertEqual(rc, 1, out)
        self.expect_error(out, "did not accept the organization's key "
                          "for user 'root'")
        self.sshd.set_authorized([])
        rc, out = self.check(self.sshd.hostkey)
        self.assertEqual(rc, 1, out)
        self.expect_error(out, "did not accept")

    def test_changed_host_key_is_refused(self):
        other = os.path.join(self.dir, "other_host_key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                        "-f", other], check=True)
        pinned = pub_field(other + ".pub")
        rc, out = self.check(pinned)
        self.assertEqual(rc, 1, out)
        self.expect_error(
            out, "host key of 127.0.0.1:%d has changed" % self.sshd.port,
            "(%s was expected, %s was offered)"
            % (fingerprint(pinned), fingerprint(self.sshd.hostkey)),
            "refusing to connect")
        # The fingerprints are the ones ssh-keygen prints.
        r = subprocess.run(["ssh-keygen", "-l", "-f",
                            self.sshd.host_key + ".pub"],
                           capture_output=True, text=True, check=True)
        self.assertIn(r.stdout.split()[1], out)

    def test_closed_port_is_refused(self):
        port = harness.free_port()
        rc, out = self.check(port=port)
        self.assertEqual(rc, 1, out)
        self.assertEqual(out, "error cannot connect to 127.0.0.1:%d: "
                         "Connection refused\n" % port)

    def test_unknown_host_cannot_be_resolved(self):
        rc, out = self.check(host="no-such-host.invalid")
        self.assertEqual(rc, 1, out)
        self.expect_error(out, "cannot resolve host 'no-such-host.invalid'")

    def test_silent_server_times_out_in_the_handshake(self):
        with socket.socket() as lsn:
            lsn.bind(("127.0.0.1", 0))
            lsn.listen(1)
            t0 = time.monotonic()
            rc, out = self.check(port=lsn.getsockname()[1], timeout=1)
            elapsed = time.monotonic() - t0
        self.assertEqual(rc, 1, out)
        self.expect_error(out, "timed out during SSH handshake")
        self.assertLess(elapsed, 8)

    def test_full_accept_queue_times_out_in_connect(self):
        # With the accept queue full, Linux drops new SYNs, so connect
        # itself hangs until the timeout.
        with socket.socket() as lsn:
            lsn.bind(("127.0.0.1", 0))
            lsn.listen(0)
            port = lsn.getsockname()[1]
            fillers = []
            try:
                for _ in range(4):
                    s = socket.socket()
                    s.setblocking(False)
                    fillers.append(s)
                    try:
                        s.connect(("127.0.0.1", port))
                    except BlockingIOError:
                        pass
                t0 = time.monotonic()
                rc, out = self.check(port=port, timeout=1)
                elapsed = time.monotonic() - t0
            finally:
                for s in fillers:
                    s.close()
        self.assertEqual(rc, 1, out)
        self.assertEqual(out, "error connection to 127.0.0.1:%d timed out "
                         "after 1 s\n" % port)
        self.assertLess(elapsed, 8)

    def test_not_an_ssh_server_fails_the_handshake(self):
        lsn = socket.socket()
        lsn.bind(("127.0.0.1", 0))
        lsn.listen(1)

        def answer():
            try:
                c, _ = lsn.accept()
                with c:
                    c.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
            except OSError:
                pass

        port = lsn.getsockname()[1]
        t = threading.Thread(target=answer)
        t.start()
        try:
            rc, out = self.check(port=port, timeout=5)
        finally:
            lsn.close()
            t.join(10)
        self.assertEqual(rc, 1, out)
        self.expect_error(out, "SSH handshake with 127.0.0.1:%d failed"
                          % port)

    def test_unusable_key_is_refused_before_connecting(self):
        bad = os.path.join(self.dir, "bad_key")
        with open(bad, "w") as f:
            f.write("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"
                    "-----END OPENSSH PRIVATE KEY-----\n")
        rc, out = self.check(key=bad)
        self.assertEqual(rc, 1, out)
        self.assertEqual(out, "error the organization's key cannot be used: "
                         "not an openssh-key-v1 private key\n")

    def test_no_key_material_in_messages(self):
        with open(self.key) as f:
            pem = f.read()
        body = "".join(pem.splitlines()[1:-1])
        self.sshd.set_authorized([])
        for extra in ([], [pub_field(self.pub)]):
            rc, out = self.check(*extra)
            self.assertEqual(rc, 1, out)
            self.assertNotIn("PRIVATE KEY", out)
            self.assertNotIn(body[20:60], out)


class MissingNix(Base):
    # The command runs, but with a PATH where nix-store is not found: the
    # shell's own "not found" message and status 127 come back.
    force_command = ('/usr/bin/env PATH=/nonexistent /bin/sh -c '
                     '"$SSH_ORIGINAL_COMMAND"')

    def test_missing_nix_store_is_reported(self):
        self.sshd.set_authorized([self.line])
        rc, out = self.check()
        self.assertEqual(rc, 1, out)
        self.expect_error(out, "nix-store is not available on 127.0.0.1:%d "
                          "(exit status 127): " % self.sshd.port,
                          "nix-store: not found")
        self.assertEqual(out.count("\n"), 1, out)


if __name__ == "__main__":
    unittest.main()
