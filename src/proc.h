/*
 * proc.h - the one way Gradient runs another program.
 *
 * gr_proc_run() forks and execs an argv vector (never a shell) with an
 * explicit environment, stdin from /dev/null, in a process group of its
 * own, and collects stdout and stderr into two gr_bufs of at most cap bytes
 * each; whatever is beyond the cap is read and thrown away, so the child
 * never blocks on a full pipe.  When the timeout passes, the whole group
 * gets SIGTERM and, 2 s later, SIGKILL.  When the program exits, whatever
 * it left running in its group is killed, so nothing outlives the call.
 *
 * The struct belongs to the caller; gr_proc_release() frees the buffers
 * and may be called whatever gr_proc_run() returned.
 */
#ifndef GRADIENT_PROC_H
#define GRADIENT_PROC_H

#include <stddef.h>

#include "src/buf.h"

struct gr_proc {
	int		 status;	/* exit status, or 128+signal */
	int		 timed_out;	/* killed by the timeout */
	struct gr_buf	 out;		/* stdout, at most cap bytes */
	struct gr_buf	 err;		/* stderr, at most cap bytes */
	int		 truncated;	/* output beyond cap was dropped */
};

/*
 * Run argv[0] (a path, or a name looked up in PATH of envp) with exactly
 * the environment envp (NULL-terminated "K=V" strings), stdin /dev/null, in
 * a new process group, in directory cwd (NULL: unchanged).  Kill the whole
 * group (SIGTERM, then SIGKILL after 2 s) when timeout seconds pass
 * (timeout <= 0: no limit).  Returns 0 when the program ran (look at
 * status), -1 when it could not be started (errno set, errno-based message
 * logged; ENOENT for a program that is not there).  Caller calls
 * gr_proc_release.
 *
 * The name lookup uses the PATH in envp ("/usr/bin:/bin" when envp has
 * none), skipping empty and relative entries; glibc's execvpe(3) would
 * search the caller's own PATH instead.  SIGCHLD is held blocked for the
 * duration of the call, and an ignored SIGCHLD is set to the default
 * meanwhile, so that neither a handler nor SA_NOCLDWAIT can take the exit
 * status away.
 */
int	 gr_proc_run(const char *const *argv, const char *const *envp,
	    const char *cwd, int timeout, size_t cap, struct gr_proc *);
void	 gr_proc_release(struct gr_proc *);
/*
 * Kill the process group of the program gr_proc_run() is running now, if
 * any.  Async-signal-safe: a SIGTERM handler calls it before _exit(2) so
 * that nothing the run started outlives the caller.
 */
void	 gr_proc_kill(void);

#endif /* GRADIENT_PROC_H */
