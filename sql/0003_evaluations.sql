-- 0003_evaluations.sql: evaluations, the builds they contain, and the
-- event outbox.
--
-- A derivation is one row of build however many evaluations (of any
-- project) contain it: derivation_path is unique, so the same derivation
-- queued twice is built once and a second evaluation of a commit costs an
-- evaluation and no builds.  evaluation_build says which evaluations
-- contain which builds; build_dependency holds the graph (build depends on
-- dependency); entry_point the attributes the wildcard selected.
--
-- The worker claims an evaluation with FOR UPDATE SKIP LOCKED and holds a
-- lease (lease_owner, lease_until) that it renews; a lease that runs out
-- lets another worker claim the evaluation again.

CREATE TABLE evaluation (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	organization_id	uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
	project_id	uuid REFERENCES project (id) ON DELETE CASCADE,
	repository	text NOT NULL,
	branch		text,
	requested_rev	text,			-- a commit to evaluate, or NULL for the branch head
	commit_id	uuid REFERENCES "commit" (id) ON DELETE SET NULL,
	wildcard	text NOT NULL,
	status		text NOT NULL DEFAULT 'Queued' CHECK (status IN
			    ('Queued', 'Evaluating', 'Building', 'Completed',
			    'Failed', 'Aborted')),
	error		text,
	previous	uuid REFERENCES evaluation (id) ON DELETE SET NULL,
	lease_owner	text,
	lease_until	timestamptz,
	attempts	integer NOT NULL DEFAULT 0,
	created_by	uuid REFERENCES "user" (id) ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	started_at	timestamptz,
	finished_at	timestamptz
);
CREATE INDEX evaluation_project ON evaluation (project_id, created_at);
CREATE INDEX evaluation_previous ON evaluation (previous);
CREATE INDEX evaluation_pending ON evaluation (created_at)
	WHERE status IN ('Queued', 'Evaluating');

CREATE TABLE build (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	derivation_path	text NOT NULL,
	name		text NOT NULL,
	system		text NOT NULL,
	required_features text[] NOT NULL DEFAULT '{}',
	status		text NOT NULL DEFAULT 'Queued' CHECK (status IN
			    ('Queued', 'Building', 'Succeeded', 'Failed',
			    'Aborted', 'Substituted', 'DependencyFailed')),
	server_id	uuid REFERENCES server (id) ON DELETE SET NULL,
	log		text NOT NULL DEFAULT '',
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT build_derivation_path_key UNIQUE (derivation_path)
);
CREATE INDEX build_queued ON build (created_at) WHERE status = 'Queued';

CREATE TABLE build_output (
	build_id	uuid NOT NULL REFERENCES build (id) ON DELETE CASCADE,
	name		text NOT NULL,
	path		text NOT NULL,
	nar_hash	text,
	nar_size	bigint,
	file_hash	text,
	file_size	bigint,
	PRIMARY KEY (build_id, name)
);
CREATE INDEX build_output_path ON build_output (path);

CREATE TABLE build_dependency (
	build_id	uuid NOT NULL REFERENCES build (id) ON DELETE CASCADE,
	dependency_id	uuid NOT NULL REFERENCES build (id) ON DELETE CASCADE,
	PRIMARY KEY (build_id, dependency_id)
);
CREATE INDEX build_dependency_dependency ON build_dependency (dependency_id);

CREATE TABLE evaluation_build (
	evaluation_id	uuid NOT NULL REFERENCES evaluation (id) ON DELETE CASCADE,
	build_id	uuid NOT NULL REFERENCES build (id) ON DELETE CASCADE,
	PRIMARY KEY (evaluation_id, build_id)
);
CREATE INDEX evaluation_build_build ON evaluation_build (build_id);

CREATE TABLE entry_point (
	evaluation_id	uuid NOT NULL REFERENCES evaluation (id) ON DELETE CASCADE,
	attr		text NOT NULL,
	build_id	uuid NOT NULL REFERENCES build (id) ON DELETE CASCADE,
	PRIMARY KEY (evaluation_id, attr)
);

-- The outbox: one row per status change, written in the same transaction.
CREATE TABLE event (
	id		bigserial PRIMARY KEY,
	kind		text NOT NULL,		-- e.g. evaluation.queued
	subject		uuid NOT NULL,
	organization_id	uuid REFERENCES organization (id) ON DELETE CASCADE,
	payload		jsonb NOT NULL DEFAULT '{}',
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_subject ON event (subject);

-- A direct build: files uploaded with POST /builds, evaluated like a
-- project from a directory the worker keeps.
CREATE TABLE direct_build (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	organization_id	uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
	evaluation_id	uuid NOT NULL REFERENCES evaluation (id) ON DELETE CASCADE,
	derivation	text NOT NULL,
	created_by	uuid REFERENCES "user" (id) ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX direct_build_created ON direct_build (created_by, created_at);
