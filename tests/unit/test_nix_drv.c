/*
 * test_nix_drv.c - unit tests for src/nix_drv.c, the .drv (ATerm) parser.
 *
 * The two fixtures of NIX-NOTES §5.1 are copied byte for byte (their store
 * paths were recomputed from these bytes) and checked field by field.  The
 * rest is hostile input: every truncation, hand-made malformed files, a
 * '"' in the platform, NUL bytes.  Each failure must leave the struct
 * empty and a message naming the offset; run under --enable-sanitizers
 * for the "no crash, no leak, no read past len" half of the promise.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "src/nix_drv.h"

#define H1	"x111zmyp3ayixly1d5gb4ryp03rfbk4y"	/* nix32 hashes */
#define H2	"0mp23f5fgmnhsd9n3nl5lya7qb5m9k0x"
#define DEP_OUT	"/nix/store/" H1 "-nn-dep"
#define DEP_DRV	"/nix/store/x96bfn8a0indsw7bssc2c6z3mw1rhiwh-nn-dep.drv"
#define APP_OUT	"/nix/store/v6krr172l4i7j6lgw35ja1b7y928wkvj-nn-app"
#define APP_DOC	"/nix/store/945cksnxaqh10razpi570da6c3mggnxd-nn-app-doc"
#define DATA	"/nix/store/9vk30yyabqnaigh0kqhl9ck55sqg6lz0-data.txt"

/* NIX-NOTES §5.1, 320 and 999 bytes, no trailing newline. */
static const char dep_drv[] =
    "Derive([(\"out\",\"/nix/store/x111zmyp3ayixly1d5gb4ryp03rfbk4y-nn-dep\","
    "\"\",\"\")],[],[],\"x86_64-linux\",\"/bin/sh\",[\"-c\",\"echo building de"
    "p; echo \\\"dep \\\\\\\"quoted\\\\\\\" and \\\\\\\\ backslash\\\" > $out"
    "\\n\"],[(\"builder\",\"/bin/sh\"),(\"name\",\"nn-dep\"),(\"out\",\"/nix/s"
    "tore/x111zmyp3ayixly1d5gb4ryp03rfbk4y-nn-dep\"),(\"system\",\"x86_64-linu"
    "x\")])";
static const char app_drv[] =
    "Derive([(\"doc\",\"/nix/store/945cksnxaqh10razpi570da6c3mggnxd-nn-app-doc"
    "\",\"\",\"\"),(\"out\",\"/nix/store/v6krr172l4i7j6lgw35ja1b7y928wkvj-nn-a"
    "pp\",\"\",\"\")],[(\"/nix/store/x96bfn8a0indsw7bssc2c6z3mw1rhiwh-nn-dep.d"
    "rv\",[\"out\"])],[\"/nix/store/9vk30yyabqnaigh0kqhl9ck55sqg6lz0-data.txt"
    "\"],\"x86_64-linux\",\"/bin/sh\",[\"-c\",\"echo \\\"building app, line to"
    " stderr\\\" >&2\\nread x < /nix/store/x111zmyp3ayixly1d5gb4ryp03rfbk4y-nn"
    "-dep; /bin/mkdir -p $out/bin $out/share\\nprintf '#!/bin/sh\\\\necho hi\\"
    "\\n' > $out/bin/app; /bin/chmod +x $out/bin/app\\necho \\\"$x\\\" > $out/"
    "share/data; /bin/ln -s ../share/data $out/bin/link\\necho docs > $doc; ec"
    "ho /nix/store/x111zmyp3ayixly1d5gb4ryp03rfbk4y-nn-dep > $out/share/dep-pa"
    "th\\n\"],[(\"FOO\",\"tab\\there\\nnewline\"),(\"builder\",\"/bin/sh\"),("
    "\"doc\",\"/nix/store/945cksnxaqh10razpi570da6c3mggnxd-nn-app-doc\"),(\"na"
    "me\",\"nn-app\"),(\"out\",\"/nix/store/v6krr172l4i7j6lgw35ja1b7y928wkvj-n"
    "n-app\"),(\"outputs\",\"out doc\"),(\"src\",\"/nix/store/9vk30yyabqnaigh0"
    "kqhl9ck55sqg6lz0-data.txt\"),(\"system\",\"x86_64-linux\")])";

/* The decoded builder scripts (Appendix A, after Nix's '' stripping). */
static const char dep_script[] = "echo building dep; echo \"dep \\\"quoted\\\""
    " and \\\\ backslash\" > $out\n";
static const char app_script[] =
    "echo \"building app, line to stderr\" >&2\n"
    "read x < " DEP_OUT "; /bin/mkdir -p $out/bin $out/share\n"
    "printf '#!/bin/sh\\necho hi\\n' > $out/bin/app; "
    "/bin/chmod +x $out/bin/app\n"
    "echo \"$x\" > $out/share/data; /bin/ln -s ../share/data $out/bin/link\n"
    "echo docs > $doc; echo " DEP_OUT " > $out/share/dep-path\n";

/* A minimal valid derivation around one output tuple (a literal). */
#define WITH_OUTPUT(o)	"Derive([" o "],[],[],\"builtin\"," \
	"\"builtin:fetchurl\",[],[(\"name\",\"src\")])"

static int
is_empty(const struct gr_drv *d)
{
	return d->outputs == NULL && d->noutputs == 0 && d->inputs == NULL &&
	    d->ninputs == 0 && d->srcs == NULL && d->nsrcs == 0 &&
	    d->platform == NULL && d->builder == NULL && d->args == NULL &&
	    d->nargs == 0 && d->env == NULL && d->nenv == 0;
}

static void
check_output(const struct gr_drv_output *o, const char *name,
    const char *path, const char *algo, const char *hash)
{
	cr_assert_str_eq(o->name, name);
	cr_assert_str_eq(o->path, path);
	cr_assert_str_eq(o->hash_algo, algo);
	cr_assert_str_eq(o->hash, hash);
}

static void
check_env(const struct gr_drv *d, size_t i, const char *key,
    const char *value)
{
	cr_assert_lt(i, d->nenv);
	cr_assert_str_eq(d->env[i].key, key);
	cr_assert_str_eq(d->env[i].value, value);
}

/* Parse exactly n bytes from a heap copy, so ASan sees any read past n. */
static int
parse_n(const char *s, size_t n, struct gr_drv *d, char *err, size_t errsz)
{
	char	*copy;
	int	 rc;

	copy = malloc(n > 0 ? n : 1);
	cr_assert_not_null(copy);
	memcpy(copy, s, n);
	rc = gr_drv_parse(copy, n, d, err, errsz);
	free(copy);
	return rc;
}

/* Expect s (n bytes) to be refused cleanly. */
static void
refuse_n(const char *s, size_t n)
{
	struct gr_drv	 d;
	char		 err[256];

	memset(&d, 0xa5, sizeof(d));	/* the parser must not trust it */
	cr_assert_eq(parse_n(s, n, &d, err, sizeof(err)), -1,
	    "accepted: %.*s", (int)n, s);
	cr_assert(is_empty(&d), "not emptied after: %.*s", (int)n, s);
	cr_assert_eq(strncmp(err, "at byte ", 8), 0, "err '%s' for %.*s",
	    err, (int)n, s);
	gr_drv_release(&d);		/* harmless on the empty struct */
}

static void
refuse(const char *s)
{
	refuse_n(s, strlen(s));
}

Test(nix_drv, dep_fixture_every_field)
{
	struct gr_drv	 d;
	char		 err[256] = "";

	cr_assert_eq(sizeof(dep_drv) - 1, 320);
	cr_assert_eq(gr_drv_parse(dep_drv, sizeof(dep_drv) - 1, &d, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(d.noutputs, 1);
	check_output(&d.outputs[0], "out", DEP_OUT, "", "");
	cr_assert_eq(d.ninputs, 0);
	cr_assert_null(d.inputs);
	cr_assert_eq(d.nsrcs, 0);
	cr_assert_null(d.srcs);
	cr_assert_str_eq(d.platform, "x86_64-linux");
	cr_assert_str_eq(d.builder, "/bin/sh");
	cr_assert_eq(d.nargs, 2);
	cr_assert_str_eq(d.args[0], "-c");
	cr_assert_str_eq(d.args[1], dep_script);
	cr_assert_not_null(strstr(d.args[1], "dep \\\"quoted\\\" and \\\\ "
	    "backslash"));
	cr_assert_eq(d.args[1][strlen(d.args[1]) - 1], '\n');
	cr_assert_eq(d.nenv, 4);
	check_env(&d, 0, "builder", "/bin/sh");
	check_env(&d, 1, "name", "nn-dep");
	check_env(&d, 2, "out", DEP_OUT);
	check_env(&d, 3, "system", "x86_64-linux");
	cr_assert_str_eq(gr_drv_name(&d), "nn-dep");
	cr_assert_str_eq(gr_drv_env_get(&d, "system"), "x86_64-linux");
	cr_assert_null(gr_drv_env_get(&d, "outputs"));
	gr_drv_release(&d);
	cr_assert(is_empty(&d));
	gr_drv_release(&d);
}

Test(nix_drv, app_fixture_every_field)
{
	struct gr_drv	 d;
	char		 err[256] = "";

	cr_assert_eq(sizeof(app_drv) - 1, 999);
	cr_assert_eq(gr_drv_parse(app_drv, sizeof(app_drv) - 1, &d, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(d.noutputs, 2);
	check_output(&d.outputs[0], "doc", APP_DOC, "", "");
	check_output(&d.outputs[1], "out", APP_OUT, "", "");
	cr_assert_eq(d.ninputs, 1);
	cr_assert_str_eq(d.inputs[0].path, DEP_DRV);
	cr_assert_eq(d.inputs[0].noutputs, 1);
	cr_assert_str_eq(d.inputs[0].outputs[0], "out");
	cr_assert_eq(d.nsrcs, 1);
	cr_assert_str_eq(d.srcs[0], DATA);
	cr_assert_str_eq(d.platform, "x86_64-linux");
	cr_assert_str_eq(d.builder, "/bin/sh");
	cr_assert_eq(d.nargs, 2);
	cr_assert_str_eq(d.args[0], "-c");
	cr_assert_str_eq(d.args[1], app_script);
	cr_assert_eq(d.nenv, 8);
	check_env(&d, 0, "FOO", "tab\there\nnewline");
	cr_assert_eq(d.env[0].value[3], '\t');	/* a real TAB and LF */
	cr_assert_eq(d.env[0].value[8], '\n');
	check_env(&d, 1, "builder", "/bin/sh");
	check_env(&d, 2, "doc", APP_DOC);
	check_env(&d, 3, "name", "nn-app");
	check_env(&d, 4, "out", APP_OUT);
	check_env(&d, 5, "outputs", "out doc");
	check_env(&d, 6, "src", DATA);
	check_env(&d, 7, "system", "x86_64-linux");
	cr_assert_str_eq(gr_drv_name(&d), "nn-app");
	cr_assert_str_eq(gr_drv_env_get(&d, "outputs"), "out doc");
	cr_assert_str_eq(gr_drv_env_get(&d, "FOO"), "tab\there\nnewline");
	cr_assert_str_eq(gr_drv_env_get(&d, "system"), "x86_64-linux");
	cr_assert_null(gr_drv_env_get(&d, "requiredSystemFeatures"));
	cr_assert_null(gr_drv_env_get(&d, ""));
	cr_assert_null(gr_drv_env_get(&d, "zzz"));
	gr_drv_release(&d);
	cr_assert(is_empty(&d));
}

Test(nix_drv, fixed_output_flat_and_recursive)
{
	static const char flat[] = WITH_OUTPUT("(\"out\",\"/nix/store/" H2
	    "-src.tar.gz\",\"sha256\",\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c"
	    "1fa7425e73043362938b9824\")");
	static const char rec[] = WITH_OUTPUT("(\"out\",\"/nix/store/" H2
	    "-src\",\"r:sha256\",\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7"
	    "425e73043362938b9824\")");
	struct gr_drv	 d;
	char		 err[256] = "";

	cr_assert_eq(gr_drv_parse(flat, strlen(flat), &d, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(d.noutputs, 1);
	check_output(&d.outputs[0], "out", "/nix/store/" H2 "-src.tar.gz",
	    "sha256", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e7304336"
	    "2938b9824");
	cr_assert_str_eq(d.platform, "builtin");
	cr_assert_str_eq(d.builder, "builtin:fetchurl");
	cr_assert_eq(d.nargs, 0);
	cr_assert_null(d.args);
	gr_drv_release(&d);

	cr_assert_eq(gr_drv_parse(rec, strlen(rec), &d, err, sizeof(err)),
	    0, "%s", err);
	check_output(&d.outputs[0], "out", "/nix/store/" H2 "-src",
	    "r:sha256", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e7304"
	    "3362938b9824");
	gr_drv_release(&d);
}

Test(nix_drv, ca_floating_deferred_and_impure_outputs)
{
	static const char ca[] = WITH_OUTPUT("(\"out\",\"\",\"r:sha256\",\"\")");
	static const char deferred[] = WITH_OUTPUT("(\"out\",\"\",\"\",\"\")");
	static const char impure[] =
	    WITH_OUTPUT("(\"out\",\"\",\"r:sha256\",\"impure\")");
	struct gr_drv	 d;
	char		 err[256] = "";

	cr_assert_eq(gr_drv_parse(ca, strlen(ca), &d, err, sizeof(err)), 0,
	    "%s", err);
	check_output(&d.outputs[0], "out", "", "r:sha256", "");
	cr_assert_str_eq(gr_drv_name(&d), "src");	/* from env */
	gr_drv_release(&d);
	cr_assert_eq(gr_drv_parse(deferred, strlen(deferred), &d, err,
	    sizeof(err)), 0, "%s", err);
	check_output(&d.outputs[0], "out", "", "", "");
	gr_drv_release(&d);
	cr_assert_eq(gr_drv_parse(impure, strlen(impure), &d, err,
	    sizeof(err)), 0, "%s", err);
	check_output(&d.outputs[0], "out", "", "r:sha256", "impure");
	gr_drv_release(&d);
}

Test(nix_drv, name_falls_back_to_the_out_path)
{
	static const char two[] = "Derive([(\"doc\",\"/nix/store/" H1
	    "-x-1.0-doc\",\"\",\"\"),(\"out\",\"/nix/store/" H2 "-x-1.0\",\"\","
	    "\"\")],[],[],\"s\",\"b\",[],[])";
	static const char doc[] = "Derive([(\"doc\",\"/nix/store/" H1
	    "-x-doc\",\"\",\"\")],[],[],\"s\",\"b\",[],[(\"name\",\"\")])";
	static const char none[] = "Derive([(\"out\",\"\",\"r:sha256\",\"\")],"
	    "[],[],\"s\",\"b\",[],[])";
	struct gr_drv	 d;
	char		 err[256] = "";

	cr_assert_eq(gr_drv_parse(two, strlen(two), &d, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_str_eq(gr_drv_name(&d), "x-1.0");
	gr_drv_release(&d);
	cr_assert_eq(gr_drv_parse(doc, strlen(doc), &d, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_str_eq(gr_drv_name(&d), "x-doc");
	gr_drv_release(&d);
	cr_assert_eq(gr_drv_parse(none, strlen(none), &d, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_null(gr_drv_name(&d));
	gr_drv_release(&d);
}

Test(nix_drv, escapes_decode_and_others_stand_for_themselves)
{
	static const char s[] = "Derive([],[],[],\"\\x\\\"86\",\"a\\\\b\","
	    "[\"\\n\\r\\t\",\"\\a\\q\\/\\\\\\\"\",\"\",\"caf\xc3\xa9 \x01\x7f\"],[])";
	struct gr_drv	 d;
	char		 err[256] = "";

	cr_assert_eq(gr_drv_parse(s, strlen(s), &d, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_str_eq(d.platform, "x\"86");
	cr_assert_str_eq(d.builder, "a\\b");
	cr_assert_eq(d.nargs, 4);
	cr_assert_str_eq(d.args[0], "\n\r\t");
	cr_assert_str_eq(d.args[1], "aq/\\\"");
	cr_assert_str_eq(d.args[2], "");
	cr_assert_str_eq(d.args[3], "caf\xc3\xa9 \x01\x7f");	/* raw bytes */
	cr_assert_eq(d.nenv, 0);
	cr_assert_null(d.env);
	cr_assert_null(gr_drv_name(&d));
	gr_drv_release(&d);
}

Test(nix_drv, env_get_works_on_an_unsorted_env)
{
	static const char s[] = "Derive([],[],[],\"s\",\"b\",[],[(\"z\",\"1\"),"
	    "(\"a\",\"2\"),(\"m\",\"3\"),(\"name\",\"n\"),(\"b\",\"4\")])";
	struct gr_drv	 d;
	char		 err[256] = "";

	cr_assert_eq(gr_drv_parse(s, strlen(s), &d, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(d.nenv, 5);
	cr_assert_str_eq(d.env[0].key, "z");	/* the order of the file */
	cr_assert_str_eq(gr_drv_env_get(&d, "z"), "1");
	cr_assert_str_eq(gr_drv_env_get(&d, "a"), "2");
	cr_assert_str_eq(gr_drv_env_get(&d, "m"), "3");
	cr_assert_str_eq(gr_drv_env_get(&d, "b"), "4");
	cr_assert_str_eq(gr_drv_name(&d), "n");
	cr_assert_null(gr_drv_env_get(&d, "c"));
	gr_drv_release(&d);
}

Test(nix_drv, every_truncation_of_app_fails)
{
	size_t	 n;

	for (n = 0; n < sizeof(app_drv) - 1; n++)
		refuse_n(app_drv, n);
}

Test(nix_drv, every_truncation_of_dep_fails)
{
	size_t	 n;

	for (n = 0; n < sizeof(dep_drv) - 1; n++)
		refuse_n(dep_drv, n);
}

Test(nix_drv, error_names_the_offset)
{
	struct gr_drv	 d;
	char		 err[256];

	cr_assert_eq(gr_drv_parse("Derive[", 7, &d, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "at byte 6: expected '('");
	cr_assert_eq(gr_drv_parse("Derive(", 7, &d, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "at byte 7: expected '[', found end of input");
	cr_assert_eq(gr_drv_parse("Derivx(", 7, &d, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "at byte 5: expected 'Derive'");
	cr_assert_eq(gr_drv_parse("Derive([],[],[],\"s\",\"b\",[],[]) ", 31,
	    &d, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "at byte 30: trailing data after the "
	    "derivation");
	cr_assert_eq(gr_drv_parse("Derive([],[],[\"/tmp/x\"]", 23, &d, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "at byte 14: input source is not a store path");
	cr_assert_eq(gr_drv_parse("Derive([],[],[],\"s", 18, &d, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "at byte 18: unterminated string (opened at "
	    "byte 16)");
	cr_assert_eq(gr_drv_parse("Derive([],[],[],\"s\"\"b\"", 22, &d, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "at byte 19: expected ','");

	/* A short or absent error buffer is fine. */
	cr_assert_eq(gr_drv_parse("Derive[", 7, &d, err, 5), -1);
	cr_assert_str_eq(err, "at b");
	cr_assert_eq(gr_drv_parse("Derive[", 7, &d, NULL, 0), -1);
	cr_assert_eq(gr_drv_parse(NULL, 0, &d, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "at byte 0: expected 'Derive', found end of "
	    "input");
}

Test(nix_drv, minimal_derivation_is_accepted)
{
	static const char s[] = "Derive([],[],[],\"\",\"\",[],[])";
	struct gr_drv	 d;
	char		 err[256] = "";

	cr_assert_eq(gr_drv_parse(s, strlen(s), &d, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_str_eq(d.platform, "");
	cr_assert_str_eq(d.builder, "");
	cr_assert_eq(d.noutputs + d.ninputs + d.nsrcs + d.nargs + d.nenv, 0);
	gr_drv_release(&d);
}

#define P	"/nix/store/" H1
static const char *const malformed[] = {
	"",
	"derive([],[],[],\"s\",\"b\",[],[])",		/* keyword */
	"Derivation([],[],[],\"s\",\"b\",[],[])",
	"Derive [],[],[],\"s\",\"b\",[],[])",
	" Derive([],[],[],\"s\",\"b\",[],[])",		/* no whitespace */
	"Derive( [],[],[],\"s\",\"b\",[],[])",
	"Derive([], [],[],\"s\",\"b\",[],[])",
	"Derive([],[],[],\"s\",\"b\",[],[])\n",		/* trailing data */
	"Derive([],[],[],\"s\",\"b\",[],[]))",
	"Derive([],[],[],\"s\",\"b\",[],[])Derive(",
	"Derive([],[],[],\"s\",\"b\",[],[]",		/* brackets */
	"Derive([],[],[],\"s\",\"b\",[],[)",
	"Derive([],[],[],\"s\",\"b\",[],])",
	"Derive([],[],[],\"s\",\"b\",[[]],[])",
	"Derive([],[],[],\"s\",\"b\",[\"a\"],[]",
	"Derive(([],[],[],\"s\",\"b\",[],[]))",
	"Derive([][],[],\"s\",\"b\",[],[])",		/* commas */
	"Derive([],[],[]\"s\",\"b\",[],[])",
	"Derive([],[],[],\"s\"\"b\",[],[])",
	"Derive([],[],[],\"s\",\"b\",[\"a\" \"c\"],[])",
	"Derive([],[],[],\"s\",\"b\",[\"a\",],[])",
	"Derive([],[],[],\"s\",\"b\",[,\"a\"],[])",
	"Derive([],[],[],\"s\",\"b\",[\"a\";\"c\"],[])",
	"Derive([],[],[],\"s\",\"b\",[],[],)",
	"Derive([],[],[],\"s\",\"b\",[],[],[])",	/* too many fields */
	"Derive([],[],[],\"s\",\"b\",[])",		/* too few */
	"Derive([],[],[],\"s\",[],[])",
	"Derive([],[],[],s,\"b\",[],[])",		/* strings */
	"Derive([],[],[],'s',\"b\",[],[])",
	"Derive([],[],[],\"s\",\"b\",[a],[])",
	"Derive([],[],[],\"s",
	"Derive([],[],[],\"s\\",
	"Derive([],[],[],\"s\\\"",
	"Derive([],[],[],\"s\",\"b\",[],[(\"k\")])",	/* env pairs */
	"Derive([],[],[],\"s\",\"b\",[],[(\"k\",\"v\",\"w\")])",
	"Derive([],[],[],\"s\",\"b\",[],[(\"k\",\"v\"])",
	"Derive([],[],[],\"s\",\"b\",[],[\"k\",\"v\"])",
	"Derive([],[],[],\"s\",\"b\",[],[(k,\"v\")])",
	"Derive([],[],[],\"s\",\"b\",[],[()])",
	"Derive([(\"out\",\"" P "-x\",\"\")],[],[],\"s\",\"b\",[],[])",
	"Derive([(\"out\",\"" P "-x\",\"\",\"\",\"\")],[],[],\"s\",\"b\",[],[])",
	"Derive([(\"out\",\"" P "-x\",\"\",\"\"],[],[],\"s\",\"b\",[],[])",
	"Derive([\"out\"],[],[],\"s\",\"b\",[],[])",
	"Derive([(\"out\",\"/tmp/x\",\"\",\"\")],[],[],\"s\",\"b\",[],[])",
	"Derive([(\"out\",\"" P "\",\"\",\"\")],[],[],\"s\",\"b\",[],[])",
	"Derive([(\"\",\"" P "-x\",\"\",\"\")],[],[],\"s\",\"b\",[],[])",
	"Derive([(\"o t\",\"" P "-x\",\"\",\"\")],[],[],\"s\",\"b\",[],[])",
	"Derive([(\"o/t\",\"" P "-x\",\"\",\"\")],[],[],\"s\",\"b\",[],[])",
	"Derive([],[(\"" P "-x\",[\"out\"])],[],\"s\",\"b\",[],[])",
	"Derive([],[(\"" P "-.drv\",[\"out\"])],[],\"s\",\"b\",[],[])",
	"Derive([],[(\"" P "-x.drv/\",[\"out\"])],[],\"s\",\"b\",[],[])",
	"Derive([],[(\"/nix/store/x-x.drv\",[\"out\"])],[],\"s\",\"b\",[],[])",
	"Derive([],[(\"x.drv\",[\"out\"])],[],\"s\",\"b\",[],[])",
	"Derive([],[(\"" P "-x.drv\")],[],\"s\",\"b\",[],[])",
	"Derive([],[(\"" P "-x.drv\",\"out\")],[],\"s\",\"b\",[],[])",
	"Derive([],[(\"" P "-x.drv\",[\"\"])],[],\"s\",\"b\",[],[])",
	"Derive([],[(\"" P "-x.drv\",[out])],[],\"s\",\"b\",[],[])",
	"Derive([],[\"" P "-x.drv\"],[],\"s\",\"b\",[],[])",
	"Derive([],[],[\"data.txt\"],\"s\",\"b\",[],[])",
	"Derive([],[],[\"\"],\"s\",\"b\",[],[])",
	"Derive([],[],[\"/nix/store/" H1 "x-data\"],\"s\",\"b\",[],[])",
	"Derive([],[],[(\"" P "-d\")],\"s\",\"b\",[],[])",
};
#undef P

Test(nix_drv, malformed_inputs_are_refused)
{
	size_t	 i;

	for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		refuse(malformed[i]);
}

Test(nix_drv, quote_in_platform_is_refused)
{
	char	*s, *p;

	/* What Nix writes for system = "x86\"64-linux": no escape. */
	s = strdup(dep_drv);
	cr_assert_not_null(s);
	p = strstr(s, "\"x86_64-linux\",\"/bin/sh\"");
	cr_assert_not_null(p);
	p[4] = '"';
	refuse(s);
	free(s);
}

Test(nix_drv, nul_bytes_are_refused)
{
	static const char raw[] = "Derive([],[],[],\"s\",\"a\0b\",[],[])";
	static const char esc[] = "Derive([],[],[],\"s\",\"a\\\0b\",[],[])";
	static const char key[] = "Derive([],[],[],\"s\",\"b\",[],[(\"\0\","
	    "\"v\")])";
	static const char out[] = "Derive([],[],[],\"s\",\"b\",[],[])\0";

	refuse_n(raw, sizeof(raw) - 1);
	refuse_n(esc, sizeof(esc) - 1);
	refuse_n(key, sizeof(key) - 1);
	refuse_n(out, sizeof(out) - 1);
}

Test(nix_drv, hostile_sizes_are_handled)
{
	const size_t	 big = 4 << 20, nargs = 100000;
	struct gr_drv	 d;
	char		 err[256] = "", *p;
	size_t		 i, n;

	/* A 4 MB env value, all escapes: decodes to 2 MB. */
	p = malloc(big + 64);
	cr_assert_not_null(p);
	n = (size_t)sprintf(p, "Derive([],[],[],\"s\",\"b\",[],[(\"k\",\"");
	for (i = 0; i < big / 2; i++) {
		p[n++] = '\\';
		p[n++] = 'n';
	}
	memcpy(p + n, "\")])", 4);
	n += 4;
	cr_assert_eq(gr_drv_parse(p, n, &d, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(strlen(d.env[0].value), big / 2);
	cr_assert_eq(d.env[0].value[big / 2 - 1], '\n');
	gr_drv_release(&d);
	/* Cut inside the escapes: unterminated, not a crash. */
	cr_assert_eq(gr_drv_parse(p, n - 5, &d, err, sizeof(err)), -1);
	cr_assert(is_empty(&d));
	free(p);

	/* 100,000 args: the arrays grow without trouble. */
	p = malloc(64 + nargs * 4);
	cr_assert_not_null(p);
	n = (size_t)sprintf(p, "Derive([],[],[],\"s\",\"b\",[");
	for (i = 0; i < nargs; i++) {
		memcpy(p + n, i == 0 ? "\"a\"" : ",\"a\"", i == 0 ? 3 : 4);
		n += i == 0 ? 3 : 4;
	}
	memcpy(p + n, "],[])", 5);
	n += 5;
	cr_assert_eq(gr_drv_parse(p, n, &d, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(d.nargs, nargs);
	cr_assert_str_eq(d.args[nargs - 1], "a");
	gr_drv_release(&d);
	/* The same with the args' ']' gone fails and frees all of it. */
	p[n - 5] = ',';
	cr_assert_eq(gr_drv_parse(p, n, &d, err, sizeof(err)), -1);
	cr_assert(is_empty(&d));
	free(p);
}

Test(nix_drv, store_path_valid)
{
	static const char *const good[] = {
		"/nix/store/" H1 "-nn-dep",
		"/nix/store/x96bfn8a0indsw7bssc2c6z3mw1rhiwh-nn-dep.drv",
		"/nix/store/00000000000000000000000000000000-a",
		"/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-A+b-c.d_e?f=g",
		"/nix/store/" H1 "-.gitignore",	/* 2.8 writes these */
	};
	static const char *const bad[] = {
		"",
		"/nix/store/",
		"/nix/store/" H1,
		"/nix/store/" H1 "-",			/* empty name */
		"/nix/store/" H1 "-a/b",		/* '/' in name */
		"/nix/store/" H1 "-a b",
		"/nix/store/" H1 "-caf\xc3\xa9",
		"/nix/store/" H1 "-a\n",
		"/nix/store/" H1 "_a",
		"/nix/store/x111zmyp3ayixly1d5gb4ryp03rfbk4-nn-dep",	/* 31 */
		"/nix/store/x111zmyp3ayixly1d5gb4ryp03rfbk4yy-nn-dep",	/* 33 */
		"/nix/store/e111zmyp3ayixly1d5gb4ryp03rfbk4y-nn-dep",
		"/nix/store/x111zmyp3ayixly1d5gb4ryp03rfbk4o-nn-dep",
		"/nix/store/x111zmyp3ayixlu1d5gb4ryp03rfbk4y-nn-dep",
		"/nix/store/x111zmyp3ayixly1d5gb4ryp03rfbt4y-nn-dep",
		"/nix/store/X111ZMYP3AYIXLY1D5GB4RYP03RFBK4Y-nn-dep",
		"/nix/store//" H1 "-nn-dep",
		"/nix/storex/" H1 "-nn-dep",
		"/nix/store" H1 "-nn-dep",
		"nix/store/" H1 "-nn-dep",
		"/gnu/store/" H1 "-nn-dep",
		"/nix/store/" H1 "-nn-dep/bin/sh",
	};
	char	 path[11 + 32 + 1 + 212 + 1];
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_eq(gr_store_path_valid(good[i]), 1, "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(gr_store_path_valid(bad[i]), 0, "%s", bad[i]);
	cr_assert_eq(gr_store_path_valid(NULL), 0);

	/* The name may have 211 characters, not 212. */
	memcpy(path, "/nix/store/" H1 "-", 44);
	memset(path + 44, 'n', 211);
	path[44 + 211] = '\0';
	cr_assert_eq(gr_store_path_valid(path), 1);
	path[44 + 211] = 'n';
	path[44 + 212] = '\0';
	cr_assert_eq(gr_store_path_valid(path), 0);
}

Test(nix_drv, read_a_file)
{
	struct gr_drv	 d;
	char		 path[] = "/tmp/gr-drv-XXXXXX", err[512] = "";
	int		 fd;

	fd = mkstemp(path);
	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, app_drv, sizeof(app_drv) - 1),
	    (ssize_t)sizeof(app_drv) - 1);
	close(fd);
	cr_assert_eq(gr_drv_read(path, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(d.noutputs, 2);
	cr_assert_str_eq(d.inputs[0].path, DEP_DRV);
	cr_assert_str_eq(gr_drv_name(&d), "nn-app");
	gr_drv_release(&d);

	/* A broken file: the message names the file and the offset. */
	fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, dep_drv, 100), 100);
	close(fd);
	cr_assert_eq(gr_drv_read(path, &d, err, sizeof(err)), -1);
	cr_assert(is_empty(&d));
	cr_assert_not_null(strstr(err, path), "%s", err);
	cr_assert_not_null(strstr(err, "at byte 100: "), "%s", err);
	unlink(path);
}

Test(nix_drv, read_refuses_a_huge_file)
{
	struct gr_drv	 d;
	char		 path[] = "/tmp/gr-drv-XXXXXX", err[512] = "";
	int		 fd;

	fd = mkstemp(path);
	cr_assert_neq(fd, -1);
	cr_assert_eq(ftruncate(fd, (off_t)256 << 20), 0);	/* sparse */
	close(fd);
	cr_assert_eq(gr_drv_read(path, &d, err, sizeof(err)), -1);
	cr_assert(is_empty(&d));
	cr_assert_not_null(strstr(err, path), "%s", err);
	cr_assert_not_null(strstr(err, "file too large"), "%s", err);
	unlink(path);
}

Test(nix_drv, read_a_missing_file)
{
	static const char path[] = "/nonexistent-gradient/x-nn-dep.drv";
	struct gr_drv	 d;
	char		 err[512] = "";

	cr_assert_eq(gr_drv_read(path, &d, err, sizeof(err)), -1);
	cr_assert(is_empty(&d));
	cr_assert_not_null(strstr(err, path), "%s", err);
	cr_assert_str_eq(err, "cannot open '/nonexistent-gradient/x-nn-dep.drv"
	    "': No such file or directory");
	cr_assert_eq(gr_drv_read("/", &d, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "'/'"), "%s", err);
}
