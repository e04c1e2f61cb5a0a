/*
 * auth.c - bearer authentication, registration, login and logout.
 *
 * A bearer token is either an API key ("GRAD" and 64 hex digits, looked up
 * by its SHA-256 digest) or an HS256 JWT whose jti names a live session.
 * Either way it costs one query, which also loads the user.  Failed
 * logins are throttled per account (model_user.c); an unknown account
 * burns the same argon2 time as a known one, so timing does not tell
 * which usernames exist.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "fcgi/handlers.h"
#include "src/conf.h"
#include "src/crypto.h"
#include "src/json.h"
#include "src/jwt.h"
#include "src/log.h"

static int
unauthorized(struct gr_req *r)
{
	gr_http_header(r, "WWW-Authenticate", "Bearer");
	gr_http_error(r, 401, "Unauthorized");
	return -1;
}

/*
 * Fill u from the bearer token; 0, or -1 once a 401 (or 500) has been
 * answered.  Sets r->session_id for a JWT.
 */
int
auth_authenticate(struct gr_req *r, struct gr_user *u)
{
	const char		*h = r->authorization, *tok;
	char			 digest[65];
	struct gr_jwt_claims	 c;
	enum gr_jwt_err		 je;
	enum gr_status		 st;

	r->session_id[0] = '\0';
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return unauthorized(r);
	tok = h + 7;
	while (*tok == ' ')
		tok++;
	if (gr_apikey_shape(tok)) {
		gr_sha256_hex(tok, strlen(tok), digest);
		st = gr_apikey_user(r->db, digest, u);
	} else {
		je = gr_jwt_verify(r->cfg->jwt_secret, r->cfg->jwt_secret_len,
		    tok, (long long)time(NULL), &c);
		if (je != GR_JWT_OK) {
			log_debug("request %s: bearer token refused: %s",
			    r->request_id != NULL ? r->request_id : "-",
			    gr_jwt_strerror(je));
			return unauthorized(r);
		}
		st = gr_session_user(r->db, c.jti, c.sub, u);
		if (st == GR_OK)
			memcpy(r->session_id, c.jti, sizeof(c.jti));
	}
	if (st == GR_NOTFOUND)
		return unauthorized(r);
	if (st != GR_OK) {
		gr_http_status(r, st, NULL);
		return -1;
	}
	return 0;
}

int
auth_register(struct gr_req *r)
{
	struct json_object	*o;
	const char		*username, *name, *email, *password;
	char			 err[256], hash[GR_PWHASH_LEN], id[37];
	char			 msg[128];
	enum gr_status		 st;
	int			 rc = 0;

	if (r->cfg->registration_disabled)
		return gr_http_error(r, 403, "Registration is disabled");
	if ((o = req_json_object(r)) == NULL)
		return 0;
	if (gr_json_string(o, "username", GR_FIELD_REQUIRED, 0, 1024,
	    &username, err, sizeof(err)) == -1 ||
	    gr_json_string(o, "name", GR_FIELD_REQUIRED, 0, 4096, &name, err,
	    sizeof(err)) == -1 ||
	    gr_json_string(o, "email", GR_FIELD_REQUIRED, 0, 4096, &email,
	    err, sizeof(err)) == -1 ||
	    gr_json_string(o, "password", GR_FIELD_REQUIRED, 0, 4096,
	    &password, err, sizeof(err)) == -1) {
		gr_http_error(r, 400, err);
		goto out;
	}
	if (!gr_user_valid_username(username, err, sizeof(err)) ||
	    !gr_user_valid_name(name, err, sizeof(err)) ||
	    !gr_user_valid_email(email, err, sizeof(err)) ||
	    !gr_user_valid_password(password, username, email, err,
	    sizeof(err))) {
		gr_http_error(r, 400, err);
		goto out;
	}
	if (gr_password_hash(password, strlen(password), hash) == -1) {
		rc = -1;
		goto out;
	}
	st = gr_user_create(r->db, username, name, email, hash, id, msg,
	    sizeof(msg));
	sodium_memzero(hash, sizeof(hash));
	if (st != GR_OK) {
		gr_http_status(r, st, st == GR_CONFLICT ? msg : NULL);
		goto out;
	}
	log_info("request %s: user '%s' registered",
	    r->request_id != NULL ? r->request_id : "-", username);
	snprintf(msg, sizeof(msg), "User %s created successfully.", id);
	gr_http_ok_str(r, msg);
out:
	json_object_put(o);
	return rc;
}

int
auth_login(struct gr_req *r)
{
	struct json_object	*o;
	struct gr_login_gate	 g;
	struct gr_jwt_claims	 c;
	const char		*login, *password;
	char			 err[256], retry[24], *tok = NULL;
	int			 remember = 0, rc = 0, ok;
	long long		 lifetime;

	if ((o = req_json_object(r)) == NULL)
		return 0;
	if (gr_json_string(o, "loginname", GR_FIELD_REQUIRED, 1, 1024, &login,
	    err, sizeof(err)) == -1 ||
	    gr_json_string(o, "password", GR_FIELD_REQUIRED, 0, 4096,
	    &password, err, sizeof(err)) == -1 ||
	    gr_json_bool(o, "remember_me", GR_FIELD_OPTIONAL, &remember, err,
	    sizeof(err)) == -1) {
		gr_http_error(r, 400, err);
		goto out;
	}
	if (gr_login_begin(r->db, login, r->cfg->login_window,
	    r->cfg->login_max_failures, &g) != GR_OK) {
		rc = -1;
		goto out;
	}
	if (g.retry_after > 0) {
		snprintf(retry, sizeof(retry), "%lld", g.retry_after);
		gr_http_header(r, "Retry-After", retry);
		gr_http_errorf(r, 429, "Too many failed logins for this "
		    "account; try again in %lld seconds", g.retry_after);
		goto out;
	}
	if (!g.found || g.password_hash[0] == '\0') {
		gr_password_dummy(password, strlen(password));
		gr_http_error(r, 401, "Invalid username or password");
		goto out;
	}
	ok = gr_password_verify(g.password_hash, password, strlen(password));
	sodium_memzero(g.password_hash, sizeof(g.password_hash));
	if (!ok) {
		log_info("request %s: failed login for user %s",
		    r->request_id != NULL ? r->request_id : "-", g.user_id);
		gr_http_error(r, 401, "Invalid username or password");
		goto out;
	}
	lifetime = remember ? r->cfg->jwt_remember_lifetime :
	    r->cfg->jwt_lifetime;
	memset(&c, 0, sizeof(c));
	memcpy(c.sub, g.user_id, sizeof(c.sub));
	if (gr_login_succeed(r->db, g.user_id, lifetime, c.jti, &c.iat,
	    &c.exp) != GR_OK) {
		rc = -1;
		goto out;
	}
	if ((tok = gr_jwt_sign(r->cfg->jwt_secret, r->cfg->jwt_secret_len,
	    &c)) == NULL) {
		rc = -1;
		goto out;
	}
	gr_http_ok_str(r, tok);
out:
	if (tok != NULL)
		sodium_memzero(tok, strlen(tok));
	free(tok);
	json_object_put(o);
	return rc;
}

int
auth_check_username(struct gr_req *r)
{
	struct json_object	*o;
	const char		*username;
	char			 err[256];
	int			 taken, rc = 0;

	if ((o = req_json_object(r)) == NULL)
		return 0;
	if (gr_json_string(o, "username", GR_FIELD_REQUIRED, 0, 1024,
	    &username, err, sizeof(err)) == -1) {
		gr_http_error(r, 400, err);
		goto out;
	}
	/* Per the API reference, the answer is 200 and "error" tells. */
	if (!gr_user_valid_username(username, err, sizeof(err))) {
		gr_http_error(r, 200, err);
		goto out;
	}
	if (gr_user_username_taken(r->db, username, &taken) != GR_OK) {
		rc = -1;
		goto out;
	}
	if (taken)
		gr_http_error(r, 200, "Username is already taken");
	else
		gr_http_ok_str(r, "Username is available");
out:
	json_object_put(o);
	return rc;
}

int
auth_logout(struct gr_req *r)
{
	if (r->session_id[0] != '\0' &&
	    gr_session_revoke(r->db, r->session_id) == GR_ERROR)
		return -1;
	return gr_http_ok_str(r, "Logout Successfully");
}
