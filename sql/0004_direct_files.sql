-- 0004_direct_files.sql: the files of a direct build.
--
-- POST /builds uploads the files of a flake; the worker evaluates them
-- from a directory of its own, possibly on another host, so they are kept
-- in the database with the direct build: a JSON object mapping each
-- relative path to its content in base64 ({"flake.nix": "ewog..."}).
-- The responder checks the paths (relative, no "..", at most 256 files)
-- before they are stored.

ALTER TABLE direct_build ADD COLUMN files jsonb NOT NULL DEFAULT '{}';
