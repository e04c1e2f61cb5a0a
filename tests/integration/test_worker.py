"""test_worker.py - gradient-worker: evaluations from a git repository to
rows of builds, and the queue's leases under crashes and restarts.

The fixture flakes (flakes.py) live in git repositories served by a
"git daemon" this module starts on loopback and stops by PID.  Projects
point at git://127.0.0.1:<port>/<repo>.  An evaluation is queued with
POST /projects/{org}/{project}/evaluate when the route exists; while it
answers the router's 404 "Not Found", enqueue() writes what
gr_eval_enqueue() writes (row, event, NOTIFY) with SQL.  Results are read
with SQL.  "nix show-derivation -r" is the oracle for the graph.

Tests that kill workers or need two of them start stacks of their own and
stop them in finally.  Every wait has a deadline.
"""
import json
import os
import signal
import subprocess
import time
import unittest

import flakes
import harness

WILDCARD = "packages.x86_64-linux.*"
NIX_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/root",
    "NIX_CONFIG": "experimental-features = nix-command flakes",
}
# How queueing was done, for the summary printed at the end.
ENQUEUED_VIA = {"api": 0, "sql": 0}

# What gr_eval_enqueue() does (src/model_eval.c): previous is the
# project's latest evaluation, created_at the clock; then the event and
# the NOTIFY with the id as payload.
SQL_ENQUEUE = """
WITH p AS (SELECT id, organization_id, repository, branch,
    evaluation_wildcard FROM project WHERE id = :'p1' FOR UPDATE),
e AS (INSERT INTO evaluation (organization_id, project_id, repository,
    branch, wildcard, previous, created_at, updated_at)
    SELECT organization_id, id, repository, branch, evaluation_wildcard,
    (SELECT x.id FROM evaluation x WHERE x.project_id = p.id
     ORDER BY x.created_at DESC, x.id DESC LIMIT 1),
    clock_timestamp(), clock_timestamp() FROM p
    RETURNING id, organization_id, project_id),
q AS (INSERT INTO event (kind, subject, organization_id, payload)
    SELECT 'evaluation.queued', id, organization_id,
    jsonb_build_object('project', project_id) FROM e)
SELECT id, pg_notify('gradient_evaluation', id::text) FROM e;
"""


def tearDownModule():
    print("\ntest_worker: evaluations queued through the API: %d, with SQL: "
          "%d" % (ENQUEUED_VIA["api"], ENQUEUED_VIA["sql"]))


# -- helpers ---------------------------------------------------------------

def not_found(r):
    """The router's answer for a path no route matches."""
    if r.status != 404:
        return False
    try:
        return r.json().get("message") == "Not Found"
    except ValueError:
        return False


def enqueue(stack, token, org, project):
    """Queue an evaluation of org/project; returns its id."""
    r = stack.api("POST", "/projects/%s/%s/evaluate" % (org, project), {},
                  token)
    if not not_found(r):
        assert r.status == 200, r
        msg = r.json()["message"]
        ENQUEUED_VIA["api"] += 1
        return msg["id"] if isinstance(msg, dict) else msg
    pid = stack.sql("SELECT p.id FROM project p JOIN organization o"
                    " ON o.id = p.organization_id"
                    " WHERE o.name = :'p1' AND p.name = :'p2'",
                    org, project)[0][0]
    rows = stack.sql(SQL_ENQUEUE, pid)
    ENQUEUED_VIA["sql"] += 1
    return rows[0][0]


def setup_project(tc, stack, token, url, org=None):
    """An organization (made unless given) with one project on url;
    returns (org, project)."""
    if org is None:
        org = harness.unique("org")
        r = stack.api("PUT", "/orgs", {"name": org, "display_name": "O"},
                      token)
        harness.expect(tc, r, 200, False)
    name = harness.unique("p")
    r = stack.api("PUT", "/projects/" + org, {
        "name": name, "display_name": "P", "repository": url,
        "evaluation_wildcard": WILDCARD}, token)
    harness.expect(tc, r, 200, False)
    return org, name


def evaluation(stack, eid):
    """The evaluation's row as a dict (strings, None for NULL)."""
    cols = ["status", "error", "attempts", "lease_owner", "previous",
            "commit_id"]
    row = stack.sql("SELECT json_build_object(" + ", ".join(
        "'%s', %s" % (c, c) for c in cols) + ")::text FROM evaluation"
        " WHERE id = :'p1'", eid)
    return json.loads(row[0][0])


def wait_status(stack, eid, wanted, timeout=60.0):
    """Wait until the evaluation's status is in wanted; returns the row.
    A final status that is not wanted ends the wait at once."""
    seen = {}

    def done():
        seen["row"] = evaluation(stack, eid)
        st = seen["row"]["status"]
        if st in wanted:
            return True
        if st in ("Completed", "Failed", "Aborted", "Building"):
            raise AssertionError("evaluation %s is %s, expected %s: %r" % (
                eid, st, "/".join(wanted), seen["row"]))
        return False
    try:
        harness.wait_for(done, "evaluation %s to be %s" % (
            eid, "/".join(wanted)), timeout=timeout, interval=0.1)
    except RuntimeError:
        raise AssertionError("evaluation %s still %r after %.0f s" % (
            eid, seen.get("row"), timeout))
    return seen["row"]


def count_events(stack, eid, kind):
    return int(stack.sql("SELECT count(*) FROM event WHERE subject = :'p1'"
                         " AND kind = :'p2'", eid, kind)[0][0])


def uuid_array(ids):
    """A PostgreSQL array literal of uuids, for :'p1'::uuid[]."""
    return "{" + ",".join(ids) + "}"


def eval_builds(stack, eid):
    """{derivation_path: (build id, name, system)} of the evaluation."""
    rows = stack.sql("SELECT b.derivation_path, b.id, b.name, b.system"
                     " FROM evaluation_build eb JOIN build b"
                     " ON b.id = eb.build_id WHERE eb.evaluation_id = :'p1'",
                     eid)
    return {r[0]: tuple(r[1:]) for r in rows}


def proc_table():
    """{pid: (ppid, comm, state)} of every process."""
    table = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        rest = s[s.rindex(")") + 2:].split()
        table[int(d)] = (int(rest[1]), comm, rest[0])
    return table


def descendants(pid):
    """{pid: comm} of the living (not zombie) descendants of pid."""
    table = proc_table()
    out, todo = {}, [pid]
    while todo:
        p = todo.pop()
        for c, (pp, comm, state) in table.items():
            if pp == p and c not in out:
                todo.append(c)
                if state != "Z":
                    out[c] = comm
    return out


def alive(pids):
    table = proc_table()
    return [p for p in pids if p in table and table[p][2] != "Z"]


def nix_oracle(drvs):
    """nix show-derivation -r over the entry points' .drv files."""
    p = subprocess.run(["nix", "show-derivation", "-r"] + sorted(drvs),
                       env=NIX_ENV, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("nix show-derivation failed: " + p.stderr)
    return json.loads(p.stdout)


class WorkerCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.git = flakes.GitServer()
        cls.addClassCleanup(cls.git.stop)
        cls.git.start()

    def log_tail(self, stack, name="worker", n=30):
        path = os.path.join(stack.dir, name + ".log")
        try:
            with open(path, errors="replace") as f:
                return "\n--- %s.log ---\n" % name + "".join(
                    f.readlines()[-n:])
        except OSError:
            return ""

    def own_stack(self, **kw):
        """A stack of this test's own, stopped at clean-up."""
        stack = harness.Stack(children=1, **kw)
        stack.start()
        self.addCleanup(self.stop_stack, stack)
        return stack

    def stop_stack(self, stack):
        reports = stack.stop()
        self.assertEqual(reports, [], "sanitizer reports")


# -- tests on the shared stack --------------------------------------------

class Evaluation(WorkerCase):
    def setUp(self):
        self.s = harness.STACK
        _, _, self.tok = harness.register(self.s)

    def test_graph_matches_nix_show_derivation(self):
        message = "Add the diamond\n\nlib-a and lib-b share base."
        url, sha = self.git.repo("diamond", flakes.diamond(flakes.tag()),
                                 message)
        org, proj = setup_project(self, self.s, self.tok, url)
        eid = enqueue(self.s, self.tok, org, proj)
        row = wait_status(self.s, eid, ("Building",))
        self.assertIsNone(row["error"])
        self.assertIsNone(row["lease_owner"])
        self.assertEqual(row["attempts"], 1)

        # Entry points: the four derivations under packages.x86_64-linux.
        entries = dict(self.s.sql(
            "SELECT ep.attr, b.derivation_path FROM entry_point ep"
            " JOIN build b ON b.id = ep.build_id"
            " WHERE ep.evaluation_id = :'p1'", eid))
        self.assertEqual(sorted(entries), [
            "packages.x86_64-linux." + n
            for n in ("app", "base", "one", "two")])

        oracle = nix_oracle(entries.values())
        for attr, drv in entries.items():
            self.assertEqual(oracle[drv]["env"]["name"],
                             "wk-" + attr.rsplit(".", 1)[1])

        # Nodes: exactly the closure, with name and system from the .drv.
        builds = eval_builds(self.s, eid)
        self.assertEqual(sorted(builds), sorted(oracle))
        self.assertEqual(len(oracle), 6)      # base lib-a lib-b app one two
        for drv, (_, name, system) in builds.items():
            self.assertEqual(name, oracle[drv]["env"]["name"], drv)
            self.assertEqual(system, oracle[drv]["system"], drv)

        # Edges: (drv, inputDrv) for every input derivation, no more.
        want = {(d, i) for d, v in oracle.items() for i in v["inputDrvs"]}
        got = {tuple(r) for r in self.s.sql(
            "SELECT b.derivation_path, d.derivation_path"
            " FROM build_dependency bd JOIN build b ON b.id = bd.build_id"
            " JOIN build d ON d.id = bd.dependency_id"
            " WHERE bd.build_id IN (SELECT build_id FROM evaluation_build"
            " WHERE evaluation_id = :'p1')", eid)}
        self.assertEqual(got, want)
        self.assertEqual(len(want), 4)        # the diamond's four sides

        # Outputs: name and path of every output of every node.
        want = {(d, o, v["path"]) for d, x in oracle.items()
                for o, v in x["outputs"].items()}
        got = {tuple(r) for r in self.s.sql(
            "SELECT b.derivation_path, o.name, o.path FROM build_output o"
            " JOIN build b ON b.id = o.build_id WHERE o.build_id IN"
            " (SELECT build_id FROM evaluation_build"
            " WHERE evaluation_id = :'p1')", eid)}
        self.assertEqual(got, want)
        self.assertIn("doc", oracle[entries[
            "packages.x86_64-linux.app"]]["outputs"])

        # The check outside the wildcard was not taken.
        self.assertFalse(any("wk-outside" in d for d in builds))

        # The commit: hash and author (the message is checked below).
        c = self.s.sql(
            "SELECT c.hash, c.author_name, c.author_email,"
            " to_json(c.message)::text, e.commit_id IS NOT NULL"
            " FROM evaluation e JOIN \"commit\" c ON c.id = e.commit_id"
            " WHERE e.id = :'p1'", eid)
        self.assertEqual(len(c), 1, "evaluation.commit_id is not set")
        self.assertEqual(c[0][0], sha)
        self.assertEqual(c[0][1:3], list(flakes.AUTHOR))
        self.assertEqual(count_events(self.s, eid, "evaluation.building"), 1)

        # The API, once it exists, shows the same evaluation and builds.
        r = self.s.api("GET", "/evals/" + eid, token=self.tok)
        if not not_found(r):
            self.assertEqual(r.status, 200, r)
            got = r.json()["message"]
            self.assertEqual((got["id"], got["status"], got["commit"]),
                             (eid, "Building", row["commit_id"]))
        r = self.s.api("GET", "/evals/%s/builds" % eid, token=self.tok)
        if not not_found(r):
            self.assertEqual(r.status, 200, r)
            ids = {b["id"] for b in r.json()["message"]}
            self.assertEqual(ids, {v[0] for v in builds.values()})
        # The message as committed: git log's %B ends in a newline and the
        # format adds another; neither belongs to it.  (Checked last, so
        # that the checks above run whatever happens here.)
        self.assertEqual(json.loads(c[0][3]), message)

    def test_evaluation_error_is_stored(self):
        cases = [
            ("abort", flakes.broken(flakes.tag(), 'builtins.abort "kaputt"'),
             "evaluation aborted with the following error message: "
             "'kaputt'"),
            ("missing", flakes.broken(flakes.tag(), "self.nothing"),
             "attribute 'nothing' missing"),
            ("syntax", flakes.SYNTAX_ERROR, "syntax error, unexpected ';'"),
        ]
        queued = []
        for label, flake, _ in cases:
            url, _ = self.git.repo(harness.unique("err-" + label), flake)
            org, proj = setup_project(self, self.s, self.tok, url)
            queued.append(enqueue(self.s, self.tok, org, proj))
        for eid, (label, _, text) in zip(queued, cases):
            with self.subTest(label):
                row = wait_status(self.s, eid, ("Failed",))
                self.assertIn(text, row["error"] or "")
                self.assertIsNone(row["lease_owner"])
                self.assertEqual(count_events(self.s, eid,
                                              "evaluation.failed"), 1)
                self.assertEqual(eval_builds(self.s, eid), {})
                # The commit was recorded before nix ran.
                self.assertIsNotNone(row["commit_id"])

    def test_throw_fails_one_attribute_only(self):
        # throw is caught per attribute: the rest is evaluated and the
        # error is kept on the row.
        url, _ = self.git.repo(harness.unique("throw"), flakes.broken(
            flakes.tag(), 'throw "boom"'))
        org, proj = setup_project(self, self.s, self.tok, url)
        eid = enqueue(self.s, self.tok, org, proj)
        row = wait_status(self.s, eid, ("Building",))
        self.assertIn("packages.x86_64-linux.bad", row["error"] or "")
        self.assertEqual([b[1] for b in eval_builds(self.s, eid).values()],
                         ["wk-good"])

    def test_second_evaluation_reuses_builds(self):
        url, _ = self.git.repo(harness.unique("again"),
                               flakes.diamond(flakes.tag()))
        org, proj = setup_project(self, self.s, self.tok, url)
        first = enqueue(self.s, self.tok, org, proj)
        row1 = wait_status(self.s, first, ("Building",))
        builds1 = eval_builds(self.s, first)
        total = self.s.sql("SELECT count(*) FROM build")[0][0]

        second = enqueue(self.s, self.tok, org, proj)
        row2 = wait_status(self.s, second, ("Building",))
        builds2 = eval_builds(self.s, second)
        self.assertEqual(len(builds1), 6)
        self.assertEqual(builds2, builds1)    # same ids, same paths
        self.assertEqual(self.s.sql("SELECT count(*) FROM build")[0][0],
                         total)
        self.assertEqual(row2["previous"], first)
        r = self.s.api("GET", "/evals/" + first, token=self.tok)
        if not not_found(r):
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["message"]["next"], second)
        self.assertEqual(row2["commit_id"], row1["commit_id"])
        e1 = self.s.sql("SELECT attr, build_id FROM entry_point"
                        " WHERE evaluation_id = :'p1' ORDER BY attr", first)
        e2 = self.s.sql("SELECT attr, build_id FROM entry_point"
                        " WHERE evaluation_id = :'p1' ORDER BY attr", second)
        self.assertEqual(e2, e1)

    def link_counts(self, builds):
        """Rows of outputs, edges and members of the given build ids."""
        return [int(self.s.sql(q, uuid_array(builds))[0][0]) for q in (
            "SELECT count(*) FROM build_output"
            " WHERE build_id = ANY(:'p1'::uuid[])",
            "SELECT count(*) FROM build_dependency"
            " WHERE build_id = ANY(:'p1'::uuid[])"
            " OR dependency_id = ANY(:'p1'::uuid[])",
            "SELECT count(*) FROM evaluation_build"
            " WHERE build_id = ANY(:'p1'::uuid[])")]

    def test_reused_builds_keep_their_links_and_aborted_ones_requeue(self):
        url, _ = self.git.repo(harness.unique("requeue"),
                               flakes.diamond(flakes.tag()))
        org, proj = setup_project(self, self.s, self.tok, url)
        first = enqueue(self.s, self.tok, org, proj)
        wait_status(self.s, first, ("Building",))
        builds = eval_builds(self.s, first)
        ids = [b[0] for b in builds.values()]
        # 6 builds, app has two outputs; edges app->lib-a, app->lib-b,
        # lib-a->base, lib-b->base; one evaluation holds them all.
        self.assertEqual(self.link_counts(ids), [7, 4, 6])
        base = [b[0] for b in builds.values() if b[1] == "wk-base"][0]
        self.s.sql("UPDATE build SET status = 'Aborted' WHERE id = :'p1'",
                   base)
        second = enqueue(self.s, self.tok, org, proj)
        wait_status(self.s, second, ("Building",))
        self.assertEqual(eval_builds(self.s, second), builds)
        # Only the membership grew; the aborted build is wanted again.
        self.assertEqual(self.link_counts(ids), [7, 4, 12])
        self.assertEqual(self.s.sql("SELECT DISTINCT status FROM build"
                                    " WHERE id = ANY(:'p1'::uuid[])",
                                    uuid_array(ids)),
                         [["Queued"]])

    def test_deletes_take_the_links_with_them(self):
        url, _ = self.git.repo(harness.unique("gone"),
                               flakes.diamond(flakes.tag()))
        org, proj = setup_project(self, self.s, self.tok, url)
        eid = enqueue(self.s, self.tok, org, proj)
        wait_status(self.s, eid, ("Building",))
        ids = [b[0] for b in eval_builds(self.s, eid).values()]
        self.assertEqual(len(ids), 6)
        self.assertEqual(self.s.sql("SELECT count(*) FROM entry_point"
                                    " WHERE evaluation_id = :'p1'", eid),
                         [["4"]])
        # Deleting the project deletes its evaluations (a cascade); the
        # evaluations take their members and entry points along, and the
        # builds stay for whoever else needs them.
        r = self.s.api("DELETE", "/projects/%s/%s" % (org, proj),
                       token=self.tok)
        harness.expect(self, r, 200, False)
        for table in ("evaluation", "evaluation_build", "entry_point"):
            col = "id" if table == "evaluation" else "evaluation_id"
            self.assertEqual(self.s.sql("SELECT count(*) FROM %s WHERE"
                                        " %s = :'p1'" % (table, col), eid),
                             [["0"]], table)
        self.assertEqual(self.link_counts(ids), [7, 4, 0])
        # Deleting builds (as a garbage collector would) takes their
        # outputs and edges, in both directions.
        lib_a = self.s.sql("SELECT id FROM build WHERE id = ANY(:'p1'::uuid[])"
                           " AND name = 'wk-lib-a'", uuid_array(ids))[0][0]
        self.s.sql("DELETE FROM build WHERE id = :'p1'", lib_a)
        self.assertEqual(self.link_counts([lib_a]), [0, 0, 0])
        self.assertEqual(self.link_counts(ids), [6, 2, 0])
        self.s.sql("DELETE FROM build WHERE id = ANY(:'p1'::uuid[])",
                   uuid_array(ids))
        self.assertEqual(self.link_counts(ids), [0, 0, 0])
        # Nothing anywhere points at a row that is gone.
        for q in ("SELECT count(*) FROM build_output o WHERE NOT EXISTS"
                  " (SELECT 1 FROM build b WHERE b.id = o.build_id)",
                  "SELECT count(*) FROM build_dependency d WHERE NOT EXISTS"
                  " (SELECT 1 FROM build b WHERE b.id = d.build_id) OR"
                  " NOT EXISTS (SELECT 1 FROM build b"
                  " WHERE b.id = d.dependency_id)",
                  "SELECT count(*) FROM evaluation_build m WHERE NOT EXISTS"
                  " (SELECT 1 FROM build b WHERE b.id = m.build_id) OR"
                  " NOT EXISTS (SELECT 1 FROM evaluation e"
                  " WHERE e.id = m.evaluation_id)",
                  "SELECT count(*) FROM entry_point m WHERE NOT EXISTS"
                  " (SELECT 1 FROM build b WHERE b.id = m.build_id) OR"
                  " NOT EXISTS (SELECT 1 FROM evaluation e"
                  " WHERE e.id = m.evaluation_id)"):
            self.assertEqual(self.s.sql(q), [["0"]], q)

    def test_worker_survives_postgres_restart(self):
        path = os.path.join(self.s.dir, "worker.log")

        def listens():
            with open(path, errors="replace") as f:
                return f.read().count("listening for evaluations")
        before = listens()
        self.s.restart_postgres()
        harness.wait_for(lambda: listens() > before,
                         "the worker to LISTEN again", timeout=30)
        url, _ = self.git.repo(harness.unique("pgrestart"),
                               flakes.small(flakes.tag(), "after"))
        org, proj = setup_project(self, self.s, self.tok, url)
        eid = enqueue(self.s, self.tok, org, proj)
        # The NOTIFY wakes the worker at once: well before its 5 s timer.
        t0 = time.monotonic()
        harness.wait_for(
            lambda: evaluation(self.s, eid)["status"] != "Queued",
            "the worker to claim after the restart", timeout=20)
        claimed = time.monotonic() - t0
        row = wait_status(self.s, eid, ("Building",))
        self.assertEqual(row["attempts"], 1)
        self.assertLess(claimed, 4.0, "claimed by the timer, not by NOTIFY?"
                        + self.log_tail(self.s))

    def test_sigterm_requeues(self):
        s = self.s
        url, _ = self.git.repo(harness.unique("term"),
                               flakes.slow(flakes.tag()))
        org, proj = setup_project(self, s, self.tok, url)
        try:
            eid = enqueue(s, self.tok, org, proj)
            wait_status(s, eid, ("Evaluating",), timeout=20)
            worker = s.procs["worker"]
            harness.wait_for(lambda: "nix" in descendants(
                worker.pid).values(), "nix eval to run", timeout=20,
                interval=0.02)
            kids = list(descendants(worker.pid))
            self.assertEqual(evaluation(s, eid)["status"], "Evaluating",
                             "too fast: nix finished before the signal")
            t0 = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            try:
                rc = worker.wait(10)
            except subprocess.TimeoutExpired:
                rc = None
            took = time.monotonic() - t0
            s.stop_worker("worker", signal.SIGKILL)
            self.assertEqual(rc, 0, "worker exit status after SIGTERM "
                             "(None: still running after 10 s)"
                             + self.log_tail(s))
            self.assertLess(took, 10.0)
            harness.wait_for(lambda: alive(kids) == [],
                             "the job and nix to die", timeout=5)
            row = evaluation(s, eid)
            self.assertEqual(row["status"], "Queued", row)
            self.assertIsNone(row["lease_owner"])
            self.assertEqual(row["attempts"], 1)
        finally:
            if "worker" not in s.procs:
                s.start_worker("worker")
        row = wait_status(s, eid, ("Building",), timeout=60)
        self.assertEqual(row["attempts"], 2)
        self.assertEqual(count_events(s, eid, "evaluation.building"), 1)
        self.assertEqual(len(eval_builds(s, eid)), 1)


# -- tests with stacks of their own ---------------------------------------

class Leases(WorkerCase):
    def test_sigkill_mid_evaluation(self):
        s = self.own_stack(extra_config={"lease_seconds": "3"}, worker=True)
        _, _, tok = harness.register(s)
        url, _ = self.git.repo(harness.unique("kill"),
                               flakes.slow(flakes.tag()))
        org, proj = setup_project(self, s, tok, url)
        eid = enqueue(s, tok, org, proj)
        wait_status(s, eid, ("Evaluating",), timeout=20)
        worker = s.procs["worker"]
        harness.wait_for(lambda: "nix" in descendants(worker.pid).values(),
                         "nix eval to run", timeout=20, interval=0.02)
        kids = list(descendants(worker.pid))
        self.assertEqual(evaluation(s, eid)["status"], "Evaluating",
                         "too fast: nix finished before the signal")
        s.stop_worker("worker", signal.SIGKILL)
        # The job has PR_SET_PDEATHSIG: it kills nix's process group and
        # goes, so nothing of the dead worker keeps evaluating.
        harness.wait_for(lambda: alive(kids) == [],
                         "the orphaned job and nix to die", timeout=10)
        row = evaluation(s, eid)
        self.assertEqual(row["status"], "Evaluating")   # nobody released it
        self.assertIsNotNone(row["lease_owner"])

        s.start_worker("worker")
        row = wait_status(s, eid, ("Building",), timeout=60)
        self.assertGreaterEqual(row["attempts"], 2, row)
        self.assertEqual(count_events(s, eid, "evaluation.evaluating"),
                         row["attempts"])
        self.assertEqual(count_events(s, eid, "evaluation.building"), 1)
        n, distinct = s.sql(
            "SELECT count(*), count(DISTINCT b.derivation_path)"
            " FROM evaluation_build eb JOIN build b ON b.id = eb.build_id"
            " WHERE eb.evaluation_id = :'p1'", eid)[0]
        self.assertEqual((n, distinct), ("1", "1"))
        self.assertEqual(s.sql("SELECT count(*) FROM entry_point"
                               " WHERE evaluation_id = :'p1'", eid),
                         [["1"]])

    def test_two_workers_twenty_evaluations(self):
        s = self.own_stack(worker=False)
        s.start_worker("worker")
        s.start_worker("worker2")
        _, _, tok = harness.register(s)
        org = None
        projects = []
        for i in range(4):
            url, _ = self.git.repo(harness.unique("two"), flakes.small(
                flakes.tag(), "pkg%d" % i))
            org, proj = setup_project(self, s, tok, url, org)
            projects.append(proj)
        ids = [enqueue(s, tok, org, projects[i % 4]) for i in range(20)]

        def settled():
            rows = s.sql("SELECT status FROM evaluation WHERE id = ANY("
                         ":'p1'::uuid[])", uuid_array(ids))
            bad = [r[0] for r in rows if r[0] in ("Failed", "Aborted")]
            if bad:
                raise AssertionError("evaluations failed: %r%s%s" % (
                    bad, self.log_tail(s), self.log_tail(s, "worker2")))
            return all(r[0] in ("Building", "Completed") for r in rows)
        harness.wait_for(settled, "20 evaluations to be evaluated",
                         timeout=90, interval=0.2)
        for eid in ids:
            row = evaluation(s, eid)
            self.assertEqual(row["attempts"], 1, eid)
            self.assertEqual(count_events(s, eid, "evaluation.evaluating"),
                             1, eid)
            self.assertEqual(count_events(s, eid, "evaluation.building") +
                             count_events(s, eid, "evaluation.completed"),
                             1, eid)
        # Every claim is logged once, by whichever worker made it.
        claims = {}
        for name in ("worker", "worker2"):
            with open(os.path.join(s.dir, name + ".log"),
                      errors="replace") as f:
                claims[name] = f.read().count("Queued -> Evaluating")
        self.assertEqual(sum(claims.values()), 20, claims)
        print("\n    claims per worker: %r" % (claims,), end=" ")


if __name__ == "__main__":
    unittest.main()
