/*
 * test_model_user.c - unit tests for the validators in src/model_user.c.
 *
 * Only the rules a user's chosen fields must follow; everything else in
 * model_user.c needs PostgreSQL and is covered by tests/integration.
 */
#include "config.h"

#include <string.h>

#include <criterion/criterion.h>

#include "src/model_user.h"

#define BAD_USERNAME	"Invalid username: use 3 to 32 lowercase letters, " \
			"digits, '-' or '_'"
#define BAD_EMAIL	"Invalid email address"
#define BAD_NAME_LEN	"Invalid name: use 1 to 128 characters"
#define BAD_NAME_CTL	"Invalid name: control characters are not allowed"
#define PW_SHORT	"Password must be at least 8 characters long"
#define PW_LONG		"Password must be at most 256 characters long"
#define PW_DISTINCT	"Password must contain at least 5 different characters"
#define PW_SAME		"Password must not be the username or the email " \
			"address"

/* A string of n copies of c in buf (n + 1 bytes). */
static char *
repeat(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void
username_ok(const char *s)
{
	char	 msg[256] = "";

	cr_assert_eq(gr_user_valid_username(s, msg, sizeof(msg)), 1,
	    "'%s' refused: %s", s, msg);
}

static void
username_bad(const char *s)
{
	char	 msg[256] = "";

	cr_assert_eq(gr_user_valid_username(s, msg, sizeof(msg)), 0,
	    "'%s' accepted", s);
	cr_assert_str_eq(msg, BAD_USERNAME, "'%s'", s);
}

static void
email_ok(const char *s)
{
	char	 msg[256] = "";

	cr_assert_eq(gr_user_valid_email(s, msg, sizeof(msg)), 1,
	    "'%s' refused: %s", s, msg);
}

static void
email_bad(const char *s)
{
	char	 msg[256] = "";

	cr_assert_eq(gr_user_valid_email(s, msg, sizeof(msg)), 0,
	    "'%s' accepted", s);
	cr_assert_str_eq(msg, BAD_EMAIL, "'%s'", s);
}

static void
name_is(const char *s, const char *want)
{
	char	 msg[256] = "";

	cr_assert_eq(gr_user_valid_name(s, msg, sizeof(msg)),
	    want == NULL ? 1 : 0, "'%s': %s", s, msg);
	if (want != NULL)
		cr_assert_str_eq(msg, want, "'%s'", s);
}

static void
password_is(const char *pw, const char *user, const char *email,
    const char *want)
{
	char	 msg[256] = "";

	cr_assert_eq(gr_user_valid_password(pw, user, email, msg, sizeof(msg)),
	    want == NULL ? 1 : 0, "'%s': %s", pw, msg);
	if (want != NULL)
		cr_assert_str_eq(msg, want, "'%s'", pw);
}

Test(model_user, username_accepts_3_to_32_of_charset)
{
	char	 s[40];

	username_ok("abc");
	username_ok("a-b_c9");
	username_ok("000");
	username_ok("___");
	username_ok(repeat(s, 'z', 32));
}

Test(model_user, username_rejects_wrong_length)
{
	char	 s[40];

	username_bad("");
	username_bad("a");
	username_bad("ab");
	username_bad(repeat(s, 'z', 33));
}

Test(model_user, username_rejects_outside_charset)
{
	username_bad("Alice");
	username_bad("alicE");
	username_bad("al ice");
	username_bad("a.b");
	username_bad("a@b");
	username_bad("a/b");
	username_bad("../etc");
	username_bad("caf\xc3\xa9");
	username_bad("abc\n");
	username_bad("abc\t");
}

Test(model_user, email_accepts_ordinary_addresses)
{
	email_ok("a@b.c");
	email_ok("alice@example.com");
	email_ok("Alice.Smith+ci@mail.example.co.uk");
	email_ok("a_b-c@sub-domain.example");
}

Test(model_user, email_accepts_254_characters)
{
	char	 s[300];

	/* 64 + "@" + 185 + ".com" = 254 */
	repeat(s, 'a', 64);
	s[64] = '@';
	repeat(s + 65, 'b', 185);
	strcat(s, ".com");
	cr_assert_eq(strlen(s), 254);
	email_ok(s);
}

Test(model_user, email_rejects_255_characters)
{
	char	 s[300];

	repeat(s, 'a', 64);
	s[64] = '@';
	repeat(s + 65, 'b', 186);
	strcat(s, ".com");
	cr_assert_eq(strlen(s), 255);
	email_bad(s);
}

Test(model_user, email_rejects_bad_at_signs)
{
	email_bad("alice.example.com");
	email_bad("alice@@example.com");
	email_bad("alice@exa@mple.com");
	email_bad("@example.com");
	email_bad("alice@");
}

Test(model_user, email_rejects_bad_domains)
{
	email_bad("alice@example");
	email_bad("alice@.com");
	email_bad("alice@example.");
	email_bad("alice@example..com");
}

Test(model_user, email_rejects_spaces_and_specials)
{
	email_bad("al ice@example.com");
	email_bad(" alice@example.com");
	email_bad("alice@example.com ");
	email_bad("alice@exam ple.com");
	email_bad("alice\t@example.com");
	email_bad("alice\n@example.com");
	email_bad("alice\x7f@example.com");
	email_bad("\"alice\"@example.com");
	email_bad("alice<x>@example.com");
	email_bad("alice,bob@example.com");
	email_bad("alice;@example.com");
	email_bad("alice@[127.0.0.1]");
	email_bad("");
	email_bad("a@");
}

Test(model_user, email_rejects_local_part_over_64)
{
	char	 s[100];

	repeat(s, 'a', 65);
	strcat(s, "@example.com");
	email_bad(s);
}

Test(model_user, name_accepts_1_to_128_bytes)
{
	char	 s[140];

	name_is("A", NULL);
	name_is("Alice Smith", NULL);
	name_is("Zo\xc3\xab O'Brien-M\xc3\xbcller", NULL);
	name_is(repeat(s, 'n', 128), NULL);
}

Test(model_user, name_rejects_empty_and_long)
{
	char	 s[140];

	name_is("", BAD_NAME_LEN);
	name_is(repeat(s, 'n', 129), BAD_NAME_LEN);
}

Test(model_user, name_rejects_control_characters)
{
	name_is("Alice\tSmith", BAD_NAME_CTL);
	name_is("Alice\n", BAD_NAME_CTL);
	name_is("\x1b[31mred", BAD_NAME_CTL);
	name_is("del\x7f", BAD_NAME_CTL);
	name_is("\x01", BAD_NAME_CTL);
}

Test(model_user, password_accepts_good_passphrase)
{
	password_is("correct-horse-battery", "alice", "alice@example.com",
	    NULL);
	password_is("abcde123", NULL, NULL, NULL);
}

Test(model_user, password_of_7_characters_is_refused)
{
	password_is("abcdefg", "alice", "alice@example.com", PW_SHORT);
	password_is("", NULL, NULL, PW_SHORT);
}

Test(model_user, password_of_8_and_256_characters_is_accepted)
{
	char	 s[300];
	size_t	 i;

	password_is("abcdefgh", NULL, NULL, NULL);
	for (i = 0; i < 256; i++)
		s[i] = (char)('a' + i % 26);
	s[256] = '\0';
	password_is(s, NULL, NULL, NULL);
}

Test(model_user, password_of_257_characters_is_refused)
{
	char	 s[300];
	size_t	 i;

	for (i = 0; i < 257; i++)
		s[i] = (char)('a' + i % 26);
	s[257] = '\0';
	password_is(s, NULL, NULL, PW_LONG);
}

Test(model_user, password_needs_5_distinct_characters)
{
	char	 s[40];

	password_is(repeat(s, 'a', 32), NULL, NULL, PW_DISTINCT);
	password_is("abababababab", NULL, NULL, PW_DISTINCT);
	password_is("abcdabcdabcd", NULL, NULL, PW_DISTINCT);
	password_is("abcdeabcdeab", NULL, NULL, NULL);
}

Test(model_user, password_equal_to_username_is_refused)
{
	password_is("alice-the-admin", "alice-the-admin", "a@example.com",
	    PW_SAME);
	password_is("Alice-The-Admin", "alice-the-admin", "a@example.com",
	    PW_SAME);
}

Test(model_user, password_equal_to_email_is_refused)
{
	password_is("alice@example.com", "alice", "alice@example.com",
	    PW_SAME);
	password_is("ALICE@Example.COM", "alice", "alice@example.com",
	    PW_SAME);
}

Test(model_user, password_containing_username_is_allowed)
{
	/* Only equality is refused; a longer passphrase may contain it. */
	password_is("alice-likes-trains", "alice", "alice@example.com", NULL);
}

/* The limit is 128 characters, not 128 bytes: a CJK name of 128 counts. */
Test(model_user, name_limit_counts_characters_not_bytes)
{
	char	 name[129 * 3 + 1], msg[256];
	size_t	 i;

	for (i = 0; i < 128; i++)
		memcpy(name + i * 3, "\xe5\x90\x8d", 3);	/* U+540D */
	name[128 * 3] = '\0';
	cr_assert_eq(gr_user_valid_name(name, msg, sizeof(msg)), 1);
	memcpy(name + 128 * 3, "\xe5\x90\x8d", 3);
	name[129 * 3] = '\0';
	cr_assert_eq(gr_user_valid_name(name, msg, sizeof(msg)), 0);
	cr_assert_str_eq(msg, "Invalid name: use 1 to 128 characters");
}
