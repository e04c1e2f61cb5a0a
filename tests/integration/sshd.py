"""sshd.py - a private OpenSSH sshd on loopback for the integration tests.

Sshd(dir) writes its own ed25519 host key, sshd_config and
authorized_keys into dir (made if missing; the caller removes it); start()
runs "/usr/sbin/sshd -D -e" on 127.0.0.1 and a free port and polls the
port with a deadline; stop() stops it by its PID.  Logins are for root,
with public keys only.  Also the small git helpers that the repository
checks share: a repository with a commit and a tag, and "git daemon".
"""
import os
import shutil
import signal
import socket
import subprocess
import time

SSHD = "/usr/sbin/sshd"
GIT_ENV = {
    "PATH": "/usr/bin:/bin",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.org",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.org",
    "LC_ALL": "C",
}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_port(port, proc, what, timeout=20.0):
    """Poll until port accepts a connection; fail if proc exits first."""
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if proc.poll() is not None:
            raise RuntimeError("%s exited with status %d"
                               % (what, proc.returncode))
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.05)


def stop_pid(proc, timeout=5):
    """Stop one process we started, by its PID."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


def keygen(path, comment="test"):
    """A new unencrypted ed25519 key at path; returns the .pub base64 field."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                    comment, "-f", path], check=True,
                   stdin=subprocess.DEVNULL)
    return pub_field(path + ".pub")


def pub_field(path):
    """The base64 field of a public key file."""
    with open(path) as f:
        return f.read().split()[1]


class Sshd:
    def __init__(self, dir):
        self.dir = dir
        os.makedirs(dir, mode=0o700, exist_ok=True)
        self.port = free_port()
        self.host_key = os.path.join(dir, "ssh_host_ed25519_key")
        self.authorized_keys = os.path.join(dir, "authorized_keys")
        self.config = os.path.join(dir, "sshd_config")
        self.pidfile = os.path.join(dir, "sshd.pid")
        self.log = os.path.join(dir, "sshd.log")
        self.proc = None
        keygen(self.host_key, "test-host")
        self.set_authorized([])
        with open(self.config, "w") as f:
            f.write("\n".join([
                "ListenAddress 127.0.0.1",
                "HostKey " + self.host_key,
                "AuthorizedKeysFile " + self.authorized_keys,
                "PidFile " + self.pidfile,
                "UsePAM no",
                "StrictModes no",
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "LogLevel VERBOSE",
            ]) + "\n")

    @property
    def hostkey(self):
        """The host key's base64 blob, as in its .pub file."""
        return pub_field(self.host_key + ".pub")

    def start(self):
        # The privilege separation directory; a container may lack it.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", self.config, "-p", str(self.port)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            wait_port(self.port, self.proc, "sshd")
        except RuntimeError as e:
            self.stop()
            raise RuntimeError("%s:\n%s" % (e, self.tail()))
        return self

    def stop(self):
        stop_pid(self.proc)
        self.proc = None

    def new_host_key(self):
        """Replace the host key (takes effect at the next start)."""
        for p in (self.host_key, self.host_key + ".pub"):
            os.unlink(p)
        return keygen(self.host_key, "test-host-2")

    def set_authorized(self, lines):
        with open(self.authorized_keys, "w") as f:
            f.write("".join(line + "\n" for line in lines))

    def tail(self, n=20):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def git(*argv, cwd=None):
    return subprocess.run(("git",) + argv, cwd=cwd, check=True,
                          capture_output=True, timeout=60,
                          env=dict(GIT_ENV, HOME="/nonexistent"))


def make_repo(dir, name="repo.git", owner=None):
    """A bare repository dir/name with branch main and tag v1 (2 refs).

    owner, a (uid, gid) pair, chowns it: git refuses a local repository
    that belongs to someone else ("dubious ownership")."""
    work = os.path.join(dir, name + ".work")
    path = os.path.join(dir, name)
    git("init", "-q", "-b", "main", work)
    git("-C", work, "commit", "-q", "--allow-empty", "-m", "first")
    git("-C", work, "tag", "v1")
    git("clone", "-q", "--bare", work, path)
    shutil.rmtree(work)
    if owner is not None:
        for root, dirs, files in os.walk(path):
            for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                os.lchown(n, owner[0], owner[1])
    return path


class GitDaemon:
    """git daemon --export-all serving base on 127.0.0.1 and a free port."""

    def __init__(self, base):
        self.base = base
        self.port = free_port()
        self.proc = None

    def start(self):
        log = open(os.path.join(self.base, "git-daemon.log"), "ab")
        try:
            self.proc = subprocess.Popen(
                ["git", "daemon", "--export-all", "--base-path=" + self.base,
                 "--listen=127.0.0.1", "--port=%d" % self.port,
                 "--reuseaddr", self.base],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env=dict(GIT_ENV, HOME=self.base))
        finally:
            log.close()
        try:
            wait_port(self.port, self.proc, "git daemon")
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self):
        stop_pid(self.proc)
        self.proc = None
