/*
 * test_cachekey.c - Nix cache signing keys: format, signatures, and the
 * test vector of NIX-NOTES §3.4 (a throwaway key made for that document).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "src/cachekey.h"
#include "src/crypto.h"

static const char vec_sec[] = "test-cache-1:Pry2An1shHW1W81P2u1BXlAokLLCPC7x"
    "nNuAkxo0+zHX4M8GikVDUrcmhxbB5uFpE7KWlsMfi9HOUJ8uMMan4A==";
static const char vec_pub[] =
    "test-cache-1:1+DPBopFQ1K3JocWwebhaROylpbDH4vRzlCfLjDGp+A=";
static const char vec_fp[] = "1;/nix/store/x111zmyp3ayixly1d5gb4ryp03rfbk4y-"
    "nn-dep;sha256:0zfhhzm4ppqf19aa7xkpqgj8iil6i0an020cxm0zp6a398kgyfp5;144;";
static const char vec_sig[] = "test-cache-1:zMDO6CfPcy4OI/EVS8lxnJ2+tsz0ftf/"
    "3Ho0h7lyZmGHRKFt5othfx2UHMjKb9H8RPPYncfIQZBtyBTcaZ/3Dg==";

static void
setup(void)
{
	cr_assert_eq(gr_crypto_init(), 0);
}

TestSuite(cachekey, .init = setup);

Test(cachekey, vector_public_key_from_secret)
{
	char	*pub = gr_cachekey_public(vec_sec);

	cr_assert_not_null(pub);
	cr_assert_str_eq(pub, vec_pub);
	free(pub);
}

Test(cachekey, vector_signature_is_reproduced)
{
	char	*sig = gr_cachekey_sign(vec_sec, vec_fp, strlen(vec_fp));

	cr_assert_not_null(sig);
	cr_assert_str_eq(sig, vec_sig);	/* Ed25519 is deterministic */
	free(sig);
	cr_assert_eq(gr_cachekey_verify(vec_pub, vec_sig, vec_fp,
	    strlen(vec_fp)), 1);
}

Test(cachekey, generated_key_has_nix_format_and_signs)
{
	char		*pub, *sec, *sig, *again;
	unsigned char	*raw;
	size_t		 n;

	cr_assert_eq(gr_cachekey_generate("gradient-my-cache", &pub, &sec), 0);
	cr_assert_eq(strncmp(pub, "gradient-my-cache:", 18), 0);
	cr_assert_eq(strncmp(sec, "gradient-my-cache:", 18), 0);
	raw = gr_b64_decode(pub + 18, strlen(pub + 18), &n);
	cr_assert_not_null(raw);
	cr_assert_eq(n, 32);
	free(raw);
	raw = gr_b64_decode(sec + 18, strlen(sec + 18), &n);
	cr_assert_not_null(raw);
	cr_assert_eq(n, 64);
	free(raw);
	again = gr_cachekey_public(sec);
	cr_assert_str_eq(again, pub);
	sig = gr_cachekey_sign(sec, vec_fp, strlen(vec_fp));
	cr_assert_not_null(sig);
	cr_assert_eq(strncmp(sig, "gradient-my-cache:", 18), 0);
	cr_assert_eq(gr_cachekey_verify(pub, sig, vec_fp, strlen(vec_fp)), 1);
	/* Verified with libsodium directly, as Nix does. */
	{
		unsigned char	*pk, *sg;
		size_t		 pn, sn;

		pk = gr_b64_decode(pub + 18, strlen(pub + 18), &pn);
		sg = gr_b64_decode(sig + 18, strlen(sig + 18), &sn);
		cr_assert_eq(crypto_sign_verify_detached(sg,
		    (const unsigned char *)vec_fp, strlen(vec_fp), pk), 0);
		free(pk);
		free(sg);
	}
	free(pub);
	free(sec);
	free(sig);
	free(again);
}

Test(cachekey, tampered_message_or_other_key_fails)
{
	char	*pub, *sec;

	cr_assert_eq(gr_cachekey_verify(vec_pub, vec_sig, "1;x", 3), 0);
	cr_assert_eq(gr_cachekey_generate("other-1", &pub, &sec), 0);
	/* Another key, and the right key under another name. */
	cr_assert_eq(gr_cachekey_verify(pub, vec_sig, vec_fp,
	    strlen(vec_fp)), 0);
	cr_assert_eq(gr_cachekey_verify("other-1:1+DPBopFQ1K3JocWwebhaROylpbD"
	    "H4vRzlCfLjDGp+A=", vec_sig, vec_fp, strlen(vec_fp)), 0);
	free(pub);
	free(sec);
}

Test(cachekey, malformed_texts_are_refused)
{
	char	*pub, *sec;

	cr_assert_null(gr_cachekey_public("no-colon"));
	cr_assert_null(gr_cachekey_public(":AAAA"));
	cr_assert_null(gr_cachekey_public("k:not base64!"));
	cr_assert_null(gr_cachekey_public(vec_pub));	/* 32 bytes, not 64 */
	cr_assert_null(gr_cachekey_sign("k:AAAA", "m", 1));
	cr_assert_eq(gr_cachekey_verify("k:AAAA", vec_sig, "m", 1), 0);
	cr_assert_eq(gr_cachekey_generate("bad name", &pub, &sec), -1);
	cr_assert_eq(gr_cachekey_generate("", &pub, &sec), -1);
	cr_assert_eq(gr_cachekey_valid_name("host.example.org-cache_1"), 1);
	cr_assert_eq(gr_cachekey_valid_name("a:b"), 0);
}
