/*
 * model_server.h - build servers of an organization, reached over SSH.
 *
 * architectures and features travel as JSON arrays of strings in and out
 * (text[] in the database).  The host key is pinned on first use.
 */
#ifndef GRADIENT_MODEL_SERVER_H
#define GRADIENT_MODEL_SERVER_H

#include <json-c/json.h>

#include "src/db.h"
#include "src/http.h"

struct gr_server {
	char	 id[37];
	int	 managed;
};

/* Where to connect, for check-connection (strings owned by the struct). */
struct gr_server_target {
	char	*host;
	int	 port;
	char	*username;
	char	*host_key;	/* NULL until first use */
};

/* 1 if s is a known Nix system ("x86_64-linux", ...). */
int	 gr_system_valid(const char *);
/* 1 if s is a host name or address we will connect to. */
int	 gr_host_valid(const char *);
/* 1 if s is a POSIX user name. */
int	 gr_username_valid(const char *);
/* 1 if s is a build feature name ("kvm", "big-parallel"). */
int	 gr_feature_valid(const char *);

enum gr_status	 gr_server_find(struct gr_db *, const char *, const char *,
		    struct gr_server *);
struct json_object *gr_server_list(struct gr_db *, const char *,
		    enum gr_status *);
struct json_object *gr_server_json(struct gr_db *, const char *,
		    enum gr_status *);
/*
 * Create; archs and features are JSON array texts ('["x86_64-linux"]').
 * id gets the uuid.
 */
enum gr_status	 gr_server_create(struct gr_db *, const char *org,
		    const char *name, const char *display, const char *host,
		    int port, const char *username, const char *archs,
		    const char *features, int max_jobs, const char *user_id,
		    int managed, char *id);
/* Change the non-NULL fields (port and max_jobs: 0 leaves them). */
enum gr_status	 gr_server_update(struct gr_db *, const char *id,
		    const char *name, const char *display, const char *host,
		    int port, const char *username, const char *archs,
		    const char *features, int max_jobs);
enum gr_status	 gr_server_set_active(struct gr_db *, const char *, int);
enum gr_status	 gr_server_delete(struct gr_db *, const char *);
enum gr_status	 gr_server_target(struct gr_db *, const char *,
		    struct gr_server_target *);
void		 gr_server_target_release(struct gr_server_target *);
/* Record a successful connection; host_key is stored if none was. */
enum gr_status	 gr_server_connected(struct gr_db *, const char *,
		    const char *);

#endif /* GRADIENT_MODEL_SERVER_H */
