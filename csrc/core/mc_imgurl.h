/*
** mc_imgurl.h — Sirv dynamic-imaging URLs and protected (JWT) URLs. Pure C:
** no Lua, no I/O, no clock.
**
** Contract (the Lua binding csrc/lua/mc_lua_imgurl.c is the caller):
**  1. The caller fills an array of mc_imgopt, one per option, with the name as
**     given (nested tables already flattened to dotted names: "crop.type") and
**     a typed value (string, number, boolean).
**  2. mc_imgurl_normalize checks each option against Sirv's option table:
**     short and long names ("w" = "scale.width": the wire name is the short
**     one), value types and ranges, hex colours (a leading "#" is dropped and
**     the hex lower-cased), and formats the value text. Unknown names are an
**     error in MC_IMGURL_STRICT mode and pass through otherwise; values outside
**     a known set of words (format=bmp) likewise. A flag set to false is
**     dropped. The array is then sorted by wire name (bytewise) so the same
**     options always give the same URL, and a name set twice is an error.
**     Every error message names the option as the caller gave it.
**  3. mc_imgurl_check checks the base URL and the path; mc_imgurl_write then
**     writes base + path + "?" + head + options: the path percent-encoded per
**     segment (UTF-8, RFC 3986 unreserved kept, "/" kept; or taken as it is and
**     only validated under MC_IMGURL_PATH_ENCODED), each key and value escaped
**     exactly once with mc_url_escape ("%" -> %25, "+" -> %2B, " " -> %20).
**  4. mc_imgurl_token writes the HS256 JWT of a protected URL: claims
**     {"args":{secure options},"iat","exp","aud"} (mc_jwt_sirv_claims).
*/
#ifndef MC_IMGURL_H
#define MC_IMGURL_H

#include <stddef.h>

#define MC_IMGURL_NAME_MAX 64   /* longest option name, dots included */
#define MC_IMGURL_MAX_OPTS 128  /* options in one URL */

enum {
  MC_IMGURL_STRICT = 1,        /* unknown option names and words are errors */
  MC_IMGURL_PATH_ENCODED = 2   /* the path is already percent-encoded: validate only */
};

typedef enum mc_imgval {
  MC_IMGV_STRING = 0,
  MC_IMGV_NUMBER,
  MC_IMGV_BOOL
} mc_imgval;

typedef struct mc_imgopt {
  /* filled by the caller */
  char given[MC_IMGURL_NAME_MAX + 1]; /* name as given, NUL-terminated */
  size_t givenlen;
  mc_imgval kind;
  const char *str;     /* MC_IMGV_STRING: borrowed, len bytes, NUL at str[len] */
  size_t len;
  double num;          /* MC_IMGV_NUMBER */
  int boolean;         /* MC_IMGV_BOOL */
  /* filled by mc_imgurl_normalize; read name and text with the accessors (the
  ** structs move when sorted, so they hold no pointers into themselves) */
  const char *name;    /* wire name from the table, or NULL: the given name */
  size_t namelen;
  mc_imgval wire;      /* NUMBER: a plain number (a JSON number in a token) */
  const char *text;    /* value text borrowed from str, or NULL: it is in buf */
  size_t textlen;
  char buf[40];        /* text of numbers, booleans and colours (NUL-terminated) */
} mc_imgopt;

/* The wire name and the value text (before escaping) of a normalised option. */
const char *mc_imgurl_opt_name(const mc_imgopt *o, size_t *len);
const char *mc_imgurl_opt_text(const mc_imgopt *o, size_t *len);

/*
** Check, normalise, sort opts[0..*n) in place (see 2. above). Options that are
** dropped (false flags) are removed and *n shrinks. Returns 0, or -1 with a
** message in err.
*/
int mc_imgurl_normalize(mc_imgopt *opts, size_t *n, unsigned flags, char *err, size_t errcap);

/* Check the base URL (http(s)://host[/prefix]) and the path. 0, or -1 + err. */
int mc_imgurl_check(const char *base, size_t baselen, const char *path, size_t pathlen,
                    unsigned flags, char *err, size_t errcap);

/*
** Write the URL (see 3. above) into out, snprintf-style: returns the length it
** needs; it was written completely (NUL-terminated) when that is < cap. head
** (may be NULL) is an already-encoded first query item such as "jwt=...".
** base and path must have passed mc_imgurl_check, opts mc_imgurl_normalize.
*/
size_t mc_imgurl_write(char *out, size_t cap, const char *base, size_t baselen,
                       const char *path, size_t pathlen, unsigned flags,
                       const char *head, const mc_imgopt *opts, size_t n);

/*
** The path as Sirv names the file (a token's "aud"): a leading "/" added,
** percent-decoded under MC_IMGURL_PATH_ENCODED. out needs pathlen + 2 bytes.
** Returns the length (out is NUL-terminated).
*/
size_t mc_imgurl_plain_path(const char *path, size_t pathlen, unsigned flags, char *out);

/*
** The JWT of a protected URL for the normalised secure options args[0..nargs)
** and audience aud (an absolute path: a file, a folder "/a/" or a prefix).
** snprintf-style into out: returns the token length (>= cap: too small, call
** again with more), or -1 with a message in err (empty key, exp <= iat, bad
** aud, out of memory). The message never contains the key.
*/
long mc_imgurl_token(char *out, size_t cap, const void *key, size_t keylen,
                     const char *aud, size_t audlen, long long iat, long long exp,
                     const mc_imgopt *args, size_t nargs, char *err, size_t errcap);

/* 1 when s[0..len) is well-formed UTF-8 (no overlong forms, surrogates, > U+10FFFF). */
int mc_imgurl_utf8_ok(const char *s, size_t len);

/* Number of entries in the option table, and entry i's name (for tests and docs). */
size_t mc_imgurl_option_count(void);
const char *mc_imgurl_option_name(size_t i);

#endif
