/*
 * test_git.c - unit tests for src/git.c: URL screening and ls-remote.
 *
 * The URL tests are pure.  The ls-remote tests make a repository in a
 * temporary directory with the real git and reach it over file://, which
 * needs no server; SSH (with the key and known_hosts files and their
 * clean-up) and git:// are covered by the integration test
 * tests/integration/test_git_remote.py.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "src/git.h"
#include "src/proc.h"

static char	 tmp[64];
static char	 repo[128];

/* Run git with a fixed identity; the test's own environment is ignored. */
static void
git(const char *a1, const char *a2, const char *a3, const char *a4,
    const char *a5, const char *a6)
{
	const char	*argv[] = { "git", a1, a2, a3, a4, a5, a6, NULL };
	char		 home[96];
	const char	*envp[] = { "PATH=/usr/bin:/bin", home,
	    "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=Test",
	    "GIT_AUTHOR_EMAIL=test@example.org", "GIT_COMMITTER_NAME=Test",
	    "GIT_COMMITTER_EMAIL=test@example.org", "LC_ALL=C", NULL };
	struct gr_proc	 p;

	snprintf(home, sizeof(home), "HOME=%s", tmp);
	cr_assert_eq(gr_proc_run(argv, envp, NULL, 30, 65536, &p), 0);
	cr_assert_eq(p.status, 0, "git %s: %s", a1, gr_buf_str(&p.err));
	gr_proc_release(&p);
}

static void
rm_rf(const char *dir)
{
	const char	*argv[] = { "rm", "-rf", "--", dir, NULL };
	const char	*envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct gr_proc	 p;

	if (gr_proc_run(argv, envp, NULL, 30, 4096, &p) == 0)
		gr_proc_release(&p);
}

static void
make_repo(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/gradient-test-git.XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(repo, sizeof(repo), "%s/repo", tmp);
	git("init", "-q", "-b", "main", repo, NULL);
	git("-C", repo, "commit", "--allow-empty", "-qminit", NULL);
	git("-C", repo, "tag", "-a", "-mv1", "v1");
	git("-C", repo, "tag", "v2", NULL, NULL);
}

static void
remove_repo(void)
{
	if (tmp[0] != '\0')
		rm_rf(tmp);
}

Test(git, url_valid_accepts_the_allowed_forms)
{
	static const char *const ok[] = {
		"https://github.com/org/repo.git",
		"http://example.org/r",
		"https://user:token@example.org:8443/org/repo",
		"git://127.0.0.1:9418/repo.git",
		"ssh://git@github.com/org/repo.git",
		"ssh://root@127.0.0.1:2222/tmp/repo.git",
		"ssh://git@[::1]:22/repo",
		"ssh://example.org/repo",
		"file:///tmp/repo.git",
		"git@github.com:org/repo.git",
		"deploy_user.1@host-1.example.org:repo",
		"git@[::1]:repo",
	};
	size_t	 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_assert_eq(gr_git_url_valid(ok[i]), 1, "%s", ok[i]);
}

Test(git, url_valid_refuses_options_helpers_and_garbage)
{
	static const char *const bad[] = {
		"-oProxyCommand=x",
		"ext::sh -c x",
		"fd::1",
		"http://x\ny",
		"http://x\ty",
		"http://x\x7fy",
		"",
		"ftp://x",
		"transport::https://x",
		"https+ext::x",
		"https://x/EXT::y",
		"ssh://-oProxyCommand=x/repo",
		"ssh://-x@host/repo",
		"git@-oProxyCommand=x:repo",
		"git@host:-upload-pack=x",
		"host:path",
		"@host:path",
		"git@host:",
		"git@host/x:path",
		"file://",
		"file://relative",
		"https://",
		"https:///path",
		"https://exa mple.org/x",
		"https://host:99999999/x",
		"/local/path",
		"relative/path",
		"git@[::1:repo",
	};
	char	*big;
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(gr_git_url_valid(bad[i]), 0, "%s", bad[i]);
	cr_assert_eq(gr_git_url_valid(NULL), 0);

	big = malloc(2001);
	cr_assert_not_null(big);
	memcpy(big, "https://example.org/", 20);
	memset(big + 20, 'a', 2000 - 20);
	big[2000] = '\0';
	cr_assert_eq(gr_git_url_valid(big), 0);
	big[1024] = '\0';
	cr_assert_eq(gr_git_url_valid(big), 1);
	big[1024] = 'a';
	big[1025] = '\0';
	cr_assert_eq(gr_git_url_valid(big), 0);
	free(big);
}

Test(git, url_is_ssh)
{
	cr_assert_eq(gr_git_url_is_ssh("ssh://git@github.com/o/r.git"), 1);
	cr_assert_eq(gr_git_url_is_ssh("git@github.com:o/r.git"), 1);
	cr_assert_eq(gr_git_url_is_ssh("https://github.com/o/r.git"), 0);
	cr_assert_eq(gr_git_url_is_ssh("http://github.com/o/r.git"), 0);
	cr_assert_eq(gr_git_url_is_ssh("git://github.com/o/r.git"), 0);
	cr_assert_eq(gr_git_url_is_ssh("file:///tmp/r.git"), 0);
	cr_assert_eq(gr_git_url_is_ssh(NULL), 0);
}

Test(git, ls_remote_local_repository, .init = make_repo,
    .fini = remove_repo)
{
	char	 url[160], err[512], *kh = NULL;
	int	 refs = -1;

	snprintf(url, sizeof(url), "file://%s", repo);
	cr_assert_eq(gr_git_ls_remote(url, NULL, NULL, 30, &kh, &refs, err,
	    sizeof(err)), 0, "%s", err);
	/* main, v1 (annotated: its peeled line is not counted), v2 */
	cr_assert_eq(refs, 3);
	cr_assert_not_null(kh);
	cr_assert_str_eq(kh, "");
	free(kh);

	/* Another transport leaves known_hosts as it was. */
	cr_assert_eq(gr_git_ls_remote(url, NULL, "host ssh-ed25519 AAAA\n",
	    30, &kh, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(kh, "host ssh-ed25519 AAAA\n");
	free(kh);

	/* And the out-parameters are optional. */
	cr_assert_eq(gr_git_ls_remote(url, NULL, NULL, 30, NULL, NULL, NULL,
	    0), 0);
}

Test(git, ls_remote_missing_repository_gives_gits_message,
    .init = make_repo, .fini = remove_repo)
{
	char	 url[160], err[512], *kh = (char *)"unchanged";
	int	 refs = -1;

	snprintf(url, sizeof(url), "file://%s/nope", tmp);
	cr_assert_eq(gr_git_ls_remote(url, NULL, NULL, 30, &kh, &refs, err,
	    sizeof(err)), -1);
	cr_assert_null(kh);
	cr_assert_eq(refs, 0);
	cr_assert_not_null(strstr(err,
	    "does not appear to be a git repository"), "%s", err);
	/* The advice lines are dropped; what is left is short, one line
	 * per message. */
	cr_assert_null(strstr(err, "Please make sure"), "%s", err);
	cr_assert_lt(strlen(err), 401);
}

Test(git, ls_remote_invalid_url_runs_nothing)
{
	char	 err[128];
	int	 refs = -1;

	cr_assert_eq(gr_git_ls_remote("ext::sh -c touch% /tmp/x", NULL, NULL,
	    30, NULL, &refs, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "invalid repository URL");
	cr_assert_eq(refs, 0);
}

Test(git, ls_remote_error_fits_a_small_buffer, .init = make_repo,
    .fini = remove_repo)
{
	char	 url[160], err[16];

	snprintf(url, sizeof(url), "file://%s/nope", tmp);
	cr_assert_eq(gr_git_ls_remote(url, NULL, NULL, 30, NULL, NULL, err,
	    sizeof(err)), -1);
	cr_assert_eq(strlen(err), sizeof(err) - 1);
}

Test(git, ls_remote_leaves_no_temporary_directory, .init = make_repo,
    .fini = remove_repo)
{
	char		 url[160], err[512];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	/* Our files go under TMPDIR: point it at the test's directory. */
	cr_assert_eq(setenv("TMPDIR", tmp, 1), 0);
	snprintf(url, sizeof(url), "file://%s", repo);
	cr_assert_eq(gr_git_ls_remote(url, NULL, NULL, 30, NULL, NULL, err,
	    sizeof(err)), 0, "%s", err);
	snprintf(url, sizeof(url), "file://%s/nope", tmp);
	cr_assert_eq(gr_git_ls_remote(url, NULL, NULL, 30, NULL, NULL, err,
	    sizeof(err)), -1);
	d = opendir(tmp);
	cr_assert_not_null(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "gradient-git.", 13) == 0)
			n++;
	closedir(d);
	cr_assert_eq(n, 0);
}
