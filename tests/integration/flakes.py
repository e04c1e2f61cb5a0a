"""flakes.py - git repositories of fixture flakes, served by "git daemon".

Every flake has no inputs and only derivations with builder = "/bin/sh"
(NIX-NOTES Appendix A), so nothing is fetched and nothing needs a sandbox.
Each generator takes a tag that goes into every derivation's environment:
a random tag makes the .drv paths unique to one test run, so rows written
by other tests (or other runs) never stand in for the ones under test.

GitServer makes the repositories in a fresh mkdtemp directory and serves
them on a free loopback port; stop() stops the daemon by its PID.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import harness

AUTHOR = ("Ada Fixture", "ada@example.org")
GIT_ENV = {
    "PATH": "/usr/bin:/bin",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": AUTHOR[0],
    "GIT_AUTHOR_EMAIL": AUTHOR[1],
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.org",
    "LC_ALL": "C",
}
SYSTEM = "x86_64-linux"


def tag():
    """A random string for a derivation's environment."""
    return os.urandom(8).hex()


def diamond(t):
    """app needs lib-a and lib-b, both need base; one and two stand alone.

    packages: app (two outputs), base (an entry point and a shared
    dependency), one, two, and notdrv (not a derivation: skipped).  The
    check is outside the wildcard packages.x86_64-linux.*."""
    return """{
  description = "gradient worker test: a diamond";
  outputs = { self }: let
    system = "x86_64-linux";
    mk = name: script: extra: derivation ({
      inherit name system;
      builder = "/bin/sh";
      args = [ "-c" script ];
      TAG = "@TAG@";
    } // extra);
    base = mk "wk-base" "echo base > $out" { };
    lib-a = mk "wk-lib-a" "read x < ${base}; echo a $x > $out" { };
    lib-b = mk "wk-lib-b" "read x < ${base}; echo b $x > $out" { };
    app = mk "wk-app" ''
      read a < ${lib-a}; read b < ${lib-b}
      echo "$a $b" > $out; echo docs > $doc
    '' { outputs = [ "out" "doc" ]; src = ./data.txt; };
    one = mk "wk-one" "echo one > $out" { };
    two = mk "wk-two" "echo two > $out" { };
  in {
    packages.${system} = {
      inherit app base one two;
      notdrv = { x = 1; };
    };
    checks.${system}.outside = mk "wk-outside" "echo > $out" { };
  };
}
""".replace("@TAG@", t)


def small(t, name):
    """One package, named name, with one dependency."""
    return """{
  outputs = { self }: let
    dep = derivation { name = "@NAME@-dep"; system = "x86_64-linux";
      builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; TAG = "@TAG@"; };
  in {
    packages.x86_64-linux.@NAME@ = derivation {
      name = "@NAME@"; system = "x86_64-linux"; builder = "/bin/sh";
      args = [ "-c" "read x < ${dep}; echo > $out" ]; TAG = "@TAG@"; };
  };
}
""".replace("@TAG@", t).replace("@NAME@", name)


def broken(t, bad):
    """A good package next to bad, a Nix expression that cannot be caught
    per attribute (abort, a missing attribute) or can (throw)."""
    return """{
  outputs = { self }: {
    packages.x86_64-linux.good = derivation {
      name = "wk-good"; system = "x86_64-linux"; builder = "/bin/sh";
      args = [ "-c" "echo > $out" ]; TAG = "@TAG@"; };
    packages.x86_64-linux.bad = @BAD@;
  };
}
""".replace("@TAG@", t).replace("@BAD@", bad)


SYNTAX_ERROR = """{
  outputs = { self }: {
    packages.x86_64-linux.oops = derivation { name = "oops" ;; };
  };
}
"""


def slow(t, rounds=60000):
    """One package whose evaluation costs rounds x 2000 additions (about 4
    s for 60000 here) in constant memory (the inner list is shared)."""
    return """{
  outputs = { self }: let
    inner = builtins.genList (x: x) 2000;
    n = builtins.foldl' (a: i: a + builtins.foldl' builtins.add i inner) 0
      (builtins.genList (x: x) @ROUNDS@);
  in {
    packages.x86_64-linux.slow = derivation {
      name = "wk-slow"; system = "x86_64-linux"; builder = "/bin/sh";
      args = [ "-c" "echo > $out" ]; TAG = "@TAG@"; N = toString n; };
  };
}
""".replace("@TAG@", t).replace("@ROUNDS@", str(int(rounds)))


def git(cwd, *args):
    env = dict(GIT_ENV, HOME=cwd)
    return subprocess.run(["git"] + list(args), cwd=cwd, env=env, check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=60).stdout


class GitServer:
    """Repositories under one directory, served by git daemon."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="gradient-flakes-")
        self.proc = None
        self.port = None

    def start(self):
        self.port = harness.free_port()
        self.log = os.path.join(self.dir, "git-daemon.log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                ["git", "daemon", "--export-all",
                 "--base-path=" + self.dir, "--listen=127.0.0.1",
                 "--port=%d" % self.port, "--reuseaddr", self.dir],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env=dict(GIT_ENV, HOME=self.dir))
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("git daemon exited with %d"
                                   % self.proc.returncode)
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("timed out waiting for git daemon")
                time.sleep(0.05)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)

    def repo(self, name, flake, message="Add the fixture flake"):
        """Create (or add a commit to) repository name with this flake.nix
        (and a data.txt); returns (git:// URL, commit hash)."""
        path = os.path.join(self.dir, name)
        if not os.path.isdir(path):
            os.mkdir(path)
            git(path, "init", "-q", "-b", "main")
        with open(os.path.join(path, "flake.nix"), "w") as f:
            f.write(flake)
        with open(os.path.join(path, "data.txt"), "w") as f:
            f.write("some data\n")
        git(path, "add", "-A")
        git(path, "commit", "-q", "--allow-empty", "-m", message)
        sha = git(path, "rev-parse", "HEAD").strip()
        return "git://127.0.0.1:%d/%s" % (self.port, name), sha
