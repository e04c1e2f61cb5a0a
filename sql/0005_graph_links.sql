-- 0005_graph_links.sql: the link tables of the build graph without
-- row-by-row foreign key checks.
--
-- One evaluation of 10,000 derivations writes about 60,000 link rows:
-- outputs, edges, members and entry points.  A foreign key checks each row
-- with a trigger that looks up and locks the row it points at.  Those
-- checks took about 1 s of the 2.3 s the worker spent inserting such a
-- graph (bench/eval.sh, bench/RESULTS.md).
--
-- Only the worker writes these tables (worker/evaluate.c), in one
-- transaction that first locks its evaluation row (a concurrent DELETE of
-- the evaluation waits for it) and links only builds it has just inserted
-- or locked FOR KEY SHARE.  The checks therefore guarded nothing that the
-- writer does not already ensure.  What the foreign keys also did, delete
-- link rows with the build or evaluation they belong to, is kept by the
-- statement-level triggers below.  They run once per DELETE statement,
-- including the deletes that cascade from a project or an organization.

ALTER TABLE build_output DROP CONSTRAINT build_output_build_id_fkey;
ALTER TABLE build_dependency DROP CONSTRAINT build_dependency_build_id_fkey,
	DROP CONSTRAINT build_dependency_dependency_id_fkey;
ALTER TABLE evaluation_build
	DROP CONSTRAINT evaluation_build_evaluation_id_fkey,
	DROP CONSTRAINT evaluation_build_build_id_fkey;
ALTER TABLE entry_point DROP CONSTRAINT entry_point_evaluation_id_fkey,
	DROP CONSTRAINT entry_point_build_id_fkey;

CREATE FUNCTION build_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM build_output WHERE build_id IN (SELECT id FROM gone);
	DELETE FROM build_dependency WHERE build_id IN (SELECT id FROM gone);
	DELETE FROM build_dependency
	    WHERE dependency_id IN (SELECT id FROM gone);
	DELETE FROM evaluation_build WHERE build_id IN (SELECT id FROM gone);
	DELETE FROM entry_point WHERE build_id IN (SELECT id FROM gone);
	RETURN NULL;
END
$$;
CREATE TRIGGER build_deleted AFTER DELETE ON build
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION build_deleted();

CREATE FUNCTION evaluation_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM evaluation_build
	    WHERE evaluation_id IN (SELECT id FROM gone);
	DELETE FROM entry_point WHERE evaluation_id IN (SELECT id FROM gone);
	RETURN NULL;
END
$$;
CREATE TRIGGER evaluation_deleted AFTER DELETE ON evaluation
	REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION evaluation_deleted();
