/*
 * nix_drv.h - parse Nix derivations (".drv" files, ATerm) and store paths.
 *
 * A .drv is one line of "Derive([outputs],[inputDrvs],[inputSrcs],
 * "platform","builder",[args],[env])" (NIX-NOTES §5.1).  Its bytes are
 * untrusted: the parser reads them in one pass, never recurses, has no
 * fixed-size buffers and fails with a message naming the byte offset.
 *
 * A parsed struct gr_drv owns every string and array in it; all strings
 * are decoded (escapes resolved) and NUL-terminated, and none contains a
 * NUL byte.  Lists keep the order of the file; an empty list is a NULL
 * array and a count of 0.  gr_drv_release() frees it all and leaves an
 * empty struct; releasing an empty struct (or NULL) does nothing.
 */
#ifndef GRADIENT_NIX_DRV_H
#define GRADIENT_NIX_DRV_H

#include <stddef.h>

struct gr_drv_output {
	char	*name;		/* "out" */
	char	*path;		/* "/nix/store/...", may be "" for CA/deferred */
	char	*hash_algo;	/* "" for input-addressed */
	char	*hash;		/* "" for input-addressed */
};

struct gr_drv_input {
	char	 *path;		/* "/nix/store/...-x.drv" */
	char	**outputs;	/* output names wanted */
	size_t	  noutputs;
};

struct gr_drv_env {
	char	*key;
	char	*value;
};

struct gr_drv {
	struct gr_drv_output	*outputs;	size_t noutputs;
	struct gr_drv_input	*inputs;	size_t ninputs;	/* inputDrvs */
	char			**srcs;		size_t nsrcs;	/* inputSrcs */
	char			*platform;
	char			*builder;
	char			**args;		size_t nargs;
	struct gr_drv_env	*env;		size_t nenv;
};

/*
 * Parse len bytes of ATerm into *d (which need not be initialised).
 * Returns 0, or -1 with *d empty and, when err is not NULL, a message in
 * err naming the byte offset ("at byte 123: expected '('").
 * Output paths are store paths or "" (CA/deferred); input derivations are
 * store paths ending in ".drv"; sources are store paths.
 */
int	 gr_drv_parse(const char *buf, size_t len, struct gr_drv *,
	    char *err, size_t errsz);
/*
 * Read the file at path in one go and parse it as above; errors name the
 * path.  Files of 256 MiB or more are refused unread.
 */
int	 gr_drv_read(const char *path, struct gr_drv *, char *err,
	    size_t errsz);
/*
 * The value of env key, or NULL; borrowed from the struct.  Binary search,
 * as Nix sorts env by key, then a linear scan so an unsorted env still works.
 */
const char *gr_drv_env_get(const struct gr_drv *, const char *key);
/*
 * The derivation's name, borrowed from the struct: env "name", else the
 * name part of the "out" output's path (or of the first output with a
 * path, which for an output other than "out" ends in "-<output>"), else
 * NULL.
 */
const char *gr_drv_name(const struct gr_drv *);
void	 gr_drv_release(struct gr_drv *);

/*
 * 1 if s is a store path: "/nix/store/", 32 nix32 characters, '-', and a
 * name of 1..211 characters of [A-Za-z0-9+._?=-]; 0 otherwise.  A leading
 * '.' is accepted: Nix 2.8 writes such sources (NIX-NOTES §1.1).
 */
int	 gr_store_path_valid(const char *s);

#endif /* GRADIENT_NIX_DRV_H */
