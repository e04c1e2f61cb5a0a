-- 0001_users.sql: accounts and how they authenticate.
--
-- A user logs in with a password (argon2id, never stored in clear) and
-- gets a JWT naming a row of session, so that logout can revoke it; or
-- uses an API key, of which only the SHA-256 digest is kept.  Failed
-- password attempts are rows of login_failure so that every responder,
-- on any host, throttles the same account the same way.

CREATE TABLE "user" (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	username	text NOT NULL,
	name		text NOT NULL,
	email		text NOT NULL,
	password_hash	text,
	managed		boolean NOT NULL DEFAULT false,
	email_verified	boolean NOT NULL DEFAULT false,
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_login_at	timestamptz,
	CONSTRAINT user_username_key UNIQUE (username)
);
CREATE UNIQUE INDEX user_email_key ON "user" (lower(email));

CREATE TABLE session (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id		uuid NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	revoked_at	timestamptz
);
CREATE INDEX session_user_id ON session (user_id);

CREATE TABLE api_key (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id		uuid NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
	name		text NOT NULL,
	key_hash	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT api_key_name_key UNIQUE (user_id, name),
	CONSTRAINT api_key_hash_key UNIQUE (key_hash)
);

-- subject is the user's id, or "?" and the lower-cased login name when no
-- such account exists: unknown names are throttled exactly like real ones,
-- so a 429 never tells whether an account exists.
CREATE TABLE login_failure (
	id		bigserial PRIMARY KEY,
	subject		text NOT NULL,
	at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failure_subject_at ON login_failure (subject, at);
CREATE INDEX login_failure_at ON login_failure (at);
