/*
 * git_probe.c - run gr_git_ls_remote() once, for the integration tests.
 *
 *	git_probe url [private_key_file [known_hosts_file]]
 *
 * Prints "ok <refs>" and then the known_hosts content after the run, or
 * "error <message>".  An empty file name stands for "none".  Exits 0 on
 * ok, 1 on error, 2 on bad usage.  The timeout is GIT_PROBE_TIMEOUT
 * seconds (default 20).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/git.h"
#include "src/log.h"

static char *
slurp(const char *path)
{
	FILE	*f;
	char	*s;
	long	 n;

	if (path == NULL || *path == '\0')
		return NULL;
	if ((f = fopen(path, "r")) == NULL ||
	    fseek(f, 0, SEEK_END) == -1 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1 ||
	    (s = malloc((size_t)n + 1)) == NULL)
		fatal("%s", path);
	if (fread(s, 1, (size_t)n, f) != (size_t)n)
		fatal("%s", path);
	s[n] = '\0';
	fclose(f);
	return s;
}

int
main(int argc, char *argv[])
{
	char		*key, *kh, *out = NULL, err[512];
	const char	*t;
	int		 refs = 0, timeout = 20, rc;

	log_init("git_probe", 0);
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: git_probe url [key_file "
		    "[known_hosts_file]]\n");
		return 2;
	}
	if ((t = getenv("GIT_PROBE_TIMEOUT")) != NULL)
		timeout = atoi(t);
	key = slurp(argc > 2 ? argv[2] : NULL);
	kh = slurp(argc > 3 ? argv[3] : NULL);
	rc = gr_git_ls_remote(argv[1], key, kh, timeout, &out, &refs, err,
	    sizeof(err));
	if (rc == 0)
		printf("ok %d\n%s", refs, out);
	else
		printf("error %s\n", err);
	free(out);
	free(key);
	free(kh);
	return rc == 0 ? 0 : 1;
}
