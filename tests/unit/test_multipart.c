/*
 * test_multipart.c - src/multipart.c: the Content-Type boundary and the
 * body parser, with well-formed uploads (as curl and browsers send them)
 * and hostile ones.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "src/multipart.h"

static char			 err[256];
static struct gr_multipart	 mp;

static int
parse(const char *body, size_t len, const char *boundary, size_t max)
{
	gr_multipart_release(&mp);
	err[0] = '\0';
	return gr_multipart_parse(body, len, boundary, max, &mp, err,
	    sizeof(err));
}

static int
parses(const char *body, const char *boundary)
{
	return parse(body, strlen(body), boundary, 16);
}

static void
teardown(void)
{
	gr_multipart_release(&mp);
}

TestSuite(multipart, .fini = teardown);

Test(multipart, boundary_plain_and_quoted)
{
	char	 b[GR_MULTIPART_BOUNDARY_MAX + 1];

	cr_assert_eq(gr_multipart_boundary("multipart/form-data; boundary=abc",
	    b, sizeof(b), err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(b, "abc");
	cr_assert_eq(gr_multipart_boundary("Multipart/Form-Data;charset=utf-8;"
	    " BOUNDARY=\"a b'()+_,-./:=?\"", b, sizeof(b), err, sizeof(err)),
	    0, "%s", err);
	cr_assert_str_eq(b, "a b'()+_,-./:=?");
	cr_assert_eq(gr_multipart_boundary("multipart/form-data ; boundary="
	    "------------------------d74496d66958873e", b, sizeof(b), err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(b, "------------------------d74496d66958873e");
}

Test(multipart, boundary_refused)
{
	char		 b[GR_MULTIPART_BOUNDARY_MAX + 1], big[200];
	const char	*bad[] = {
		NULL,
		"",
		"application/json",
		"multipart/form-data",
		"multipart/form-data;",
		"multipart/form-datax; boundary=a",
		"multipart/mixed; boundary=a",
		"multipart/form-data; boundary=",
		"multipart/form-data; boundary=\"\"",
		"multipart/form-data; boundary=\"abc",
		"multipart/form-data; boundary=a; boundary=b",
		"multipart/form-data; boundary=\"ends with space \"",
		"multipart/form-data; boundary=a\x01b",
		"multipart/form-data; boundary=\"a\\\"b\"",
		"multipart/form-data; boundary=a<b",
		"multipart/form-data boundary=a",
	};
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(gr_multipart_boundary(bad[i], b, sizeof(b), err,
		    sizeof(err)), -1, "accepted %s", bad[i] != NULL ? bad[i] :
		    "NULL");
	snprintf(big, sizeof(big), "multipart/form-data; boundary=%071d", 0);
	cr_assert_eq(gr_multipart_boundary(big, b, sizeof(b), err,
	    sizeof(err)), -1);
	snprintf(big, sizeof(big), "multipart/form-data; boundary=%070d", 0);
	cr_assert_eq(gr_multipart_boundary(big, b, sizeof(b), err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(strlen(b), 70);
}

Test(multipart, curl_style_upload)
{
	const char	 body[] =
	    "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"organization\"\r\n"
	    "\r\n"
	    "acme\r\n"
	    "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"file:flake.nix\"; "
	    "filename=\"flake.nix\"\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "\r\n"
	    "{ outputs = _: { }; }\n\r\n"
	    "--XyZ\r\n"
	    "content-disposition: FORM-DATA; name=empty\r\n"
	    "\r\n"
	    "\r\n"
	    "--XyZ--\r\n";

	cr_assert_eq(parses(body, "XyZ"), 0, "%s", err);
	cr_assert_eq(mp.nparts, 3);
	cr_assert_str_eq(mp.parts[0].name, "organization");
	cr_assert_null(mp.parts[0].filename);
	cr_assert_eq(mp.parts[0].len, 4);
	cr_assert_eq(memcmp(mp.parts[0].data, "acme", 4), 0);
	cr_assert_str_eq(mp.parts[1].name, "file:flake.nix");
	cr_assert_str_eq(mp.parts[1].filename, "flake.nix");
	cr_assert_eq(mp.parts[1].len, strlen("{ outputs = _: { }; }\n"));
	cr_assert_str_eq(mp.parts[2].name, "empty");
	cr_assert_eq(mp.parts[2].len, 0);
}

Test(multipart, binary_content_with_crlf_and_nul)
{
	const char	 body[] =
	    "--b\r\n"
	    "Content-Disposition: form-data; name=\"f\"\r\n\r\n"
	    "\r\n--\0\r\n-b\r\n--bX"
	    "\r\n--b--";
	const char	 good[] =
	    "--b\r\nContent-Disposition: form-data; name=f\r\n\r\n"
	    "A\0B\r\n--\r\n--b--";

	/* "--bX" is the delimiter followed by junk. */
	cr_assert_eq(parse(body, sizeof(body) - 1, "b", 4), -1);
	cr_assert_eq(parse(good, sizeof(good) - 1, "b", 4), 0, "%s", err);
	cr_assert_eq(mp.nparts, 1);
	cr_assert_eq(mp.parts[0].len, 7);
	cr_assert_eq(memcmp(mp.parts[0].data, "A\0B\r\n--", 7), 0);
}

Test(multipart, preamble_and_epilogue_are_ignored)
{
	cr_assert_eq(parses("This is a preamble.\r\n--b\r\n"
	    "Content-Disposition: form-data; name=a\r\n\r\nx\r\n--b--\r\n"
	    "epilogue", "b"), 0, "%s", err);
	cr_assert_eq(mp.nparts, 1);
	cr_assert_str_eq(mp.parts[0].name, "a");
}

Test(multipart, quoted_names_with_escapes_and_utf8)
{
	cr_assert_eq(parses("--b\r\nContent-Disposition: form-data; "
	    "name=\"file:dir/a \\\"q\\\" \xc3\xa9.nix\"\r\n\r\nx\r\n--b--",
	    "b"), 0, "%s", err);
	cr_assert_str_eq(mp.parts[0].name, "file:dir/a \"q\" \xc3\xa9.nix");
}

Test(multipart, empty_form_has_no_parts)
{
	cr_assert_eq(parses("--b--\r\n", "b"), 0, "%s", err);
	cr_assert_eq(mp.nparts, 0);
}

/* A part with this Content-Disposition value, then the close delimiter. */
#define CD(v)	"--b\r\nContent-Disposition: " v "\r\n\r\nx\r\n--b--"

Test(multipart, hostile_bodies_are_refused)
{
	const char	*bad[] = {
		"",
		"no boundary at all",
		"--other\r\nContent-Disposition: form-data; name=a\r\n\r\n"
		    "x\r\n--other--",
		/* no close delimiter */
		"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx",
		"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n"
		    "--b",
		"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n",
		/* headers never end */
		"--b\r\nContent-Disposition: form-data; name=a\r\n",
		"--b\r\nContent-Disposition: form-data; name=a",
		/* no or bad Content-Disposition */
		"--b\r\n\r\nx\r\n--b--",
		"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",
		CD("attachment; name=a"),
		CD("form-data"),
		CD("form-data; name=\"\""),
		CD("form-data; name=\"a"),
		CD("form-data; name=a; name=b"),
		CD("form-data; name=a; filename=b; FILENAME=c"),
		CD("form-data; name=\"a\x01\""),
		CD("form-data; name=\"\xff\xfe\""),
		CD("form-data; name=a junk"),
		CD("form-data; =a"),
		CD("form-data; name"),
		"--b\r\nContent-Disposition: form-data; name=a\r\n"
		    "Content-Disposition: form-data; name=b\r\n\r\nx\r\n--b--",
		/* folding, bare LF, header without colon, NUL in a header */
		CD("form-data;\r\n name=a"),
		CD("form-data; name=a\nX: y"),
		"--b\r\nContent-Disposition form-data; name=a\r\n\r\nx\r\n"
		    "--b--",
		/* junk after the boundary on its line */
		"--bjunk\r\nContent-Disposition: form-data; name=a\r\n\r\n"
		    "x\r\n--b--",
		"--b\nContent-Disposition: form-data; name=a\n\nx\n--b--",
	};
	const char	 nul[] = CD("form-data; name=\"a\0b\"");
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parses(bad[i], "b"), -1, "case %zu accepted", i);
		cr_assert_neq(err[0], '\0', "case %zu: no message", i);
		cr_assert_eq(mp.nparts, 0);
		cr_assert_null(mp.parts);
	}
	cr_assert_eq(parse(nul, sizeof(nul) - 1, "b", 4), -1);
}

Test(multipart, part_limit)
{
	const char	 one[] = "--b\r\nContent-Disposition: form-data; "
			    "name=f\r\n\r\nx\r\n";
	char		*body;
	size_t		 i, n = 300, len = 0;

	body = malloc(n * sizeof(one) + 16);
	cr_assert_not_null(body);
	for (i = 0; i < n; i++) {
		memcpy(body + len, one, sizeof(one) - 1);
		len += sizeof(one) - 1;
	}
	memcpy(body + len, "--b--", 5);
	len += 5;
	cr_assert_eq(parse(body, len, "b", 300), 0, "%s", err);
	cr_assert_eq(mp.nparts, 300);
	cr_assert_eq(parse(body, len, "b", 299), -1);
	cr_assert_str_eq(err, "more than 299 parts");
	free(body);
}

Test(multipart, huge_header_block_is_refused)
{
	char	*body;
	size_t	 len = 0, i;

	body = malloc(40000);
	cr_assert_not_null(body);
	len += (size_t)sprintf(body, "--b\r\nContent-Disposition: form-data; "
	    "name=a\r\n");
	for (i = 0; i < 1000; i++)
		len += (size_t)sprintf(body + len, "X-Filler: 0123456789\r\n");
	len += (size_t)sprintf(body + len, "\r\nx\r\n--b--");
	cr_assert_eq(parse(body, len, "b", 4), -1);
	free(body);
}

Test(multipart, truncated_at_every_byte)
{
	const char	 body[] =
	    "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"a\"; filename=\"b\"\r\n"
	    "\r\n"
	    "value\r\n"
	    "--XyZ--";
	size_t		 n;

	/* Every proper prefix fails cleanly (ASan checks the reads). */
	for (n = 0; n < sizeof(body) - 1; n++) {
		char	*copy = malloc(n > 0 ? n : 1);

		cr_assert_not_null(copy);
		memcpy(copy, body, n);
		cr_assert_eq(parse(copy, n, "XyZ", 4), -1, "prefix %zu", n);
		free(copy);
	}
	cr_assert_eq(parse(body, sizeof(body) - 1, "XyZ", 4), 0, "%s", err);
}
