/*
 * gradientctl.c - the administration tool: schema migrations and the
 * declarative state file now; users and key rotation as those land.  Only
 * calls the library.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/buf.h"
#include "src/conf.h"
#include "src/crypto.h"
#include "src/db.h"
#include "src/log.h"
#include "src/migrate.h"
#include "src/state.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: gradientctl [-v] [-f file] migrate\n"
	    "       gradientctl [-v] [-f file] state apply | check statefile\n"
	    "       gradientctl version\n");
	exit(1);
}

static int
cmd_migrate(struct gr_config *cfg)
{
	struct gr_db	*db;
	int		 n;

	if ((db = gr_db_new(cfg->database_url)) == NULL)
		fatalx("out of memory");
	if (gr_db_connect(db) == -1) {
		gr_db_free(db);
		return 1;
	}
	n = gr_migrate(db, cfg->sql_dir);
	gr_db_free(db);
	if (n == -1) {
		log_warnx("migration failed");
		return 1;
	}
	printf("%d migration%s applied\n", n, n == 1 ? "" : "s");
	return 0;
}

/*
 * Apply the state file (check: the same work, rolled back).  Prints one
 * line per created or updated object and a summary; on any error prints
 * only the error and writes nothing.
 */
static int
cmd_state(struct gr_config *cfg, const char *verb, const char *path)
{
	struct gr_state		*st = NULL;
	struct gr_state_counts	 n;
	struct gr_buf		 report = GR_BUF_INIT;
	struct gr_db		*db = NULL;
	char			 err[1024];
	int			 dry, rc = 1;

	if (strcmp(verb, "apply") == 0)
		dry = 0;
	else if (strcmp(verb, "check") == 0)
		dry = 1;
	else
		usage();
	if (gr_crypto_init() == -1)
		fatalx("cannot initialise libsodium");
	if (gr_config_load_secrets(cfg, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return 1;
	}
	if ((st = gr_state_load(path, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return 1;
	}
	if ((db = gr_db_new(cfg->database_url)) == NULL)
		fatalx("out of memory");
	if (gr_db_connect(db) == -1)
		goto out;
	if (gr_state_apply(db, cfg, st, dry, &report, &n, err,
	    sizeof(err)) == -1) {
		log_warnx("%s: %s", path, err);
		goto out;
	}
	fputs(gr_buf_str(&report), stdout);
	if (dry)
		printf("state check: %zu to create, %zu to update, %zu "
		    "unchanged; nothing written\n", n.created, n.updated,
		    n.unchanged);
	else
		printf("state: %zu created, %zu updated, %zu unchanged\n",
		    n.created, n.updated, n.unchanged);
	rc = 0;
out:
	gr_db_free(db);
	gr_buf_release(&report);
	gr_state_free(st);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct gr_config	 cfg;
	const char		*file = NULL;
	char			 err[512];
	int			 ch, verbose = 0, rc;

	log_init("gradientctl", 0);
	while ((ch = getopt(argc, argv, "f:v")) != -1) {
		switch (ch) {
		case 'f':
			file = optarg;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	log_setverbose(verbose);
	if (strcmp(argv[0], "version") == 0) {
		printf("gradientctl %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (gr_config_load(&cfg, file, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (strcmp(argv[0], "migrate") == 0 && argc == 1)
		rc = cmd_migrate(&cfg);
	else if (strcmp(argv[0], "state") == 0 && argc == 3)
		rc = cmd_state(&cfg, argv[1], argv[2]);
	else
		usage();
	gr_config_release(&cfg);
	return rc;
}
