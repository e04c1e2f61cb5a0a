/*
 * git.h - reach a project's repository with git(1).
 *
 * Repository URLs come from users, so gr_git_url_valid() admits only the
 * transports we mean to support and nothing git would read as an option or
 * a remote helper ("ext::", "fd::").  gr_git_ls_remote() runs git through
 * gr_proc_run() with a minimal environment, and for SSH with the
 * organisation's deploy key and known_hosts written to a private temporary
 * directory that is removed before it returns.
 */
#ifndef GRADIENT_GIT_H
#define GRADIENT_GIT_H

#include <stddef.h>

#include "src/proc.h"

#define GR_GIT_URL_MAX	1024
#define GR_GIT_MAXARGS	16

/*
 * 1 if url is an allowed repository URL: https://, http://, git://,
 * ssh://, file://, or scp-like user@host:path; never starting with '-', no
 * "ext::"/"fd::", no control characters, at most 1024 bytes.
 */
int	 gr_git_url_valid(const char *url);
/* 1 if url goes over SSH (ssh:// or scp-like). */
int	 gr_git_url_is_ssh(const char *url);

/*
 * Run "git ls-remote --heads --tags -- URL" with a minimal environment:
 * PATH=/usr/bin:/bin, HOME=<tmpdir>, GIT_TERMINAL_PROMPT=0,
 * GIT_ALLOW_PROTOCOL=file:git:http:https:ssh, GIT_CONFIG_NOSYSTEM=1,
 * LC_ALL=C, and for SSH URLs GIT_SSH_COMMAND="ssh -F /dev/null
 * -i <tmpdir>/key -o IdentitiesOnly=yes -o BatchMode=yes
 * -o StrictHostKeyChecking=accept-new
 * -o UserKnownHostsFile=<tmpdir>/known_hosts
 * -o GlobalKnownHostsFile=/dev/null -o HashKnownHosts=no
 * -o ConnectTimeout=<t>", where the key (mode 0600) and known_hosts are
 * written from private_pem / known_hosts (either may be NULL; without a key
 * ssh offers none) into a fresh mkdtemp directory under TMPDIR (or /tmp)
 * that is removed afterwards.
 *
 * On success returns 0, gives in *known_hosts_out (when known_hosts_out is
 * not NULL) the known_hosts content after the run, which the caller frees
 * and which now includes a newly accepted host key (for other transports:
 * a copy of known_hosts, "" for NULL), and in *refs (when not NULL) the
 * number of refs listed, peeled tags not counted.  On failure returns -1,
 * sets *known_hosts_out to NULL, and writes to err (errsz bytes) git's
 * stderr (its last meaningful lines, trimmed, at most ~400 bytes, printable
 * ASCII, with the temporary paths not revealed), or "timed out after N s".
 */
int	 gr_git_ls_remote(const char *url, const char *private_pem,
	    const char *known_hosts, int timeout, char **known_hosts_out,
	    int *refs, char *err, size_t errsz);

/*
 * Run "git ARGS..." in cwd (NULL: the private temporary directory) with
 * the environment above; ssh says whether to set up GIT_SSH_COMMAND with
 * private_pem and known_hosts.  On success returns 0 and, when result is
 * not NULL, hands over the finished process (its stdout in result->out),
 * which the caller gr_proc_release()s.  Errors as for gr_git_ls_remote.
 */
int	 gr_git_run(const char *const *args, const char *cwd, int ssh,
	    const char *private_pem, const char *known_hosts, int timeout,
	    char **known_hosts_out, struct gr_proc *result, char *err,
	    size_t errsz);

#endif /* GRADIENT_GIT_H */
