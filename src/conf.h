/*
 * conf.h - gradient.conf: "key = value" lines, each key overridable by the
 * environment variable GRADIENT_<KEY>, secrets read from files.
 *
 * Every key is a row of the table in conf.c, with its type, bounds and
 * default; gradient.conf(5) documents the same table.  A struct gr_config
 * owns its strings and secrets: gr_config_release() frees and wipes them.
 */
#ifndef GRADIENT_CONF_H
#define GRADIENT_CONF_H

#include <stddef.h>

#define GR_CONFIG_PATH	SYSCONFDIR "/gradient/gradient.conf"

struct gr_config {
	char		*database_url;
	char		*listen;
	char		*user;
	char		*sql_dir;
	char		*jwt_secret_file;
	char		*crypt_secret_file;
	char		*server_name;
	char		*state_dir;
	char		*nix_bin;
	long long	 children;
	long long	 worker_slots;
	long long	 lease_seconds;
	long long	 eval_timeout;
	long long	 ssh_timeout;
	long long	 git_timeout;
	long long	 max_body_size;
	long long	 registration_disabled;
	long long	 login_max_failures;
	long long	 login_window;
	long long	 jwt_lifetime;
	long long	 jwt_remember_lifetime;

	/* Filled by gr_config_load_secrets(); wiped on release. */
	unsigned char	*jwt_secret;
	size_t		 jwt_secret_len;
	unsigned char	*crypt_secret;
	size_t		 crypt_secret_len;
};

/*
 * Fill c with defaults, then the file (NULL: GRADIENT_CONFIG or the
 * default path, which may be absent), then the environment.  On error
 * returns -1 with a message in err naming the file, line or variable.
 */
int	 gr_config_load(struct gr_config *, const char *, char *, size_t);
/* Read jwt_secret_file (required, >= 32 bytes) and crypt_secret_file. */
int	 gr_config_load_secrets(struct gr_config *, char *, size_t);
void	 gr_config_release(struct gr_config *);
/* Parse "true/false/yes/no/on/off/1/0"; -1 when it is none of them. */
int	 gr_parse_bool(const char *);
/* strtonum(3): base 10, within [min, max]; *errstr NULL on success. */
long long gr_strtonum(const char *, long long, long long, const char **);

#endif /* GRADIENT_CONF_H */
