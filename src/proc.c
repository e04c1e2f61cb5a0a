/*
 * proc.c - run a program with fork and exec (see proc.h).
 *
 * The worker runs git and nix through here and nowhere else: an argv
 * vector, never a shell, an explicit environment, stdin from /dev/null and
 * a process group of its own, so that a timeout can kill everything the
 * program started.  The child reports a failed chdir or exec through a
 * close-on-exec pipe, so "git is not installed" reads as that and not as
 * an exit status of 127.  Between fork and exec the child uses only
 * async-signal-safe calls.
 *
 * The parent waits in poll(2) on both output pipes and, when the kernel
 * has it, on a pidfd of the child, which becomes readable when the child
 * exits; without one it looks with waitid(WNOWAIT) every TICK_MS.  The
 * child is reaped only at the end, so its pid, which is also the number of
 * its process group, cannot be reused while we may still signal the group.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "src/buf.h"
#include "src/log.h"
#include "src/proc.h"

#define KILL_GRACE_MS	2000	/* SIGTERM to SIGKILL */
#define SETTLE_MS	1000	/* after exit: longest drain, longest wait */
#define TICK_MS		100	/* without a pidfd: how often to look */
#define CHUNK		65536
#define DEFAULT_PATH	"/usr/bin:/bin"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC	(1U << 2)
#endif

/* What the child writes to the status pipe when it cannot exec. */
enum child_stage {
	STAGE_SETUP,
	STAGE_CHDIR,
	STAGE_EXEC
};
struct child_err {
	int	 stage;
	int	 err;
};

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The value of PATH in envp, or the default. */
static const char *
env_path(const char *const *envp)
{
	size_t	 i;

	for (i = 0; envp[i] != NULL; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			return envp[i] + 5;
	return DEFAULT_PATH;
}

/*
 * The file to exec for name: name itself when it has a '/', otherwise the
 * first executable regular file dir/name for the absolute directories of
 * PATH.  Returns a string the caller frees, or NULL with errno set: ENOENT
 * (nowhere), EACCES (found but not executable), ENOMEM.
 */
static char *
find_program(const char *name, const char *const *envp)
{
	const char	*path, *p, *end;
	char		*copy;
	struct gr_buf	 cand = GR_BUF_INIT;
	struct stat	 st;
	int		 denied = 0;

	if (*name == '\0') {
		errno = ENOENT;
		return NULL;
	}
	if (strchr(name, '/') != NULL) {
		if ((copy = strdup(name)) == NULL)
			errno = ENOMEM;
		return copy;
	}
	path = env_path(envp);
	for (p = path; *p != '\0'; p = *end == ':' ? end + 1 : end) {
		if ((end = strchr(p, ':')) == NULL)
			end = p + strlen(p);
		if (end == p || *p != '/')
			continue;
		gr_buf_reset(&cand);
		if (gr_buf_add(&cand, p, (size_t)(end - p)) == -1 ||
		    gr_buf_addc(&cand, '/') == -1 ||
		    gr_buf_adds(&cand, name) == -1) {
			gr_buf_release(&cand);
			errno = ENOMEM;
			return NULL;
		}
		if (stat(cand.data, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (access(cand.data, X_OK) == 0)
			return gr_buf_detach(&cand, NULL);
		denied = 1;
	}
	gr_buf_release(&cand);
	errno = denied ? EACCES : ENOENT;
	return NULL;
}

/* Set close-on-exec on every descriptor from 3 up; async-signal-safe. */
static void
cloexec_from3(void)
{
	struct rlimit	 rl;
	int		 fd, max;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
#endif
	max = 4096;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		max = rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur;
	for (fd = 3; fd < max; fd++)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/*
 * In the child, between fork and exec.  Every descriptor we made is
 * close-on-exec; the ones to keep are first moved above 2, so that no dup2
 * overwrites another when the caller runs with 0, 1 or 2 closed.
 */
static void __attribute__((noreturn))
child(const char *path, const char *const *argv, const char *const *envp,
    const char *cwd, int nullfd, int outfd, int errfd, int statfd)
{
	struct sigaction	 sa;
	struct child_err	 ce;
	sigset_t		 none;
	ssize_t			 w;
	int			 sig, stage = STAGE_SETUP;

	/*
	 * Ignored signals survive exec; handled ones are reset by it anyway.
	 * glibc refuses to touch its reserved 32 and 33, which every glibc
	 * program sets up for itself.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);
	if ((statfd = fcntl(statfd, F_DUPFD_CLOEXEC, 3)) == -1)
		_exit(127);
	if (setpgid(0, 0) == -1 ||
	    (nullfd = fcntl(nullfd, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    (outfd = fcntl(outfd, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    (errfd = fcntl(errfd, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    dup2(nullfd, STDIN_FILENO) == -1 ||
	    dup2(outfd, STDOUT_FILENO) == -1 ||
	    dup2(errfd, STDERR_FILENO) == -1)
		goto fail;
	cloexec_from3();
	if (cwd != NULL && chdir(cwd) == -1) {
		stage = STAGE_CHDIR;
		goto fail;
	}
	stage = STAGE_EXEC;
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, (char *const *)argv, (char *const *)envp);
fail:
	ce.stage = stage;
	ce.err = errno;
	w = write(statfd, &ce, sizeof(ce));
	(void)w;
	_exit(127);
}

/*
 * One read from *fdp into b, keeping at most cap bytes in all; the rest is
 * discarded.  Closes the descriptor and sets it to -1 at end of file.
 */
static void
collect(struct gr_proc *p, int *fdp, struct gr_buf *b, size_t cap,
    char *chunk)
{
	ssize_t	 n;
	size_t	 keep;

	if ((n = read(*fdp, chunk, CHUNK)) == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		n = 0;			/* a broken pipe is its end */
	}
	if (n == 0) {
		close(*fdp);
		*fdp = -1;
		return;
	}
	keep = cap > b->len ? cap - b->len : 0;
	if (keep > (size_t)n)
		keep = (size_t)n;
	if (keep < (size_t)n)
		p->truncated = 1;
	if (keep > 0 && gr_buf_add(b, chunk, keep) == -1)
		p->truncated = 1;
}

/*
 * Read what is ready on the pipes, waiting at most wait_ms (-1: no limit)
 * for something to happen.  Returns how many descriptors had news.
 */
static int
pump(struct gr_proc *p, int *outfd, int *errfd, int pidfd, int wait_ms,
    size_t cap, char *chunk)
{
	struct pollfd	 pfd[3];
	int		 n;

	pfd[0].fd = *outfd;
	pfd[1].fd = *errfd;
	pfd[2].fd = pidfd;
	pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;
	pfd[0].revents = pfd[1].revents = pfd[2].revents = 0;
	if ((n = poll(pfd, 3, wait_ms)) <= 0)
		return 0;		/* timeout or EINTR: caller loops */
	if (pfd[0].revents != 0)
		collect(p, outfd, &p->out, cap, chunk);
	if (pfd[1].revents != 0)
		collect(p, errfd, &p->err, cap, chunk);
	return n;
}

/* 1 once the child has exited; it stays a zombie until waitpid. */
static int
exited(pid_t pid)
{
	siginfo_t	 si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return errno == ECHILD;	/* reaped behind our back */
	return si.si_pid == pid;
}

/* Milliseconds from now until t, as a poll(2) timeout. */
static int
until(int64_t t, int64_t now)
{
	if (t <= now)
		return 0;
	return t - now > INT_MAX ? INT_MAX : (int)(t - now);
}

/* The process group of the program being run, for gr_proc_kill(). */
static volatile sig_atomic_t	 running_pgid;

void
gr_proc_kill(void)
{
	pid_t	 pg = (pid_t)running_pgid;

	if (pg > 0)
		(void)killpg(pg, SIGKILL);
}

int
gr_proc_run(const char *const *argv, const char *const *envp,
    const char *cwd, int timeout, size_t cap, struct gr_proc *p)
{
	struct sigaction	 dfl, oldchld;
	struct child_err	 ce;
	sigset_t		 all, hold, old, during;
	char			*path = NULL, *chunk = NULL;
	int			 outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int			 statp[2] = { -1, -1 };
	int			 nullfd = -1, pidfd = -1, wstatus, saved;
	int			 masked = 0, chld_changed = 0, rc = -1;
	int			 termed = 0, killed = 0, swept = 0;
	int64_t			 now, next, deadline = 0, kill_at = 0;
	int64_t			 settle = 0;
	ssize_t			 n;
	pid_t			 pid = -1, w;

	memset(p, 0, sizeof(*p));
	if (argv == NULL || argv[0] == NULL || envp == NULL) {
		errno = EINVAL;
		log_warnx("gr_proc_run: no program");
		return -1;
	}
	if ((path = find_program(argv[0], envp)) == NULL) {
		log_warn("cannot run %s", argv[0]);
		return -1;
	}
	if ((chunk = malloc(CHUNK)) == NULL) {
		log_warn("cannot run %s", argv[0]);
		goto fail;
	}
	if ((nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("/dev/null");
		goto fail;
	}
	if (pipe2(outp, O_CLOEXEC) == -1 || pipe2(errp, O_CLOEXEC) == -1 ||
	    pipe2(statp, O_CLOEXEC) == -1) {
		log_warn("pipe2");
		goto fail;
	}

	/*
	 * Keep SIGCHLD blocked until the child is reaped, and undo an
	 * ignored SIGCHLD, which would have the kernel reap it for us.
	 */
	sigemptyset(&hold);
	sigaddset(&hold, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &hold, &old) == -1) {
		log_warn("sigprocmask");
		goto fail;
	}
	masked = 1;
	during = old;
	sigaddset(&during, SIGCHLD);
	if (sigaction(SIGCHLD, NULL, &oldchld) == 0 &&
	    (oldchld.sa_handler == SIG_IGN ||
	    (oldchld.sa_flags & SA_NOCLDWAIT) != 0)) {
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		if (sigaction(SIGCHLD, &dfl, NULL) == 0)
			chld_changed = 1;
	}

	/* No handler of the caller may run in the child before exec. */
	sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	pid = fork();
	if (pid == 0)
		child(path, argv, envp, cwd, nullfd, outp[1], errp[1],
		    statp[1]);
	saved = errno;
	(void)sigprocmask(SIG_SETMASK, &during, NULL);
	if (pid == -1) {
		errno = saved;
		log_warn("fork");
		goto fail;
	}
	close(outp[1]);
	close(errp[1]);
	close(statp[1]);
	close(nullfd);
	outp[1] = errp[1] = statp[1] = nullfd = -1;

	/* End of file: the exec happened.  A record: it did not. */
	while ((n = read(statp[0], &ce, sizeof(ce))) == -1 && errno == EINTR)
		;
	if (n != 0) {
		if (n != (ssize_t)sizeof(ce)) {
			ce.stage = STAGE_SETUP;
			ce.err = n == -1 ? errno : EIO;
		}
		while (waitpid(pid, &wstatus, 0) == -1 && errno == EINTR)
			;
		errno = ce.err;
		if (ce.stage == STAGE_CHDIR)
			log_warn("cannot run %s: chdir %s", argv[0], cwd);
		else if (ce.stage == STAGE_EXEC)
			log_warn("cannot run %s: exec %s", argv[0], path);
		else
			log_warn("cannot run %s: child setup", argv[0]);
		goto fail;
	}

	running_pgid = pid;	/* the child leads its own group */
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	now = now_ms();
	if (timeout > 0)
		deadline = now + (int64_t)timeout * 1000;
	for (;;) {
		now = now_ms();
		if (!swept && exited(pid)) {
			/*
			 * Everything the program wrote is in the pipes now:
			 * take it, then kill what it left in its group, and
			 * give that a moment to let go of the pipes.
			 */
			settle = now + SETTLE_MS;
			while ((outp[0] != -1 || errp[0] != -1) &&
			    now_ms() < settle &&
			    pump(p, &outp[0], &errp[0], -1, 0, cap, chunk) > 0)
				;
			(void)killpg(pid, SIGKILL);
			swept = 1;
			settle = now_ms() + SETTLE_MS;
			continue;
		}
		if (swept) {
			if ((outp[0] == -1 && errp[0] == -1) || now >= settle)
				break;
			pump(p, &outp[0], &errp[0], -1, until(settle, now),
			    cap, chunk);
			continue;
		}
		if (deadline != 0 && !termed && now >= deadline) {
			p->timed_out = 1;
			(void)killpg(pid, SIGTERM);
			termed = 1;
			kill_at = now + KILL_GRACE_MS;
		}
		if (termed && !killed && now >= kill_at) {
			(void)killpg(pid, SIGKILL);
			killed = 1;
		}
		next = pidfd == -1 ? now + TICK_MS : INT64_MAX;
		if (deadline != 0 && !termed && deadline < next)
			next = deadline;
		if (termed && !killed && kill_at < next)
			next = kill_at;
		pump(p, &outp[0], &errp[0], pidfd,
		    next == INT64_MAX ? -1 : until(next, now), cap, chunk);
	}

	while ((w = waitpid(pid, &wstatus, 0)) == -1 && errno == EINTR)
		;
	running_pgid = 0;
	if (w == -1) {
		log_warn("waitpid %s", argv[0]);
		p->status = -1;
	} else if (WIFEXITED(wstatus))
		p->status = WEXITSTATUS(wstatus);
	else if (WIFSIGNALED(wstatus))
		p->status = 128 + WTERMSIG(wstatus);
	else
		p->status = -1;
	rc = 0;
fail:
	saved = errno;
	if (chld_changed)
		(void)sigaction(SIGCHLD, &oldchld, NULL);
	if (masked)
		(void)sigprocmask(SIG_SETMASK, &old, NULL);
	if (pidfd != -1)
		close(pidfd);
	if (nullfd != -1)
		close(nullfd);
	if (outp[0] != -1)
		close(outp[0]);
	if (outp[1] != -1)
		close(outp[1]);
	if (errp[0] != -1)
		close(errp[0]);
	if (errp[1] != -1)
		close(errp[1]);
	if (statp[0] != -1)
		close(statp[0]);
	if (statp[1] != -1)
		close(statp[1]);
	free(chunk);
	free(path);
	if (rc == -1)
		gr_proc_release(p);
	errno = saved;
	return rc;
}

void
gr_proc_release(struct gr_proc *p)
{
	gr_buf_release(&p->out);
	gr_buf_release(&p->err);
}
