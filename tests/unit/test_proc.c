/*
 * test_proc.c - unit tests for src/proc.c, the subprocess runner.
 *
 * These run small real programs (sh, env, cat, head, sleep): the runner's
 * whole job is the fork/exec/poll/kill dance, which a mock would skip.
 * Criterion runs every test in a process of its own, so the signal
 * handlers and masks the tests install do not leak.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "src/proc.h"

static const char *const env_path[] = { "PATH=/usr/bin:/bin", NULL };

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1 when pid is gone or a zombie. */
static int
dead(pid_t pid)
{
	char	 path[64], buf[512], *p;
	FILE	*f;
	size_t	 n;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	return p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/*
 * 1 when pid is gone or a zombie within a second: a killed process lets go
 * of its pipes a moment before the kernel is done with it.
 */
static int
dies(pid_t pid)
{
	struct timespec	 ms = { 0, 10 * 1000 * 1000 };
	double		 end = now_s() + 1.0;

	while (!dead(pid) && now_s() < end)
		nanosleep(&ms, NULL);
	return dead(pid);
}

Test(proc, exit_status)
{
	const char	*argv[] = { "sh", "-c", "exit 7", NULL };
	struct gr_proc	 p;

	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 10, 4096, &p), 0);
	cr_assert_eq(p.status, 7);
	cr_assert_eq(p.timed_out, 0);
	cr_assert_eq(p.truncated, 0);
	gr_proc_release(&p);
}

Test(proc, killed_by_signal_is_128_plus_signal)
{
	const char	*argv[] = { "sh", "-c", "kill -9 $$", NULL };
	struct gr_proc	 p;

	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 10, 4096, &p), 0);
	cr_assert_eq(p.status, 128 + SIGKILL);
	cr_assert_eq(p.timed_out, 0);
	gr_proc_release(&p);
}

Test(proc, stdout_and_stderr_are_captured_apart)
{
	const char	*argv[] = { "sh", "-c",
	    "echo out; echo err >&2; printf more", NULL };
	struct gr_proc	 p;

	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 10, 4096, &p), 0);
	cr_assert_eq(p.status, 0);
	cr_assert_str_eq(gr_buf_str(&p.out), "out\nmore");
	cr_assert_str_eq(gr_buf_str(&p.err), "err\n");
	gr_proc_release(&p);
}

Test(proc, cap_truncates_and_10mb_does_not_deadlock)
{
	const char	*argv[] = { "head", "-c", "10000000", "/dev/zero",
	    NULL };
	struct gr_proc	 p;
	double		 t0 = now_s();

	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 20, 4096, &p), 0);
	cr_assert_eq(p.status, 0);
	cr_assert_eq(p.timed_out, 0);
	cr_assert_eq(p.truncated, 1);
	cr_assert_eq(p.out.len, 4096);
	cr_assert_eq(p.err.len, 0);
	cr_assert_lt(now_s() - t0, 10.0);
	gr_proc_release(&p);
}

Test(proc, output_exactly_at_cap_is_not_truncated)
{
	const char	*argv[] = { "head", "-c", "4096", "/dev/zero", NULL };
	struct gr_proc	 p;

	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 10, 4096, &p), 0);
	cr_assert_eq(p.out.len, 4096);
	cr_assert_eq(p.truncated, 0);
	gr_proc_release(&p);
}

Test(proc, timeout_kills_sleep)
{
	const char	*argv[] = { "sleep", "30", NULL };
	struct gr_proc	 p;
	double		 t0 = now_s(), dt;

	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 1, 4096, &p), 0);
	dt = now_s() - t0;
	cr_assert_eq(p.timed_out, 1);
	cr_assert_eq(p.status, 128 + SIGTERM);
	cr_assert_geq(dt, 0.9);
	cr_assert_lt(dt, 3.0);
	gr_proc_release(&p);
}

Test(proc, timeout_kills_the_whole_group)
{
	const char	*argv[] = { "sh", "-c",
	    "sleep 30 & echo $!; sleep 30", NULL };
	struct gr_proc	 p;
	double		 t0 = now_s(), dt;
	long		 bg;

	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 1, 4096, &p), 0);
	dt = now_s() - t0;
	cr_assert_eq(p.timed_out, 1);
	cr_assert_lt(dt, 3.0);
	bg = strtol(gr_buf_str(&p.out), NULL, 10);
	cr_assert_gt(bg, 1);
	cr_assert(dies((pid_t)bg), "background sleep %ld survived", bg);
	gr_proc_release(&p);
}

Test(proc, term_ignored_then_killed_after_grace)
{
	const char	*argv[] = { "sh", "-c",
	    "trap '' TERM; sleep 30 & wait; sleep 30", NULL };
	struct gr_proc	 p;
	double		 t0 = now_s(), dt;

	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 1, 4096, &p), 0);
	dt = now_s() - t0;
	cr_assert_eq(p.timed_out, 1);
	cr_assert_eq(p.status, 128 + SIGKILL);
	cr_assert_geq(dt, 2.9);
	cr_assert_lt(dt, 5.0);
	gr_proc_release(&p);
}

Test(proc, timeout_applies_after_output_closed)
{
	const char	*argv[] = { "sh", "-c",
	    "exec >&- 2>&-; sleep 30", NULL };
	struct gr_proc	 p;
	double		 t0 = now_s();

	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 1, 4096, &p), 0);
	cr_assert_eq(p.timed_out, 1);
	cr_assert_lt(now_s() - t0, 3.0);
	gr_proc_release(&p);
}

Test(proc, leftovers_are_killed_when_the_program_exits)
{
	const char	*argv[] = { "sh", "-c",
	    "sleep 30 & echo $!", NULL };
	struct gr_proc	 p;
	double		 t0 = now_s();
	long		 bg;

	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 20, 4096, &p), 0);
	cr_assert_eq(p.status, 0);
	cr_assert_eq(p.timed_out, 0);
	cr_assert_lt(now_s() - t0, 3.0);
	bg = strtol(gr_buf_str(&p.out), NULL, 10);
	cr_assert_gt(bg, 1);
	cr_assert(dies((pid_t)bg), "background sleep %ld survived", bg);
	gr_proc_release(&p);
}

Test(proc, env_is_exactly_envp)
{
	const char	*argv[] = { "/usr/bin/env", NULL };
	const char	*envp[] = { "A=1", "B=two words", NULL };
	const char	*none[] = { NULL };
	struct gr_proc	 p;

	cr_assert_eq(setenv("GRADIENT_TEST_LEAK", "x", 1), 0);
	cr_assert_eq(gr_proc_run(argv, envp, NULL, 10, 4096, &p), 0);
	cr_assert_eq(p.status, 0);
	cr_assert_str_eq(gr_buf_str(&p.out), "A=1\nB=two words\n");
	gr_proc_release(&p);

	cr_assert_eq(gr_proc_run(argv, none, NULL, 10, 4096, &p), 0);
	cr_assert_eq(p.status, 0);
	cr_assert_str_eq(gr_buf_str(&p.out), "");
	gr_proc_release(&p);
}

Test(proc, name_is_looked_up_in_envp_path)
{
	const char	*argv[] = { "env", NULL };
	const char	*envp[] = { "PATH=/nonexistent:relative::/usr/bin",
	    NULL };
	struct gr_proc	 p;

	/* Our own PATH must not matter. */
	cr_assert_eq(setenv("PATH", "/nonexistent", 1), 0);
	cr_assert_eq(gr_proc_run(argv, envp, NULL, 10, 4096, &p), 0);
	cr_assert_eq(p.status, 0);
	cr_assert_str_eq(gr_buf_str(&p.out),
	    "PATH=/nonexistent:relative::/usr/bin\n");
	gr_proc_release(&p);
}

Test(proc, missing_program_is_minus_one)
{
	const char	*argv[] = { "gradient-no-such-program", NULL };
	const char	*abs[] = { "/nonexistent/gradient-prog", NULL };
	struct gr_proc	 p;

	errno = 0;
	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 10, 4096, &p), -1);
	cr_assert_eq(errno, ENOENT);
	gr_proc_release(&p);
	errno = 0;
	cr_assert_eq(gr_proc_run(abs, env_path, NULL, 10, 4096, &p), -1);
	cr_assert_eq(errno, ENOENT);
	gr_proc_release(&p);
}

Test(proc, not_executable_is_minus_one)
{
	const char	*argv[] = { "/etc/passwd", NULL };
	struct gr_proc	 p;

	errno = 0;
	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 10, 4096, &p), -1);
	cr_assert_eq(errno, EACCES);
	gr_proc_release(&p);
}

Test(proc, cwd_is_used_and_a_bad_one_is_minus_one)
{
	const char	*argv[] = { "pwd", NULL };
	struct gr_proc	 p;

	cr_assert_eq(gr_proc_run(argv, env_path, "/usr", 10, 4096, &p), 0);
	cr_assert_str_eq(gr_buf_str(&p.out), "/usr\n");
	gr_proc_release(&p);
	errno = 0;
	cr_assert_eq(gr_proc_run(argv, env_path, "/nonexistent/dir", 10,
	    4096, &p), -1);
	cr_assert_eq(errno, ENOENT);
	gr_proc_release(&p);
}

Test(proc, stdin_is_dev_null)
{
	const char	*argv[] = { "cat", NULL };
	struct gr_proc	 p;
	double		 t0 = now_s();

	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 10, 4096, &p), 0);
	cr_assert_eq(p.status, 0);
	cr_assert_eq(p.timed_out, 0);
	cr_assert_str_eq(gr_buf_str(&p.out), "");
	cr_assert_lt(now_s() - t0, 2.0);
	gr_proc_release(&p);
}

Test(proc, runs_in_its_own_process_group)
{
	const char	*argv[] = { "sh", "-c",
	    "echo $$; cut -d' ' -f5 /proc/$$/stat", NULL };
	struct gr_proc	 p;
	long		 pid, pgid;
	char		*end;

	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 10, 4096, &p), 0);
	pid = strtol(gr_buf_str(&p.out), &end, 10);
	pgid = strtol(end, NULL, 10);
	cr_assert_gt(pid, 1);
	cr_assert_eq(pid, pgid);
	cr_assert_neq(pgid, (long)getpgrp());
	gr_proc_release(&p);
}

static volatile sig_atomic_t	 reaped;

static void
reap_all(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		reaped++;
}

Test(proc, caller_handlers_and_mask_do_not_leak_or_steal)
{
	const char	*argv[] = { "grep", "-E", "^Sig(Blk|Ign)",
	    "/proc/self/status", NULL };
	const char	*argv2[] = { "sh", "-c", "exit 3", NULL };
	struct sigaction sa;
	sigset_t	 set, now;
	struct gr_proc	 p;
	unsigned long long blk, ign;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = reap_all;
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGCHLD, &sa, NULL), 0);
	cr_assert_neq(signal(SIGPIPE, SIG_IGN), SIG_ERR);
	cr_assert_neq(signal(SIGINT, SIG_IGN), SIG_ERR);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	cr_assert_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);

	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 10, 4096, &p), 0);
	cr_assert_eq(p.status, 0);
	cr_assert_eq(sscanf(gr_buf_str(&p.out), "SigBlk: %llx SigIgn: %llx",
	    &blk, &ign), 2, "%s", gr_buf_str(&p.out));
	cr_assert_eq(blk, 0);
	/*
	 * Only the caller's own: glibc's reserved signals (32, 33) cannot be
	 * reset with sigaction(2), and a test driver may ignore them; every
	 * glibc program installs its own handlers for those anyway.
	 */
	cr_assert_eq(ign & ((1ULL << (SIGPIPE - 1)) | (1ULL << (SIGINT - 1)) |
	    (1ULL << (SIGCHLD - 1))), 0, "SigIgn %llx", ign);
	gr_proc_release(&p);
	cr_assert_eq(gr_proc_run(argv2, env_path, NULL, 10, 4096, &p), 0);
	cr_assert_eq(p.status, 3);
	gr_proc_release(&p);

	/* The caller's mask is back as it was. */
	cr_assert_eq(sigprocmask(SIG_SETMASK, NULL, &now), 0);
	cr_assert_eq(sigismember(&now, SIGTERM), 1);
	cr_assert_eq(sigismember(&now, SIGCHLD), 0);
	cr_assert_eq(reaped, 0);
}

Test(proc, ignored_sigchld_still_gives_the_status)
{
	const char	*argv[] = { "sh", "-c", "exit 5", NULL };
	struct sigaction sa;
	struct gr_proc	 p;

	cr_assert_neq(signal(SIGCHLD, SIG_IGN), SIG_ERR);
	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 10, 4096, &p), 0);
	cr_assert_eq(p.status, 5);
	gr_proc_release(&p);
	cr_assert_eq(sigaction(SIGCHLD, NULL, &sa), 0);
	cr_assert(sa.sa_handler == SIG_IGN);
}

Test(proc, no_descriptor_leaks_into_the_child)
{
	const char	*argv[] = { "ls", "/proc/self/fd", NULL };
	struct gr_proc	 p;
	int		 fds[2];

	/* A descriptor the caller forgot to mark close-on-exec. */
	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 10, 4096, &p), 0);
	/* 0, 1, 2 and the one ls opened to read the directory. */
	cr_assert_str_eq(gr_buf_str(&p.out), "0\n1\n2\n3\n");
	gr_proc_release(&p);
	close(fds[0]);
	close(fds[1]);
}

Test(proc, release_after_failure_is_safe)
{
	const char	*argv[] = { NULL };
	struct gr_proc	 p;

	cr_assert_eq(gr_proc_run(argv, env_path, NULL, 10, 4096, &p), -1);
	gr_proc_release(&p);
	gr_proc_release(&p);
}
