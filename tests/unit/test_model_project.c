/*
 * test_model_project.c - validators for projects and servers.
 */
#include "config.h"

#include <string.h>

#include <criterion/criterion.h>

#include "src/model_project.h"
#include "src/model_server.h"

Test(model_project, wildcards_accepted)
{
	cr_assert_eq(gr_wildcard_valid("packages.x86_64-linux"), 1);
	cr_assert_eq(gr_wildcard_valid("packages.x86_64-linux.*"), 1);
	cr_assert_eq(gr_wildcard_valid("checks.*.*"), 1);
	cr_assert_eq(gr_wildcard_valid("*"), 1);
	cr_assert_eq(gr_wildcard_valid("packages.*.hello, checks.*.*"), 1);
	cr_assert_eq(gr_wildcard_valid("a,b,c"), 1);
	cr_assert_eq(gr_wildcard_valid("hydraJobs.foo'"), 1);
}

Test(model_project, wildcards_refused)
{
	char	 big[GR_WILDCARD_MAX + 2];

	cr_assert_eq(gr_wildcard_valid(""), 0);
	cr_assert_eq(gr_wildcard_valid("packages."), 0);
	cr_assert_eq(gr_wildcard_valid(".packages"), 0);
	cr_assert_eq(gr_wildcard_valid("a..b"), 0);
	cr_assert_eq(gr_wildcard_valid("a,,b"), 0);
	cr_assert_eq(gr_wildcard_valid("a,"), 0);
	cr_assert_eq(gr_wildcard_valid("1abc"), 0);
	cr_assert_eq(gr_wildcard_valid("a.**"), 0);
	cr_assert_eq(gr_wildcard_valid("a b"), 0);
	cr_assert_eq(gr_wildcard_valid("a;rm -rf /"), 0);
	cr_assert_eq(gr_wildcard_valid("a.\"quoted\""), 0);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(gr_wildcard_valid(big), 0);
}

Test(model_project, branches)
{
	cr_assert_eq(gr_branch_valid("main"), 1);
	cr_assert_eq(gr_branch_valid("release/1.2"), 1);
	cr_assert_eq(gr_branch_valid("-rf"), 0);
	cr_assert_eq(gr_branch_valid("a..b"), 0);
	cr_assert_eq(gr_branch_valid("a b"), 0);
	cr_assert_eq(gr_branch_valid("/abs"), 0);
	cr_assert_eq(gr_branch_valid("x@{1}"), 0);
	cr_assert_eq(gr_branch_valid(""), 0);
}

Test(model_server, fields)
{
	cr_assert_eq(gr_system_valid("x86_64-linux"), 1);
	cr_assert_eq(gr_system_valid("aarch64-darwin"), 1);
	cr_assert_eq(gr_system_valid("x86_64-windows"), 0);
	cr_assert_eq(gr_host_valid("builder.example.com"), 1);
	cr_assert_eq(gr_host_valid("127.0.0.1"), 1);
	cr_assert_eq(gr_host_valid("::1"), 1);
	cr_assert_eq(gr_host_valid("-oProxyCommand=x"), 0);
	cr_assert_eq(gr_host_valid("a b"), 0);
	cr_assert_eq(gr_host_valid(""), 0);
	cr_assert_eq(gr_username_valid("nix-ssh"), 1);
	cr_assert_eq(gr_username_valid("root"), 1);
	cr_assert_eq(gr_username_valid("Root"), 0);
	cr_assert_eq(gr_username_valid("-x"), 0);
	cr_assert_eq(gr_feature_valid("big-parallel"), 1);
	cr_assert_eq(gr_feature_valid("a b"), 0);
}
