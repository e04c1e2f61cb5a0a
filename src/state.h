/*
 * state.h - the declarative state file that "gradientctl state" applies.
 *
 * The file is one strict JSON object with the optional arrays "users",
 * "organizations", "projects", "servers" and "caches" (gradient-state(5)).
 * gr_state_load() reads and validates all of it, secret files included,
 * before the database is touched; every message names the object and the
 * field ("organizations[1].name: ...").  gr_state_apply() then makes the
 * named objects match the file in one transaction, marks them managed,
 * and leaves everything the file does not name alone.  Applying the same
 * file twice changes no row.  Secret file contents live only in the
 * struct gr_state (wiped by gr_state_free) and are never printed.
 */
#ifndef GRADIENT_STATE_H
#define GRADIENT_STATE_H

#include <stddef.h>

#include "src/buf.h"
#include "src/db.h"

#define GR_STATE_MAX_FILE	(16 * 1024 * 1024)
#define GR_STATE_MAX_SECRET	65536

struct gr_config;
struct gr_state;

struct gr_state_counts {
	size_t	 created;
	size_t	 updated;
	size_t	 unchanged;
};

/*
 * Read and validate the state file at path; relative secret file paths
 * are taken from the state file's directory.  gr_crypto_init() must have
 * run.  Returns a new state (gr_state_free) or NULL with a message in err.
 */
struct gr_state	*gr_state_load(const char *, char *, size_t);
/* The same from text in memory; basedir resolves relative paths. */
struct gr_state	*gr_state_parse(const char *, size_t, const char *, char *,
		    size_t);
void		 gr_state_free(struct gr_state *);

/*
 * Make the database match the state in one transaction.  Appends one line
 * per created or updated object to report ("created organization 'acme'")
 * and fills counts.  With dry_run != 0 the transaction is rolled back and
 * the lines say "would create" / "would update".  Returns 0, or -1 with
 * a message in err and nothing written.
 */
int		 gr_state_apply(struct gr_db *, const struct gr_config *,
		    const struct gr_state *, int, struct gr_buf *,
		    struct gr_state_counts *, char *, size_t);

#endif /* GRADIENT_STATE_H */
