/*
 * model_user.h - users, login sessions, API keys and login throttling.
 *
 * The only code that touches the "user", session, api_key and
 * login_failure tables.  Validators for the fields a user chooses live
 * here too, so the API and gradientctl apply the same rules.
 */
#ifndef GRADIENT_MODEL_USER_H
#define GRADIENT_MODEL_USER_H

#include <stddef.h>

#include "src/db.h"
#include "src/http.h"

#define GR_USERNAME_MIN	3
#define GR_USERNAME_MAX	32
#define GR_NAME_MAX	128	/* characters */
#define GR_NAME_BYTES	(GR_NAME_MAX * 4)
#define GR_EMAIL_MAX	254
#define GR_PASSWORD_MIN	8
#define GR_PASSWORD_MAX	256
#define GR_KEYNAME_MAX	64

struct gr_user {
	char	 id[37];
	char	 username[GR_USERNAME_MAX + 1];
	char	 name[GR_NAME_BYTES + 1];
	char	 email[GR_EMAIL_MAX + 1];
	int	 managed;
};

/* What a login attempt may do, decided under the account's row lock. */
struct gr_login_gate {
	char		 user_id[37];
	char		 password_hash[160];
	int		 found;		/* the account exists */
	long long	 retry_after;	/* > 0: throttled for that many seconds */
};

/* Validators: 1 if valid; otherwise 0 with a client-facing message. */
int	 gr_user_valid_username(const char *, char *, size_t);
int	 gr_user_valid_email(const char *, char *, size_t);
int	 gr_user_valid_name(const char *, char *, size_t);
int	 gr_user_valid_password(const char *, const char *, const char *,
	    char *, size_t);

/* Create a user; GR_CONFLICT with which field in msg. id gets the uuid. */
enum gr_status	 gr_user_create(struct gr_db *, const char *, const char *,
		    const char *, const char *, char *, char *, size_t);
enum gr_status	 gr_user_by_id(struct gr_db *, const char *, struct gr_user *);
enum gr_status	 gr_user_username_taken(struct gr_db *, const char *, int *);
/* Change the non-NULL fields; GR_CONFLICT with which field in msg. */
enum gr_status	 gr_user_update(struct gr_db *, const char *, const char *,
		    const char *, const char *, char *, size_t);
/*
 * Delete a user; GR_CONFLICT (with the organization's name in org) when
 * the user is the last admin of an organization.
 */
enum gr_status	 gr_user_delete(struct gr_db *, const char *, char *, size_t);

/*
 * The first half of a login: find the account by username or email and,
 * holding a lock on it (or on the name, when there is no such account),
 * either report it throttled or record this attempt as a failure in
 * advance, so that concurrent guesses count too.
 */
enum gr_status	 gr_login_begin(struct gr_db *, const char *, long long,
		    long long, struct gr_login_gate *);
/*
 * The password was right: clear the account's failures, drop its expired
 * sessions and open a session of lifetime seconds.  Fills the session id
 * and its issue and expiry times (Unix seconds).
 */
enum gr_status	 gr_login_succeed(struct gr_db *, const char *, long long,
		    char *, long long *, long long *);

/* The user behind a live (unrevoked, unexpired) session of that user. */
enum gr_status	 gr_session_user(struct gr_db *, const char *, const char *,
		    struct gr_user *);
enum gr_status	 gr_session_revoke(struct gr_db *, const char *);

/* The user owning the API key with this SHA-256 hex digest. */
enum gr_status	 gr_apikey_user(struct gr_db *, const char *,
		    struct gr_user *);
/* A JSON array of {id, name} of the user's keys (caller puts), or NULL. */
struct json_object *gr_apikey_list(struct gr_db *, const char *);
enum gr_status	 gr_apikey_create(struct gr_db *, const char *, const char *,
		    const char *);
enum gr_status	 gr_apikey_delete(struct gr_db *, const char *, const char *);

#endif /* GRADIENT_MODEL_USER_H */
