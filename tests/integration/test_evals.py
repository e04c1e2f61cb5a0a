"""Integration tests for evaluations and builds as the API shows them.

POST /projects/{org}/{project}/evaluate, /evals/{id} (read, abort, builds,
the NDJSON log stream), /builds/{id} (with dependencies and graph),
project details and entry points, and direct builds (POST /builds,
GET /builds/direct/recent).

The worker is stopped while this module runs, so that evaluations stay
where the tests put them; builds, edges, outputs and entry points are
written with SQL, as the worker would write them.  Before the worker is
started again, the module deletes its organizations and their builds.
"""
import base64
import http.client
import json
import os
import re
import threading
import time
import unittest

import harness

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
EVAL_KEYS = ["commit", "created_at", "error", "id", "next", "previous",
             "project", "repository", "status", "updated_at", "wildcard"]
NODE_KEYS = ["created_at", "id", "name", "path", "status", "updated_at"]
BUILD_KEYS = ["architecture", "created_at", "derivation_path", "evaluation",
              "id", "name", "output", "server", "status", "updated_at"]
NIX32 = "0123456789abcdfghijklmnpqrsvwxyz"
ZERO = "00000000-0000-4000-8000-000000000000"

_USERS = {}
_ORGS = []
_WORKER = []


def setUpModule():
    s = harness.STACK
    if "worker" in s.procs:
        s.stop_worker()
        _WORKER.append(True)


def tearDownModule():
    # Leave nothing behind: not a queued evaluation for the worker, nor a
    # multi-line build log for modules that read every row (test_state).
    s = harness.STACK
    if _ORGS:
        orgs = "{%s}" % ",".join(_ORGS)
        s.sql("DELETE FROM build WHERE id IN (SELECT eb.build_id FROM"
              " evaluation_build eb JOIN evaluation e ON"
              " e.id = eb.evaluation_id WHERE e.organization_id ="
              " ANY(:'p1'::uuid[]))", orgs)
        s.sql("DELETE FROM organization WHERE id = ANY(:'p1'::uuid[])", orgs)
    if _WORKER:
        s.start_worker()


def api(method, path, body=None, token=None, headers=None):
    return harness.STACK.api(method, path, body, token, headers)


def sql(query, *args):
    return harness.STACK.sql(query, *args)


def user(tag):
    """This module's user called tag, registered once: (name, token, id)."""
    if tag not in _USERS:
        name, _, tok = harness.register(harness.STACK)
        uid = api("GET", "/user", token=tok).message["id"]
        _USERS[tag] = (name, tok, uid)
    return _USERS[tag]


def make_org(tc, tok, members=()):
    name = harness.unique("ev")
    r = api("PUT", "/orgs", {"name": name, "display_name": "O"}, tok)
    oid = harness.expect(tc, r, 200, False, UUID_RE)
    _ORGS.append(oid)
    for tag, role in members:
        r = api("POST", "/orgs/%s/users" % name,
                {"username": user(tag)[0], "role": role}, tok)
        harness.expect(tc, r, 200, False)
    return name, oid


def make_project(tc, org, tok, **kw):
    body = {"name": harness.unique("p"), "display_name": "P",
            "repository": "https://example.org/repo.git",
            "evaluation_wildcard": "packages.x86_64-linux.*"}
    body.update(kw)
    r = api("PUT", "/projects/" + org, body, tok)
    return body["name"], harness.expect(tc, r, 200, False, UUID_RE)


def store_path(name, ext=".drv"):
    h = "".join(NIX32[b % 32] for b in os.urandom(32))
    return "/nix/store/%s-%s%s" % (h, name, ext)


def insert_eval(org_id, project_id=None, status="Queued"):
    return sql("INSERT INTO evaluation (organization_id, project_id,"
               " repository, wildcard, status) VALUES (:'p1'::uuid,"
               " nullif(:'p2', '')::uuid, 'https://example.org/r.git',"
               " 'checks', :'p3') RETURNING id",
               org_id, project_id or "", status)[0][0]


def insert_build(name, status="Queued", evals=(), log=""):
    path = store_path(name)
    bid = sql("INSERT INTO build (derivation_path, name, system, status, log)"
              " VALUES (:'p1', :'p2', 'x86_64-linux', :'p3', :'p4')"
              " RETURNING id", path, name, status, log)[0][0]
    for e in evals:
        link(e, bid)
    return bid, path


def link(eval_id, build_id):
    sql("INSERT INTO evaluation_build (evaluation_id, build_id)"
        " VALUES (:'p1', :'p2')", eval_id, build_id)


def depend(build_id, dependency_id):
    sql("INSERT INTO build_dependency (build_id, dependency_id)"
        " VALUES (:'p1', :'p2')", build_id, dependency_id)


def build_status(build_id):
    return sql("SELECT status FROM build WHERE id = :'p1'", build_id)[0][0]


class Evaluate(unittest.TestCase):
    """Queue, read, chain and abort evaluations through the API."""

    def setUp(self):
        _, self.tok, self.uid = user("alice")
        self.org, self.org_id = make_org(self, self.tok, [("viewer", "view"),
                                                          ("writer", "write")])
        self.name, self.pid = make_project(self, self.org, self.tok)
        self.path = "/projects/%s/%s" % (self.org, self.name)

    def evaluate(self, body=None, tok=None):
        r = api("POST", self.path + "/evaluate", body, tok or self.tok)
        return harness.expect(self, r, 200, False, UUID_RE)

    def get(self, eid, tok=None):
        r = api("GET", "/evals/" + eid, token=tok or self.tok)
        return harness.expect(self, r, 200, False)

    def test_evaluate_then_get_shape(self):
        eid = self.evaluate()
        e = self.get(eid)
        self.assertEqual(sorted(e), EVAL_KEYS)
        self.assertRegex(e.pop("created_at"), TIME_RE)
        self.assertRegex(e.pop("updated_at"), TIME_RE)
        self.assertEqual(e, {
            "id": eid, "project": self.pid,
            "repository": "https://example.org/repo.git", "commit": None,
            "wildcard": "packages.x86_64-linux.*", "status": "Queued",
            "previous": None, "next": None, "error": None})
        row = sql("SELECT organization_id, created_by, requested_rev IS NULL,"
                  " branch IS NULL FROM evaluation WHERE id = :'p1'", eid)
        self.assertEqual(row, [[self.org_id, self.uid, "t", "t"]])

    def test_chain_previous_and_next(self):
        first = self.evaluate()
        second = self.evaluate({"commit": "ABCDEF0123" * 4}, user("writer")[1])
        third = self.evaluate(b"")
        self.assertEqual(self.get(second)["previous"], first)
        e1 = self.get(first)
        self.assertEqual((e1["previous"], e1["next"]), (None, second))
        self.assertEqual(self.get(second)["next"], third)
        self.assertEqual(self.get(third)["next"], None)
        self.assertEqual(sql("SELECT requested_rev FROM evaluation"
                             " WHERE id = :'p1'", second),
                         [["abcdef0123" * 4]])
        # Another project's evaluations form their own chain.
        other, _ = make_project(self, self.org, self.tok)
        r = api("POST", "/projects/%s/%s/evaluate" % (self.org, other),
                token=self.tok)
        oid = harness.expect(self, r, 200, False, UUID_RE)
        self.assertIsNone(self.get(oid)["previous"])

    def test_concurrent_evaluations_form_one_chain(self):
        ids = []

        def go():
            r = api("POST", self.path + "/evaluate", token=self.tok)
            ids.append(r.message)
        threads = [threading.Thread(target=go) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertTrue(all(UUID_RE.match(i) for i in ids), ids)
        prev = {i: self.get(i)["previous"] for i in ids}
        # Exactly one head, and every other one follows a distinct one.
        self.assertEqual(list(prev.values()).count(None), 1, prev)
        followed = [p for p in prev.values() if p is not None]
        self.assertEqual(len(set(followed)), len(followed), prev)

    def test_events_are_written(self):
        eid = self.evaluate()
        rows = sql("SELECT kind, organization_id, payload->>'project'"
                   " FROM event WHERE subject = :'p1' ORDER BY id", eid)
        self.assertEqual(rows, [["evaluation.queued", self.org_id,
                                 self.pid]])
        r = api("POST", "/evals/" + eid, {"method": "abort"}, self.tok)
        harness.expect(self, r, 200, False, "Evaluation aborted")
        rows = sql("SELECT kind FROM event WHERE subject = :'p1'"
                   " ORDER BY id", eid)
        self.assertEqual(rows, [["evaluation.queued"],
                                ["evaluation.aborted"]])

    def test_abort(self):
        eid = self.evaluate()
        r = api("POST", "/evals/" + eid, {"method": "abort"}, self.tok)
        harness.expect(self, r, 200, False, "Evaluation aborted")
        e = self.get(eid)
        self.assertEqual((e["status"], e["error"]), ("Aborted", None))
        self.assertEqual(sql("SELECT finished_at IS NOT NULL FROM evaluation"
                             " WHERE id = :'p1'", eid), [["t"]])
        r = api("POST", "/evals/" + eid, {"method": "abort"}, self.tok)
        harness.expect(self, r, 400, True, "Evaluation is already finished")
        for status in ("Completed", "Failed"):
            other = insert_eval(self.org_id, self.pid, status)
            r = api("POST", "/evals/" + other, {"method": "abort"}, self.tok)
            harness.expect(self, r, 400, True,
                           "Evaluation is already finished")
        for status in ("Evaluating", "Building"):
            other = insert_eval(self.org_id, self.pid, status)
            r = api("POST", "/evals/" + other, {"method": "abort"}, self.tok)
            harness.expect(self, r, 200, False, "Evaluation aborted")

    def test_abort_bad_bodies(self):
        eid = self.evaluate()
        msg = "field 'method': expected \"abort\""
        for body in ({"method": "restart"}, {}, {"method": 1},
                     {"method": "ABORT"}):
            with self.subTest(body=body):
                r = api("POST", "/evals/" + eid, body, self.tok)
                harness.expect(self, r, 400, True, msg)
        for body in (b"", b"{", b"[]", b"\xff"):
            with self.subTest(body=body):
                r = api("POST", "/evals/" + eid, body, self.tok)
                harness.expect(self, r, 400, True)
        self.assertEqual(self.get(eid)["status"], "Queued")

    def test_abort_builds_only_what_nobody_else_needs(self):
        eid = self.evaluate()
        running = insert_eval(self.org_id, None, "Building")
        done = insert_eval(self.org_id, None, "Completed")
        mine, _ = insert_build("mine", "Queued", [eid])
        shared, _ = insert_build("shared", "Queued", [eid, running])
        old, _ = insert_build("old", "Queued", [eid, done])
        busy, _ = insert_build("busy", "Building", [eid])
        ok, _ = insert_build("ok", "Succeeded", [eid])
        r = api("POST", "/evals/" + eid, {"method": "abort"}, self.tok)
        harness.expect(self, r, 200, False, "Evaluation aborted")
        self.assertEqual([build_status(b) for b in
                          (mine, shared, old, busy, ok)],
                         ["Aborted", "Queued", "Aborted", "Building",
                          "Succeeded"])

    def test_evaluate_errors(self):
        for body in ({"commit": "abc"}, {"commit": "g" * 40},
                     {"commit": "a" * 41}, {"commit": 5},
                     {"commit": "a" * 39 + "\u00e9"}):
            with self.subTest(body=body):
                r = api("POST", self.path + "/evaluate", body, self.tok)
                harness.expect(self, r, 400, True, "field 'commit': expected"
                               " a commit hash of 40 hexadecimal digits")
        r = api("POST", self.path + "/evaluate", b"{oops", self.tok)
        harness.expect(self, r, 400, True)
        r = api("POST", "/projects/%s/nope/evaluate" % self.org,
                token=self.tok)
        harness.expect(self, r, 404, True,
                       "Project not found")
        r = api("DELETE", self.path + "/active", token=self.tok)
        harness.expect(self, r, 200, False)
        r = api("POST", self.path + "/evaluate", token=self.tok)
        harness.expect(self, r, 400, True, "Project is disabled")
        self.assertEqual(sql("SELECT count(*) FROM evaluation WHERE"
                             " project_id = :'p1'", self.pid), [["0"]])
        r = api("GET", self.path + "/evaluate", token=self.tok)
        harness.expect(self, r, 405, True)

    def test_managed_project_may_be_evaluated(self):
        sql("UPDATE project SET managed = true WHERE id = :'p1'", self.pid)
        self.evaluate()

    def test_access(self):
        eid = self.evaluate()
        _, stranger, _ = user("stranger")
        viewer = user("viewer")[1]
        for method, path, body in (
                ("GET", "/evals/" + eid, None),
                ("POST", "/evals/" + eid, {"method": "abort"}),
                ("GET", "/evals/%s/builds" % eid, None),
                ("POST", "/evals/%s/builds" % eid, None)):
            with self.subTest(method=method, path=path):
                r = api(method, path, body, stranger)
                harness.expect(self, r, 404, True, "Evaluation not found")
        r = api("POST", self.path + "/evaluate", token=stranger)
        harness.expect(self, r, 404, True, "Organization not found")
        # A viewer reads but neither evaluates nor aborts.
        self.assertEqual(self.get(eid, viewer)["id"], eid)
        r = api("GET", "/evals/%s/builds" % eid, token=viewer)
        self.assertEqual(harness.expect(self, r, 200, False), [])
        forbidden = re.compile("^Forbidden: this needs the write role")
        r = api("POST", self.path + "/evaluate", token=viewer)
        harness.expect(self, r, 403, True, forbidden)
        r = api("POST", "/evals/" + eid, {"method": "abort"}, viewer)
        harness.expect(self, r, 403, True, forbidden)
        self.assertEqual(self.get(eid)["status"], "Queued")
        # A writer may abort.
        r = api("POST", "/evals/" + eid, {"method": "abort"},
                user("writer")[1])
        harness.expect(self, r, 200, False, "Evaluation aborted")
        r = api("GET", "/evals/" + eid)
        self.assertEqual(r.status, 401)

    def test_ids_must_be_strict_uuids(self):
        eid = self.evaluate()
        for bad in (eid[:-1], eid + "0", eid.replace("-", ""),
                    "{%s}" % eid, eid[:8] + "_" + eid[9:], "x" * 36, ZERO,
                    "%20" + eid):
            with self.subTest(id=bad):
                r = api("GET", "/evals/" + bad, token=self.tok)
                harness.expect(self, r, 404, True, "Evaluation not found")
                r = api("GET", "/builds/" + bad, token=self.tok)
                harness.expect(self, r, 404, True, "Build not found")


class Builds(unittest.TestCase):
    """Builds written as the worker would, read through the API."""

    def setUp(self):
        _, self.tok, _ = user("alice")
        self.org, self.org_id = make_org(self, self.tok, [("viewer", "view")])
        self.name, self.pid = make_project(self, self.org, self.tok)
        self.eval = insert_eval(self.org_id, self.pid, "Building")

    def ok(self, path, tok=None):
        return harness.expect(self, api("GET", path, token=tok or self.tok),
                              200, False)

    def diamond(self):
        """top depends on left and right, which both depend on base."""
        ids = {}
        for n in ("top", "left", "right", "base"):
            ids[n], _ = insert_build(n, evals=[self.eval])
        depend(ids["top"], ids["left"])
        depend(ids["top"], ids["right"])
        depend(ids["left"], ids["base"])
        depend(ids["right"], ids["base"])
        return ids

    def test_evaluation_builds_by_path(self):
        made = [insert_build(n, evals=[self.eval]) for n in ("b", "a", "c")]
        insert_build("elsewhere", evals=[insert_eval(self.org_id)])
        got = self.ok("/evals/%s/builds" % self.eval)
        want = sorted(({"id": i, "name": p, "status": "Queued",
                        "derivation_name": p.split("-", 1)[1][:-4]}
                       for i, p in made), key=lambda b: b["name"])
        self.assertEqual(got, want)

    def test_build_shape(self):
        bid, path = insert_build("hello-2.12", "Succeeded", [self.eval])
        later = insert_eval(self.org_id, self.pid, "Completed")
        link(later, bid)
        sql("INSERT INTO build_output (build_id, name, path) VALUES"
            " (:'p1', 'out', :'p2'), (:'p1', 'dev', :'p3')", bid,
            "/nix/store/aaa-hello-2.12", "/nix/store/bbb-hello-2.12-dev")
        b = self.ok("/builds/" + bid)
        self.assertEqual(sorted(b), BUILD_KEYS)
        self.assertRegex(b.pop("created_at"), TIME_RE)
        self.assertRegex(b.pop("updated_at"), TIME_RE)
        self.assertEqual(b, {
            "id": bid, "evaluation": self.eval, "status": "Succeeded",
            "derivation_path": path, "architecture": "x86_64-linux",
            "server": None, "name": "hello-2.12",
            "output": {"out": "/nix/store/aaa-hello-2.12",
                       "dev": "/nix/store/bbb-hello-2.12-dev"}})
        other, _ = insert_build("no-outputs", evals=[self.eval])
        self.assertEqual(self.ok("/builds/" + other)["output"], {})

    def test_dependencies(self):
        ids = self.diamond()
        deps = self.ok("/builds/%s/dependencies" % ids["top"])
        self.assertEqual([d["id"] for d in deps], [ids["left"], ids["right"]])
        self.assertEqual(sorted(deps[0]), NODE_KEYS)
        self.assertEqual((deps[0]["name"], deps[0]["status"]),
                         ("left", "Queued"))
        self.assertTrue(deps[0]["path"].endswith("-left.drv"))
        self.assertEqual(self.ok("/builds/%s/dependencies" % ids["base"]), [])

    def test_graph_of_a_diamond(self):
        ids = self.diamond()
        g = self.ok("/builds/%s/graph" % ids["top"])
        self.assertEqual(sorted(g), ["edges", "nodes", "root", "truncated"])
        self.assertEqual(g["root"], ids["top"])
        self.assertIs(g["truncated"], False)
        self.assertEqual([n["id"] for n in g["nodes"]][0], ids["top"])
        self.assertEqual(sorted(n["id"] for n in g["nodes"]),
                         sorted(ids.values()))
        for n in g["nodes"]:
            self.assertEqual(sorted(n), NODE_KEYS)
        edges = sorted((e["source"], e["target"]) for e in g["edges"])
        self.assertEqual(edges, sorted([
            (ids["left"], ids["top"]), (ids["right"], ids["top"]),
            (ids["base"], ids["left"]), (ids["base"], ids["right"])]))
        g = self.ok("/builds/%s/graph" % ids["left"])
        self.assertEqual([n["id"] for n in g["nodes"]],
                         [ids["left"], ids["base"]])
        self.assertEqual(g["edges"], [{"source": ids["base"],
                                       "target": ids["left"]}])
        g = self.ok("/builds/%s/graph" % ids["base"])
        self.assertEqual((len(g["nodes"]), g["edges"], g["truncated"]),
                         (1, [], False))

    def test_graph_is_capped_at_500_nodes(self):
        # chain-0 depends on chain-1, which depends on chain-2, ... 599.
        prefix = "".join(NIX32[b % 32] for b in os.urandom(26))
        sql("WITH b AS (INSERT INTO build (derivation_path, name, system)"
            " SELECT '/nix/store/' || :'p1' || lpad(i::text, 6, '0') ||"
            " '-chain-' || i || '.drv', 'chain-' || i, 'x86_64-linux'"
            " FROM generate_series(0, 599) i RETURNING id, name)"
            " INSERT INTO evaluation_build (evaluation_id, build_id)"
            " SELECT :'p2', id FROM b", prefix, self.eval)
        sql("INSERT INTO build_dependency (build_id, dependency_id)"
            " SELECT a.id, b.id FROM build a JOIN build b ON"
            " b.derivation_path = '/nix/store/' || :'p1' ||"
            " lpad((substring(a.name FROM 7)::int + 1)::text, 6, '0') ||"
            " '-chain-' || (substring(a.name FROM 7)::int + 1) || '.drv'"
            " WHERE a.derivation_path LIKE '/nix/store/' || :'p1' || '%'",
            prefix)
        root = sql("SELECT id FROM build WHERE derivation_path = '/nix/store/'"
                   " || :'p1' || '000000-chain-0.drv'", prefix)[0][0]
        t0 = time.monotonic()
        g = self.ok("/builds/%s/graph" % root)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertIs(g["truncated"], True)
        self.assertEqual(len(g["nodes"]), 500)
        self.assertEqual([n["name"] for n in g["nodes"]],
                         ["chain-%d" % i for i in range(500)])
        self.assertEqual(len(g["edges"]), 499)
        included = {n["id"] for n in g["nodes"]}
        for e in g["edges"]:
            self.assertIn(e["source"], included)
            self.assertIn(e["target"], included)
        # 100 from the end: the whole rest of the chain, not truncated.
        mid = g["nodes"][499]["id"]
        g = self.ok("/builds/%s/graph" % mid)
        self.assertEqual((len(g["nodes"]), len(g["edges"]), g["truncated"]),
                         (101, 100, False))

    def test_visibility_across_organizations(self):
        bid, _ = insert_build("shared", evals=[self.eval])
        _, bob, _ = user("bob")
        other_org, other_id = make_org(self, bob)
        r = api("GET", "/builds/" + bid, token=bob)
        harness.expect(self, r, 404, True, "Build not found")
        later = insert_eval(other_id, None, "Queued")
        link(later, bid)
        # Bob sees it through his own organization's (later) evaluation.
        self.assertEqual(self.ok("/builds/" + bid, bob)["evaluation"], later)
        self.assertEqual(self.ok("/builds/" + bid)["evaluation"], self.eval)
        self.assertEqual(self.ok("/builds/" + bid,
                                 user("viewer")[1])["evaluation"], self.eval)
        _, stranger, _ = user("stranger")
        for suffix in ("", "/dependencies", "/graph"):
            with self.subTest(suffix=suffix):
                r = api("GET", "/builds/" + bid + suffix, token=stranger)
                harness.expect(self, r, 404, True, "Build not found")
                r = api("GET", "/builds/%s%s" % (ZERO, suffix),
                        token=self.tok)
                harness.expect(self, r, 404, True, "Build not found")
        # A build in no evaluation at all is nobody's.
        lone, _ = insert_build("lone")
        r = api("GET", "/builds/" + lone, token=self.tok)
        harness.expect(self, r, 404, True, "Build not found")

    def test_project_details_and_entry_points(self):
        path = "/projects/%s/%s" % (self.org, self.name)
        fresh, _ = make_project(self, self.org, self.tok)
        d = self.ok("/projects/%s/%s/details" % (self.org, fresh))
        self.assertEqual(d, {"latest_evaluation": None,
                             "recent_evaluations": [], "entry_points": []})
        self.assertEqual(self.ok("/projects/%s/%s/entry-points"
                                 % (self.org, fresh)), [])
        # The Building evaluation of setUp has entry points; 11 newer
        # evaluations have none, the newest has two builds.
        hello, _ = insert_build("hello", "Succeeded", [self.eval])
        world, _ = insert_build("world", "Queued", [self.eval])
        sql("INSERT INTO entry_point (evaluation_id, attr, build_id) VALUES"
            " (:'p1', 'packages.x86_64-linux.world', :'p3'),"
            " (:'p1', 'packages.x86_64-linux.hello', :'p2')",
            self.eval, hello, world)
        ids = []
        for _ in range(11):
            r = api("POST", path + "/evaluate", token=self.tok)
            ids.append(harness.expect(self, r, 200, False, UUID_RE))
        link(ids[-1], hello)
        link(ids[-1], world)
        d = self.ok(path + "/details", user("viewer")[1])
        self.assertEqual(sorted(d), ["entry_points", "latest_evaluation",
                                     "recent_evaluations"])
        recent = d["recent_evaluations"]
        self.assertEqual([e["id"] for e in recent], ids[::-1][:10])
        self.assertEqual(sorted(recent[0]), ["builds", "created_at", "id",
                                             "status"])
        self.assertEqual((recent[0]["builds"], recent[1]["builds"],
                          recent[0]["status"]), (2, 0, "Queued"))
        self.assertRegex(recent[0]["created_at"], TIME_RE)
        self.assertEqual(d["latest_evaluation"], recent[0])
        want = [{"build_id": hello, "name": "hello",
                 "attr": "packages.x86_64-linux.hello", "status": "Succeeded"},
                {"build_id": world, "name": "world",
                 "attr": "packages.x86_64-linux.world", "status": "Queued"}]
        self.assertEqual(d["entry_points"], want)
        self.assertEqual(self.ok(path + "/entry-points"), want)
        _, stranger, _ = user("stranger")
        for suffix in ("/details", "/entry-points"):
            r = api("GET", path + suffix, token=stranger)
            harness.expect(self, r, 404, True, "Organization not found")


class Stream(unittest.TestCase):
    """POST /evals/{id}/builds: NDJSON lines until the evaluation ends."""

    def setUp(self):
        _, self.tok, _ = user("alice")
        self.org, self.org_id = make_org(self, self.tok)

    def open(self, eid):
        s = harness.STACK
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        conn.request("POST", "/api/v1/evals/%s/builds" % eid,
                     headers={"Authorization": "Bearer " + self.tok})
        return conn, conn.getresponse()

    def test_stream_follows_the_logs_until_the_end(self):
        t0 = time.monotonic()
        eid = insert_eval(self.org_id, None, "Building")
        bid, path = insert_build("talker", "Building", [eid])
        sql("UPDATE build SET log = 'h' || chr(233) || 'llo' || chr(10)"
            " WHERE id = :'p1'", bid)
        insert_build("silent", "Queued", [eid])
        conn, r = self.open(eid)
        try:
            self.assertEqual(r.status, 200)
            self.assertEqual(r.getheader("Content-Type"),
                             "application/x-ndjson")
            self.assertIsNone(r.getheader("Content-Length"))
            self.assertIsNone(r.getheader("X-Accel-Buffering"))
            first = json.loads(r.readline())
            self.assertEqual(first, {"build": bid, "name": path,
                                     "log": "h\u00e9llo\n"})
            # Text appended while the stream is open arrives on its own.
            sql("UPDATE build SET log = log || 'w' || chr(246) || 'rld '"
                " || chr(10003) || chr(10) WHERE id = :'p1'", bid)
            second = json.loads(r.readline())
            self.assertEqual(second["log"], "w\u00f6rld \u2713\n")
            # The last words before the end are flushed, then it ends.
            sql("UPDATE build SET log = log || 'bye' || chr(10)"
                " WHERE id = :'p1'", bid)
            sql("UPDATE evaluation SET status = 'Completed'"
                " WHERE id = :'p1'", eid)
            rest = r.read().decode()
        finally:
            conn.close()
        lines = [json.loads(x) for x in rest.splitlines()]
        self.assertEqual(lines, [{"build": bid, "name": path,
                                  "log": "bye\n"}])
        self.assertLess(time.monotonic() - t0, 5)

    def test_finished_evaluation_streams_its_logs_and_ends(self):
        eid = insert_eval(self.org_id, None, "Failed")
        a, pa = insert_build("a", "Failed", [eid], "one\ntwo\n")
        insert_build("b", "DependencyFailed", [eid])
        conn, r = self.open(eid)
        try:
            body = r.read().decode()
        finally:
            conn.close()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/x-ndjson")
        self.assertEqual([json.loads(x) for x in body.splitlines()],
                         [{"build": a, "name": pa, "log": "one\ntwo\n"}])
        self.assertTrue(body.endswith("\n"))

    def test_aborting_ends_the_stream(self):
        eid = insert_eval(self.org_id, None, "Evaluating")
        bid, _ = insert_build("starter", "Building", [eid], "starting\n")
        opened = threading.Event()
        got = {}

        def follow():
            conn, r = self.open(eid)
            try:
                got["status"] = r.status
                got["first"] = json.loads(r.readline())["log"]
                opened.set()
                got["rest"] = r.read()
            finally:
                opened.set()
                conn.close()
        t = threading.Thread(target=follow)
        t.start()
        self.assertTrue(opened.wait(5))
        t0 = time.monotonic()
        res = api("POST", "/evals/" + eid, {"method": "abort"}, self.tok)
        harness.expect(self, res, 200, False, "Evaluation aborted")
        t.join(5)
        self.assertFalse(t.is_alive())
        self.assertLess(time.monotonic() - t0, 3)
        self.assertEqual(got, {"status": 200, "first": "starting\n",
                               "rest": b""})
        # The build was Building, so the abort left it to the worker.
        self.assertEqual(build_status(bid), "Building")


def multipart(fields, boundary="gradient-test-boundary"):
    """fields: (name, bytes) pairs; returns (content type, body)."""
    out = []
    for name, data in fields:
        out.append(b"--" + boundary.encode() + b"\r\n")
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        disp = 'form-data; name="%s"' % quoted
        if name.startswith("file:"):
            disp += '; filename="%s"' % name[5:].rsplit("/", 1)[-1]
        out.append(("Content-Disposition: %s\r\n" % disp).encode())
        if name.startswith("file:"):
            out.append(b"Content-Type: application/octet-stream\r\n")
        out.append(b"\r\n" + data + b"\r\n")
    out.append(b"--" + boundary.encode() + b"--\r\n")
    return "multipart/form-data; boundary=" + boundary, b"".join(out)


FLAKE = b"""{
  outputs = { self, nixpkgs }: {
    packages.x86_64-linux.hello = nixpkgs.legacyPackages.x86_64-linux.hello;
  };
}
"""


class Direct(unittest.TestCase):
    """POST /builds and GET /builds/direct/recent."""

    def setUp(self):
        _, self.tok, self.uid = user("dora")
        self.org, self.org_id = make_org(self, self.tok, [("viewer", "view")])

    def post(self, fields, tok=None, boundary="gradient-test-boundary"):
        ct, body = multipart(fields, boundary)
        return api("POST", "/builds", body, tok or self.tok,
                   {"Content-Type": ct})

    def fields(self, **files):
        f = [("organization", self.org.encode()),
             ("derivation", b"packages.x86_64-linux.hello")]
        return f + [("file:" + k, v) for k, v in files.items()]

    def test_direct_build_is_queued_with_its_files(self):
        blob = bytes(range(256))
        r = self.post(self.fields(**{"flake.nix": FLAKE, "lib/data.bin": blob,
                                     "empty.nix": b""}))
        eid = harness.expect(self, r, 200, False, UUID_RE)
        rows = sql("SELECT id, organization_id, derivation, created_by,"
                   " files::text FROM direct_build WHERE evaluation_id ="
                   " :'p1'", eid)
        self.assertEqual(len(rows), 1)
        did, org_id, drv, by, files = rows[0]
        self.assertEqual((org_id, drv, by),
                         (self.org_id, "packages.x86_64-linux.hello",
                          self.uid))
        self.assertEqual(json.loads(files), {
            "flake.nix": base64.b64encode(FLAKE).decode(),
            "lib/data.bin": base64.b64encode(blob).decode(),
            "empty.nix": ""})
        r = api("GET", "/evals/" + eid, token=self.tok)
        e = harness.expect(self, r, 200, False)
        self.assertEqual((e["project"], e["repository"], e["wildcard"],
                          e["status"], e["previous"]),
                         (None, "direct:" + did,
                          "packages.x86_64-linux.hello", "Queued", None))
        self.assertEqual(sql("SELECT kind FROM event WHERE subject = :'p1'",
                             eid), [["evaluation.queued"]])
        r = api("GET", "/builds/direct/recent", token=self.tok)
        recent = harness.expect(self, r, 200, False)
        self.assertEqual(recent[0]["id"], did)
        self.assertEqual(sorted(recent[0]), ["created_at", "derivation",
                                             "evaluation_id", "id",
                                             "status"])
        self.assertRegex(recent[0]["created_at"],
                         r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
        self.assertEqual((recent[0]["derivation"], recent[0]["evaluation_id"],
                          recent[0]["status"]),
                         ("packages.x86_64-linux.hello", eid, "Queued"))
        # The evaluation's status shows through; the viewer and others
        # have no recent direct builds of their own.
        api("POST", "/evals/" + eid, {"method": "abort"}, self.tok)
        r = api("GET", "/builds/direct/recent", token=self.tok)
        self.assertEqual(harness.expect(self, r, 200, False)[0]["status"],
                         "Aborted")
        r = api("GET", "/builds/direct/recent", token=user("stranger")[1])
        self.assertEqual(harness.expect(self, r, 200, False), [])

    def test_recent_is_newest_first_and_capped_at_20(self):
        _, tok, _ = user("rita")
        org, _ = make_org(self, tok)
        made = []
        for i in range(22):
            r = self.post([("organization", org.encode()),
                           ("derivation", b"checks.x86_64-linux.t%d" % i),
                           ("file:flake.nix", FLAKE)], tok)
            made.append(harness.expect(self, r, 200, False, UUID_RE))
        r = api("GET", "/builds/direct/recent", token=tok)
        recent = harness.expect(self, r, 200, False)
        self.assertEqual([d["evaluation_id"] for d in recent],
                         made[::-1][:20])

    def test_access(self):
        _, stranger, _ = user("stranger")
        r = self.post(self.fields(**{"flake.nix": FLAKE}), stranger)
        harness.expect(self, r, 404, True, "Organization not found")
        r = self.post(self.fields(**{"flake.nix": FLAKE}), user("viewer")[1])
        harness.expect(self, r, 403, True,
                       re.compile("^Forbidden: this needs the write role"))
        ct, body = multipart(self.fields(**{"flake.nix": FLAKE}))
        r = api("POST", "/builds", body, None, {"Content-Type": ct})
        self.assertEqual(r.status, 401)
        self.assertEqual(sql("SELECT count(*) FROM direct_build WHERE"
                             " organization_id = :'p1'", self.org_id),
                         [["0"]])

    def test_malformed_requests_are_400(self):
        good = self.fields(**{"flake.nix": FLAKE})
        ct, body = multipart(good)
        raw_cases = [
            ("no content type", None, body),
            ("json", "application/json", b'{"organization": "x"}'),
            ("no boundary", "multipart/form-data", body),
            ("other boundary", "multipart/form-data; boundary=zzz", body),
            ("truncated", ct, body[:-30]),
            ("no close", ct, body[:body.rindex(b"--gradient")]),
            ("empty", ct, b""),
            ("folded", ct, body.replace(b"Content-Disposition: form-data;",
                                        b"Content-Disposition: form-data;"
                                        b"\r\n ", 1)),
        ]
        for what, ctype, data in raw_cases:
            with self.subTest(what=what):
                h = {"Content-Type": ctype} if ctype else {}
                r = api("POST", "/builds", data, self.tok, h)
                harness.expect(self, r, 400, True,
                               re.compile("^Invalid multipart body: "))
        org = ("organization", self.org.encode())
        drv = ("derivation", b"packages.x86_64-linux.hello")
        flake = ("file:flake.nix", FLAKE)
        cases = [
            ("missing organization", [drv, flake],
             "field 'organization' is required"),
            ("missing derivation", [org, flake],
             "field 'derivation' is required"),
            ("no files", [org, drv], "A direct build needs at least one "
             "'file:<path>' field"),
            ("twice", [org, org, drv, flake],
             "field 'organization' is given twice"),
            ("unknown", [org, drv, flake, ("extra", b"x")],
             "unexpected field 'extra'"),
            ("bad slug", [("organization", b"Not A Slug"), drv, flake],
             re.compile("^field 'organization': ")),
            ("empty slug", [("organization", b""), drv, flake],
             re.compile("^field 'organization': ")),
            ("wildcard", [org, ("derivation", b"packages.*.hello"), flake],
             re.compile("^field 'derivation': ")),
            ("list", [org, ("derivation", b"a.b,c.d"), flake],
             re.compile("^field 'derivation': ")),
            ("shell", [org, ("derivation", b"a; rm -rf /"), flake],
             re.compile("^field 'derivation': ")),
            ("nul", [org, ("derivation", b"a\0b"), flake],
             re.compile("^field 'derivation': ")),
            ("same file", [org, drv, flake, flake],
             "field 'file:flake.nix' is given twice"),
        ]
        for path in ("../flake.nix", "a/../../b", "/etc/passwd", "a//b",
                     "./a", "a/.", "", "a\\b", "..", "a/"):
            cases.append(("path " + path, [org, drv, ("file:" + path, b"x")],
                          re.compile("^field 'file:")))
        for what, fields, msg in cases:
            with self.subTest(what=what):
                r = self.post(fields)
                harness.expect(self, r, 400, True, msg)
        many = [org, drv] + [("file:f%d.nix" % i, b"x") for i in range(257)]
        r = self.post(many)
        harness.expect(self, r, 400, True, re.compile("at most 256 files"))
        r = self.post(many[:258])
        harness.expect(self, r, 200, False, UUID_RE)
        r = self.post(many + [("file:g.nix", b"x")] * 3)
        harness.expect(self, r, 400, True,
                       re.compile("^Invalid multipart body: more than"))
        self.assertEqual(sql("SELECT count(*) FROM direct_build WHERE"
                             " organization_id = :'p1'", self.org_id),
                         [["1"]])


if __name__ == "__main__":
    unittest.main()
