-- 0002_resources.sql: organizations and what hangs on them.
--
-- An organization has members with a role (admin, write, view), an SSH key
-- pair (the private half sealed with the server's crypt secret), projects
-- and build servers.  Caches belong to the user who made them and serve the
-- organizations subscribed to them; each has an Ed25519 signing key, the
-- secret half sealed likewise.  "managed" marks objects created by
-- "gradientctl state apply", which the API refuses to change.

CREATE TABLE organization (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name		text NOT NULL,
	display_name	text NOT NULL,
	description	text NOT NULL DEFAULT '',
	ssh_public_key	text NOT NULL,
	ssh_private_key	text NOT NULL,		-- sealed: "sb1:" base64
	known_hosts	text NOT NULL DEFAULT '',	-- for git over SSH
	managed		boolean NOT NULL DEFAULT false,
	created_by	uuid REFERENCES "user" (id) ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT organization_name_key UNIQUE (name)
);

CREATE TABLE organization_user (
	organization_id	uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
	user_id		uuid NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
	role		text NOT NULL CHECK (role IN ('admin', 'write', 'view')),
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_user_user_id ON organization_user (user_id);

CREATE TABLE project (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	organization_id	uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
	name		text NOT NULL,
	display_name	text NOT NULL,
	description	text NOT NULL DEFAULT '',
	repository	text NOT NULL,
	branch		text,
	evaluation_wildcard text NOT NULL,
	active		boolean NOT NULL DEFAULT true,
	managed		boolean NOT NULL DEFAULT false,
	last_check_at	timestamptz,
	created_by	uuid REFERENCES "user" (id) ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT project_name_key UNIQUE (organization_id, name)
);

CREATE TABLE server (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	organization_id	uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
	name		text NOT NULL,
	display_name	text NOT NULL,
	host		text NOT NULL,
	port		integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
	username	text NOT NULL,
	architectures	text[] NOT NULL,
	features	text[] NOT NULL DEFAULT '{}',
	max_jobs	integer NOT NULL DEFAULT 1 CHECK (max_jobs BETWEEN 1 AND 1024),
	host_key	text,			-- base64 blob, recorded on first use
	active		boolean NOT NULL DEFAULT true,
	managed		boolean NOT NULL DEFAULT false,
	last_connection_at timestamptz,
	created_by	uuid REFERENCES "user" (id) ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT server_name_key UNIQUE (organization_id, name)
);

CREATE TABLE cache (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name		text NOT NULL,
	display_name	text NOT NULL,
	description	text NOT NULL DEFAULT '',
	priority	integer NOT NULL DEFAULT 40,
	public_key	text NOT NULL,		-- "keyname:base64", Nix's form
	secret_key	text NOT NULL,		-- sealed: "sb1:" base64
	active		boolean NOT NULL DEFAULT true,
	managed		boolean NOT NULL DEFAULT false,
	created_by	uuid REFERENCES "user" (id) ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT cache_name_key UNIQUE (name)
);

CREATE TABLE organization_cache (
	organization_id	uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
	cache_id	uuid NOT NULL REFERENCES cache (id) ON DELETE CASCADE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (organization_id, cache_id)
);
CREATE INDEX organization_cache_cache_id ON organization_cache (cache_id);

CREATE TABLE "commit" (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	organization_id	uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
	hash		text NOT NULL,
	message		text NOT NULL DEFAULT '',
	author		uuid REFERENCES "user" (id) ON DELETE SET NULL,
	author_name	text NOT NULL DEFAULT '',
	author_email	text NOT NULL DEFAULT '',
	committed_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT commit_hash_key UNIQUE (organization_id, hash)
);
