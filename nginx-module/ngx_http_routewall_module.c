/*
 * routewall's nginx module: an app's allowlist checked by compiled code, one function
 * call per request, instead of by maps and locations (`routewall generate --layout
 * module`; README, "Cost, measured", says why).
 *
 *     routewall_table NAME { ... }   http level, written by routewall into http.conf
 *     routewall NAME | off;          http, server or location level (location.conf)
 *
 * A location with `routewall NAME` answers 404 to every request the table does not
 * allow. The table is the tree layout's allowlist (crates/allowlist/src/layout/tree.rs,
 * build_native_tree), and the differential tests check what it allows against Werkzeug:
 *
 *   1. a raw path that nginx normalized (it differs from `$uri$is_args$args`) must match
 *      the table's `clean` regex: no dot segments (`/../`, `%2e`), which nginx resolves
 *      but proxy_pass forwards as sent;
 *   2. with a query string, the `query` regex must not match it (Werkzeug's debugger key);
 *   3. an `exact` path allows;
 *   4. a `route` that takes the path allows. Routes form a tree of segments, walked
 *      from the root with backtracking: a segment goes on by its text (one hash lookup)
 *      or by each `segment` pattern of the node that it matches, and a node's tail
 *      regexes may take the whole rest of the path (slash-crossing parameters). A pattern
 *      decides an ASCII segment itself (texts and runs of a byte class, greedy: the table
 *      guarantees each run stops where its class does) and leaves any other segment to
 *      its regex, which holds Werkzeug's code-point semantics;
 *   5. what is left are the routes that need single slashes: the longest `group` prefix
 *      of the path (prefixes end in `/`) picks the regexes to try: the group's, then its
 *      parent groups', and when no group matches, the `top` regexes. The first regex that
 *      matches decides: it allows, unless it is a `*_single` regex, the raw path holds
 *      an empty segment (the `single_slashes` regex, over the raw path, does not match)
 *      and the URI holds no `//` (nginx merged them, so the path matched is not the
 *      app's; with `merge_slashes off;` it is).
 *      No match: 404.
 *
 * Why native matching: a PCRE run costs about half a microsecond here, a byte loop over a
 * segment a few nanoseconds (README, "Cost, measured").
 *
 * Fail closed, within a budget (routewall's issue #16: crafted paths that made PCRE hit
 * its match limit on regex after regex, 180 log lines and 4 s for one request). Every
 * regex of a table is anchored at the start, and the module runs them with its own PCRE2
 * match context, so that PCRE2's limits count a whole run (they start again at each start
 * position of an unanchored one; `query`, which is searched for, runs as
 * `^(?s:.*?)(?:QUERY)`). A request's check has a budget ("The budget" below): bytes read,
 * PCRE2 match() calls over all its regex runs, and a depth and heap limit per run. A
 * regex run that ends in anything but a match or no match (a limit, say), or a budget
 * spent, ends the check there and then: 404, and one `warn` line, the path escaped so that
 * it cannot forge log lines. Nothing more runs for that request, so it logs once.
 *
 * The table is read strictly: what the module cannot use exactly fails `nginx -t` with one
 * line naming the entry (a regex that is not anchored, a second `clean`, `query`,
 * `single_slashes` or `group` of one prefix, a `segment` without items, a NUL byte in any
 * token, a table named `off`, ...).
 *
 * Everything is read and compiled at configuration time: a table nginx cannot compile
 * fails `nginx -t`, which routewall runs before writing anything. The check runs first in
 * the location's REWRITE phase: before the location's own `rewrite`, `if` and `return`
 * (handlers of a phase run last-registered first, and a dynamic module registers after
 * nginx's own), as the location layout's `if` does, and before ACCESS, which `satisfy any`
 * can cut short.
 *
 * Written against nginx's own module API (Debian's nginx-dev headers) and PCRE2, which
 * nginx links since 1.21.5; `build.sh` builds it for the installed nginx.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#if !(NGX_PCRE2)
#error "ngx_http_routewall_module needs nginx built with PCRE2 (nginx 1.21.5 or later)"
#endif


/* The most slashes (after the leading one) a group prefix may hold. */
#define NGX_HTTP_ROUTEWALL_MAX_DEPTH  64


/*
 * The budget of one request's check (nginx-module/README.md, "Limits"). No request of a
 * real app comes near it; a request that reaches it is refused (404) and logged once.
 *
 * NGX_HTTP_ROUTEWALL_BYTES: bytes read by the walk and by regex runs. A node the walk
 * visits reads its segment (to find its end, and to hash it); a segment pattern is
 * charged the whole segment, which it reads at most; a regex run its subject, which PCRE2
 * may read without a single match() call. A real app's request reads its path a few
 * dozen times: 16 MiB is 2,000 readings of an 8 KB path, about 10 ms of byte loops.
 *
 * NGX_HTTP_ROUTEWALL_CALLS: calls of PCRE2's match() (its backtracking points, what its
 * match limit counts) over all the request's regex runs. A run may first make
 * NGX_HTTP_ROUTEWALL_FIRST_CALLS; one that needs more runs again with eight times as
 * many, and so on, never more than the request has left; the request is charged every
 * limit its runs were given, so it never uses more than it is charged. routewall's
 * regexes make at most 3 calls a byte (the clean regex over an 8 KB path of `/a`
 * segments: 24,007, charged 149,760), and a regex that misses makes a few (700 such,
 * the regexes of a group holding 10,000 single-slash routes, are charged 179,200).
 * PCRE2's default match limit for one run alone is 10,000,000. A call of routewall's
 * regexes is cheap: 4,000,000 of them take about 100 ms.
 *
 * NGX_HTTP_ROUTEWALL_DEPTH, per run: PCRE2's depth limit, the nesting of backtracking
 * frames. It bounds the memory of a run, and work PCRE2 does without counting a call
 * (unwinding a recursion costs its depth at each frame: a run 4,000 deep took 25 ms in
 * 4,000 calls). routewall's deepest regexes, Unicode digits in an `int` of a non-ASCII
 * segment, nest 5 frames a character: 1,000 takes a 200-digit number.
 * NGX_HTTP_ROUTEWALL_HEAP (KiB), per run: PCRE2's heap limit, for regexes of many
 * captures, whose frames are large (routewall's take about 150 KiB at the depth limit).
 * PCRE2 keeps the largest frame vector a worker has needed, up to this.
 *
 * What PCRE2 counts is not time: a call may also scan the rest of the subject. A table's
 * regex written to do that on each of its calls (`^/(b|bb)*a*+\z` over 30 `b`s and 8 KB
 * of `a`s) spends the budget in about 3.5 s. routewall's regexes, one repetition per
 * converter, do not nest repetitions so.
 *
 * With `pcre_jit on`, PCRE2 runs JIT code: the match limit still holds (counted its JIT
 * way), the depth and heap limits give way to JIT's own 32 KiB stack.
 */
#define NGX_HTTP_ROUTEWALL_BYTES        (16 * 1024 * 1024)
#define NGX_HTTP_ROUTEWALL_CALLS        4000000
#define NGX_HTTP_ROUTEWALL_FIRST_CALLS  256
#define NGX_HTTP_ROUTEWALL_DEPTH        1000
#define NGX_HTTP_ROUTEWALL_HEAP         4096


/* The most bytes of the path a refusal logs (each may take 4, escaped). */
#define NGX_HTTP_ROUTEWALL_LOG_PATH     256


/* What a part of the check answers. ABORT: a regex failed or the budget is spent; the
 * check ends there, refused. */
#define NGX_HTTP_ROUTEWALL_NO           0
#define NGX_HTTP_ROUTEWALL_YES          1
#define NGX_HTTP_ROUTEWALL_ABORT        NGX_ABORT


typedef struct {
    ngx_regex_t               *regex;
    ngx_flag_t                 single;
} ngx_http_routewall_regex_t;


typedef struct ngx_http_routewall_group_s  ngx_http_routewall_group_t;

struct ngx_http_routewall_group_s {
    ngx_str_t                   prefix;
    ngx_http_routewall_group_t *parent;
    ngx_array_t                 regexes;     /* ngx_http_routewall_regex_t */
};


/* An open-addressing hash of strings, `mask + 1` slots (a power of two), at most half
 * full, growing as keys are added. A slot is 16 bytes and keeps its key's hash, so a
 * probe reads one slot and compares bytes only on a real candidate; an empty slot has no
 * data. Values, where a hash has them, sit apart and are read only on a hit. nginx's own
 * ngx_hash_t needs sizes tuned per key set, and its key function (`key * 31 + c`)
 * clusters paths that differ in one late character in neighbouring slots. */
typedef struct {
    uint32_t                   hash;
    uint32_t                   len;
    u_char                    *data;
} ngx_http_routewall_slot_t;


typedef struct {
    ngx_http_routewall_slot_t *slots;
    void                     **values;       /* by slot; NULL: a set */
    ngx_uint_t                 mask;
    ngx_uint_t                 count;
    ngx_flag_t                 valued;
} ngx_http_routewall_hash_t;


/* One item of a segment pattern: a text, or (text.len == 0) a run of min..max bytes of
 * the ASCII bytes marked in member. Matched greedily: a run always stops where its class
 * does, which the table guarantees (a run never precedes another run or a text whose
 * first byte it holds; checked when the table is read). */
typedef struct {
    ngx_str_t                  text;
    size_t                     min;
    size_t                     max;
    u_char                     member[128];
} ngx_http_routewall_item_t;


/* A segment pattern: items for an ASCII segment, the regex (over the segment with its
 * leading `/`) for any other. */
typedef struct {
    ngx_regex_t               *regex;
    ngx_array_t                items;        /* ngx_http_routewall_item_t */
} ngx_http_routewall_segment_t;


typedef struct ngx_http_routewall_node_s  ngx_http_routewall_node_t;

typedef struct {
    ngx_http_routewall_segment_t *segment;
    ngx_http_routewall_node_t    *child;
} ngx_http_routewall_edge_t;


/* A node of the routes' segment tree. Its text children live in the table's `texts`
 * hash: a slot's data is the child's own `text`, so a hit leads to the child without a
 * value, and the child's `parent` tells whose child it is (the hash of a segment starts
 * from the parent's seed, so the children of different nodes rarely collide). */
struct ngx_http_routewall_node_s {
    ngx_http_routewall_node_t *parent;
    uint32_t                   seed;
    uint32_t                   end;          /* a route ends here */
    uint64_t                   lengths;      /* bit n: a text child is n bytes long
                                                (63: 63 or more); most segments of a
                                                path skip the hash through it */
    ngx_array_t                edges;        /* ngx_http_routewall_edge_t */
    ngx_array_t                tails;        /* ngx_regex_t *, over the rest */
    u_char                     text[1];      /* the segment that leads here */
};


typedef struct {
    ngx_str_t                  name;
    ngx_regex_t               *clean;
    ngx_regex_t               *query;
    ngx_regex_t               *single_slashes;
    ngx_http_routewall_hash_t  exact;
    ngx_http_routewall_hash_t  groups;
    ngx_uint_t                 group_depth;  /* most slashes in a group prefix */
    ngx_array_t                top;          /* ngx_http_routewall_regex_t */
    ngx_http_routewall_node_t *root;         /* NULL: no routes */
    ngx_http_routewall_hash_t  texts;        /* text edges of the nodes */
    ngx_array_t                segments;     /* ngx_http_routewall_segment_t */
    uint32_t                   nodes;

    /* While the block is read. */
    ngx_array_t                exact_list;   /* ngx_str_t */
    ngx_array_t                group_list;   /* ngx_http_routewall_group_t * */
    ngx_http_routewall_group_t *current;
} ngx_http_routewall_table_t;


typedef struct {
    ngx_array_t                tables;       /* ngx_http_routewall_table_t * */

    /* The module's own, for its limits (nginx runs its regexes with PCRE2's defaults);
     * a worker checks one request at a time. */
    pcre2_match_context       *match_context;
    pcre2_match_data          *match_data;
} ngx_http_routewall_main_conf_t;


typedef struct {
    ngx_http_routewall_table_t *table;       /* NULL: off */
    ngx_flag_t                  set;
} ngx_http_routewall_loc_conf_t;


/* One request's check: what it checks against, and what is left of its budget. */
typedef struct {
    ngx_http_request_t             *r;
    ngx_http_routewall_table_t     *table;
    ngx_http_routewall_main_conf_t *rmcf;
    size_t                          bytes;   /* NGX_HTTP_ROUTEWALL_BYTES left */
    ngx_uint_t                      calls;   /* NGX_HTTP_ROUTEWALL_CALLS left */
} ngx_http_routewall_check_t;


static char *ngx_http_routewall_table_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_routewall_table_line(ngx_conf_t *cf, ngx_command_t *dummy,
    void *conf);
static char *ngx_http_routewall(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static void *ngx_http_routewall_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_routewall_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_routewall_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_routewall_init(ngx_conf_t *cf);


static ngx_command_t  ngx_http_routewall_commands[] = {

    { ngx_string("routewall_table"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_TAKE1,
      ngx_http_routewall_table_block,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("routewall"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_routewall,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_routewall_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_routewall_init,               /* postconfiguration */

    ngx_http_routewall_create_main_conf,   /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_routewall_create_loc_conf,    /* create location configuration */
    ngx_http_routewall_merge_loc_conf      /* merge location configuration */
};


ngx_module_t  ngx_http_routewall_module = {
    NGX_MODULE_V1,
    &ngx_http_routewall_module_ctx,        /* module context */
    ngx_http_routewall_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* The hash */

/* Eight bytes at a time, then a final mix, so the low bits that pick a slot depend on
 * every byte (a byte-at-a-time FNV-1a cost about twice as much on paths). */
static ngx_inline uint32_t
ngx_http_routewall_hash(uint32_t seed, u_char *p, size_t len)
{
    uint64_t  h, w;

    h = seed ^ ((uint64_t) len * 0x9e3779b97f4a7c15ULL);

    while (len >= 8) {
        ngx_memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
        p += 8;
        len -= 8;
    }

    if (len) {
        w = 0;
        ngx_memcpy(&w, p, len);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
    }

    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;

    return (uint32_t) h;
}


/* The slot of a key, or NULL. */
static ngx_http_routewall_slot_t *
ngx_http_routewall_hash_find(ngx_http_routewall_hash_t *hash, u_char *data,
    size_t len, uint32_t h)
{
    ngx_uint_t                  i;
    ngx_http_routewall_slot_t  *slot;

    if (hash->slots == NULL) {
        return NULL;
    }

    /* Bounded: the hash is at most half full, so an empty slot ends the probe. */
    for (i = h & hash->mask; /* void */; i = (i + 1) & hash->mask) {
        slot = &hash->slots[i];

        if (slot->data == NULL) {
            return NULL;
        }

        if (slot->hash == h && slot->len == len
            && ngx_memcmp(slot->data, data, len) == 0)
        {
            return slot;
        }
    }
}


/* The child of `node` reached by the segment `data`, or NULL. */
static ngx_http_routewall_node_t *
ngx_http_routewall_text_find(ngx_http_routewall_hash_t *hash,
    ngx_http_routewall_node_t *node, u_char *data, size_t len)
{
    uint32_t                    h;
    ngx_uint_t                  i;
    ngx_http_routewall_node_t  *child;
    ngx_http_routewall_slot_t  *slot;

    if (hash->slots == NULL) {
        return NULL;
    }

    h = ngx_http_routewall_hash(node->seed, data, len);

    /* Bounded: the hash is at most half full, so an empty slot ends the probe. */
    for (i = h & hash->mask; /* void */; i = (i + 1) & hash->mask) {
        slot = &hash->slots[i];

        if (slot->data == NULL) {
            return NULL;
        }

        if (slot->hash != h || slot->len != len) {
            continue;
        }

        child = (ngx_http_routewall_node_t *)
                    (slot->data - offsetof(ngx_http_routewall_node_t, text));

        if (child->parent == node && ngx_memcmp(slot->data, data, len) == 0) {
            return child;
        }
    }
}


/* Adds a key known to be absent, growing the hash to stay at most half full. */
static ngx_int_t
ngx_http_routewall_hash_add(ngx_conf_t *cf, ngx_http_routewall_hash_t *hash,
    u_char *data, size_t len, uint32_t h, void *value)
{
    void                      **old_values;
    ngx_uint_t                  i, j, n, size;
    ngx_http_routewall_slot_t  *old;

    if (hash->slots == NULL || 2 * (hash->count + 1) > hash->mask + 1) {
        old = hash->slots;
        old_values = hash->values;
        n = old ? hash->mask + 1 : 0;
        size = old ? 2 * n : 64;

        hash->slots = ngx_pcalloc(cf->pool, size * sizeof(ngx_http_routewall_slot_t));
        if (hash->slots == NULL) {
            return NGX_ERROR;
        }

        if (hash->valued) {
            hash->values = ngx_pcalloc(cf->pool, size * sizeof(void *));
            if (hash->values == NULL) {
                return NGX_ERROR;
            }
        }

        hash->mask = size - 1;

        for (i = 0; i < n; i++) {
            if (old[i].data == NULL) {
                continue;
            }

            /* Bounded, as every probe: the hash is at most half full. */
            for (j = old[i].hash & hash->mask;
                 hash->slots[j].data != NULL;
                 j = (j + 1) & hash->mask)
            {
                /* void */
            }

            hash->slots[j] = old[i];

            if (hash->valued) {
                hash->values[j] = old_values[i];
            }
        }
    }

    for (j = h & hash->mask; hash->slots[j].data != NULL; j = (j + 1) & hash->mask) {
        /* void */
    }

    /* Every key has data, even an empty one (a trailing slash's text edge). */
    hash->slots[j].data = data ? data : (u_char *) "";
    hash->slots[j].len = len;
    hash->slots[j].hash = h;

    if (hash->valued) {
        hash->values[j] = value;
    }

    hash->count++;

    return NGX_OK;
}


/* Configuration */

static ngx_regex_t *
ngx_http_routewall_compile(ngx_conf_t *cf, ngx_str_t *pattern)
{
    u_char               errstr[NGX_MAX_CONF_ERRSTR];
    ngx_regex_compile_t  rc;

    ngx_memzero(&rc, sizeof(ngx_regex_compile_t));

    rc.pattern = *pattern;
    rc.pool = cf->pool;
    rc.err.len = NGX_MAX_CONF_ERRSTR;
    rc.err.data = errstr;

    if (ngx_regex_compile(&rc) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V", &rc.err);
        return NULL;
    }

    return rc.regex;
}


/* A regex of the `entry` kind that must be anchored at the start: it starts with `^`, and
 * PCRE2 agrees that every branch does (`^a|b` does not). Unanchored, a must-match regex
 * would take any path that merely holds a match, and PCRE2's limits would count each
 * start position afresh. An empty regex does not start with `^`. */
static ngx_regex_t *
ngx_http_routewall_compile_anchored(ngx_conf_t *cf, const char *entry,
    ngx_str_t *pattern)
{
    uint32_t      options;
    ngx_regex_t  *re;

    if (pattern->len == 0 || pattern->data[0] != '^') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "routewall_table %s regex \"%V\" must start with \"^\"",
                           entry, pattern);
        return NULL;
    }

    re = ngx_http_routewall_compile(cf, pattern);
    if (re == NULL) {
        return NULL;
    }

    if (pcre2_pattern_info(re, PCRE2_INFO_ALLOPTIONS, &options) != 0
        || !(options & PCRE2_ANCHORED))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "routewall_table %s regex \"%V\" is not anchored: each "
                           "of its branches must start with \"^\"", entry, pattern);
        return NULL;
    }

    return re;
}


/* The `query` regex, which is searched for in the query string, as one anchored run:
 * `^(?s:.*?)(?:REGEX)` tries REGEX at each position in turn, all of it under one match
 * limit. (`^` inside REGEX still means the string's start.) */
static ngx_regex_t *
ngx_http_routewall_compile_search(ngx_conf_t *cf, ngx_str_t *pattern)
{
    ngx_str_t  search;

    if (pattern->len == 0) {
        /* It would match every query string. */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "routewall_table query regex must not be empty");
        return NULL;
    }

    search.len = sizeof("^(?s:.*?)(?:") - 1 + pattern->len + 1;
    search.data = ngx_pnalloc(cf->pool, search.len);
    if (search.data == NULL) {
        return NULL;
    }

    ngx_sprintf(search.data, "^(?s:.*?)(?:%V)", pattern);

    return ngx_http_routewall_compile_anchored(cf, "query", &search);
}


/* The group of exactly this prefix, or NULL. */
static ngx_http_routewall_group_t *
ngx_http_routewall_group(ngx_http_routewall_table_t *table, u_char *data, size_t len)
{
    ngx_http_routewall_slot_t  *slot;

    slot = ngx_http_routewall_hash_find(&table->groups, data, len,
                                        ngx_http_routewall_hash(0, data, len));

    return slot ? table->groups.values[slot - table->groups.slots] : NULL;
}


static ngx_http_routewall_table_t *
ngx_http_routewall_find_table(ngx_http_routewall_main_conf_t *rmcf, ngx_str_t *name)
{
    ngx_uint_t                   i;
    ngx_http_routewall_table_t **tables;

    tables = rmcf->tables.elts;

    for (i = 0; i < rmcf->tables.nelts; i++) {
        if (tables[i]->name.len == name->len
            && ngx_strncmp(tables[i]->name.data, name->data, name->len) == 0)
        {
            return tables[i];
        }
    }

    return NULL;
}


static char *
ngx_http_routewall_table_block(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_routewall_main_conf_t *rmcf = conf;

    char                        *rv;
    u_char                      *p;
    uint32_t                     h;
    ngx_str_t                   *value, *keys;
    ngx_uint_t                   i, slashes;
    ngx_conf_t                   save;
    ngx_http_routewall_group_t **groups, *group;
    ngx_http_routewall_table_t  *table, **slot;

    value = cf->args->elts;

    if (ngx_strlchr(value[1].data, value[1].data + value[1].len, '\0') != NULL) {
        return "name holds a NUL byte";
    }

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        return "name \"off\" is reserved: \"routewall off\" switches the check off";
    }

    if (ngx_http_routewall_find_table(rmcf, &value[1]) != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "routewall_table \"%V\" is duplicate", &value[1]);
        return NGX_CONF_ERROR;
    }

    table = ngx_pcalloc(cf->pool, sizeof(ngx_http_routewall_table_t));
    if (table == NULL) {
        return NGX_CONF_ERROR;
    }

    table->name = value[1];
    table->groups.valued = 1;

    if (ngx_array_init(&table->top, cf->pool, 4,
                       sizeof(ngx_http_routewall_regex_t)) != NGX_OK
        || ngx_array_init(&table->exact_list, cf->pool, 64, sizeof(ngx_str_t))
           != NGX_OK
        || ngx_array_init(&table->group_list, cf->pool, 16,
                          sizeof(ngx_http_routewall_group_t *)) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    save = *cf;
    cf->handler = ngx_http_routewall_table_line;
    cf->handler_conf = (char *) table;

    rv = ngx_conf_parse(cf, NULL);

    *cf = save;

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (table->clean == NULL) {
        /* Without it a raw `/a/../b` would be checked as nginx's `/b`. */
        return "has no \"clean\" regex";
    }

    keys = table->exact_list.elts;

    for (i = 0; i < table->exact_list.nelts; i++) {
        h = ngx_http_routewall_hash(0, keys[i].data, keys[i].len);

        if (ngx_http_routewall_hash_find(&table->exact, keys[i].data, keys[i].len, h)
            == NULL
            && ngx_http_routewall_hash_add(cf, &table->exact, keys[i].data,
                                           keys[i].len, h, NULL) != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    groups = table->group_list.elts;

    /* A group's parent is the longest other group its prefix starts with. */
    for (i = 0; i < table->group_list.nelts; i++) {
        group = groups[i];
        slashes = 0;

        /* Bounded: from the prefix's end back to its start. */
        for (p = group->prefix.data + group->prefix.len - 1;
             p > group->prefix.data;
             p--)
        {
            if (p[-1] != '/') {
                continue;
            }

            slashes++;

            if (group->parent == NULL) {
                group->parent = ngx_http_routewall_group(table, group->prefix.data,
                                                         p - group->prefix.data);
            }
        }

        if (slashes > NGX_HTTP_ROUTEWALL_MAX_DEPTH) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "routewall_table group \"%V\" is deeper than %d "
                               "segments", &group->prefix,
                               NGX_HTTP_ROUTEWALL_MAX_DEPTH);
            return NGX_CONF_ERROR;
        }

        if (slashes > table->group_depth) {
            table->group_depth = slashes;
        }
    }

    slot = ngx_array_push(&rmcf->tables);
    if (slot == NULL) {
        return NGX_CONF_ERROR;
    }

    *slot = table;

    return NGX_CONF_OK;
}


/* `regex`, `regex_single`, `top` or `top_single` (the entry) REGEX. */
static char *
ngx_http_routewall_push_regex(ngx_conf_t *cf, ngx_array_t *list,
    ngx_str_t *entry, ngx_str_t *pattern, ngx_flag_t single)
{
    ngx_http_routewall_regex_t  *r;

    r = ngx_array_push(list);
    if (r == NULL) {
        return NGX_CONF_ERROR;
    }

    r->single = single;
    r->regex = ngx_http_routewall_compile_anchored(cf, (char *) entry->data, pattern);

    return r->regex ? NGX_CONF_OK : NGX_CONF_ERROR;
}


/* The most steps a route may take: the walk recurses once per step. */
#define NGX_HTTP_ROUTEWALL_MAX_STEPS  256


/* A new node, child of `parent` (NULL: the root) by `text`. */
static ngx_http_routewall_node_t *
ngx_http_routewall_node(ngx_conf_t *cf, ngx_http_routewall_table_t *table,
    ngx_http_routewall_node_t *parent, ngx_str_t *text)
{
    ngx_http_routewall_node_t  *node;

    node = ngx_pcalloc(cf->pool, sizeof(ngx_http_routewall_node_t)
                                 + (text ? text->len : 0));
    if (node == NULL) {
        return NULL;
    }

    node->parent = parent;
    node->seed = table->nodes++ * 0x9e3779b1u;

    if (text) {
        ngx_memcpy(node->text, text->data, text->len);
    }

    return node;
}


static void *
ngx_http_routewall_push(ngx_conf_t *cf, ngx_array_t *a, size_t size)
{
    if (a->nalloc == 0 && ngx_array_init(a, cf->pool, 2, size) != NGX_OK) {
        return NULL;
    }

    return ngx_array_push(a);
}


/* `~BITS:MIN:MAX`: 32 hex digits of the ASCII members (the last digit holds bytes 0-3),
 * the fewest and the most bytes (`-`: no limit). */
static ngx_int_t
ngx_http_routewall_run(ngx_str_t *arg, ngx_http_routewall_item_t *item)
{
    u_char      *p, *colon, *last;
    ngx_int_t    n, digit;
    ngx_uint_t   i, b;

    if (arg->len < 1 + 32 + 4 || arg->data[33] != ':') {
        return NGX_ERROR;
    }

    for (i = 0; i < 32; i++) {
        digit = ngx_hextoi(&arg->data[1 + i], 1);
        if (digit == NGX_ERROR) {
            return NGX_ERROR;
        }

        for (b = 0; b < 4; b++) {
            item->member[4 * (31 - i) + b] = (digit >> b) & 1;
        }
    }

    p = arg->data + 34;
    last = arg->data + arg->len;
    colon = ngx_strlchr(p, last, ':');
    if (colon == NULL) {
        return NGX_ERROR;
    }

    n = ngx_atoi(p, colon - p);
    if (n == NGX_ERROR) {
        return NGX_ERROR;
    }

    item->min = n;
    p = colon + 1;

    if (last - p == 1 && *p == '-') {
        item->max = NGX_MAX_SIZE_T_VALUE;
        return NGX_OK;
    }

    n = ngx_atoi(p, last - p);
    if (n == NGX_ERROR || (size_t) n < item->min) {
        return NGX_ERROR;
    }

    item->max = n;

    return NGX_OK;
}


/* segment REGEX ITEM... */
static char *
ngx_http_routewall_segment(ngx_conf_t *cf, ngx_http_routewall_table_t *table)
{
    ngx_str_t                     *value;
    ngx_uint_t                     i;
    ngx_http_routewall_item_t     *item, *items;
    ngx_http_routewall_segment_t  *segment;

    value = cf->args->elts;

    /* Routes point into the segments' array, which may move as it grows. */
    if (table->root != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "routewall_table segment after a route");
        return NGX_CONF_ERROR;
    }

    segment = ngx_http_routewall_push(cf, &table->segments,
                                      sizeof(ngx_http_routewall_segment_t));
    if (segment == NULL
        || ngx_array_init(&segment->items, cf->pool, cf->args->nelts,
                          sizeof(ngx_http_routewall_item_t)) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    segment->regex = ngx_http_routewall_compile_anchored(cf, "segment", &value[1]);
    if (segment->regex == NULL) {
        return NGX_CONF_ERROR;
    }

    /* Without items an ASCII segment would be matched by nothing but the empty one,
     * whatever the regex says. */
    if (cf->args->nelts < 3) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "routewall_table segment \"%V\" has no items", &value[1]);
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        item = ngx_array_push(&segment->items);
        if (item == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(item, sizeof(ngx_http_routewall_item_t));

        if (value[i].len > 1 && value[i].data[0] == '='
            && ngx_strlchr(value[i].data, value[i].data + value[i].len, '/') == NULL)
        {
            item->text.data = value[i].data + 1;
            item->text.len = value[i].len - 1;
            continue;
        }

        if (value[i].data[0] != '~' || ngx_http_routewall_run(&value[i], item) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "routewall_table segment item \"%V\" is neither "
                               "\"=TEXT\" without \"/\" nor \"~BITS:MIN:MAX\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    /* Greedy matching is exact only when each run stops where its class does. */
    items = segment->items.elts;

    for (i = 0; i + 1 < segment->items.nelts; i++) {
        if (items[i].text.len == 0
            && (items[i + 1].text.len == 0
                || (items[i + 1].text.data[0] < 0x80
                    && items[i].member[items[i + 1].text.data[0]])))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "routewall_table segment item \"%V\" can take what "
                               "follows it", &value[i + 2]);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* route STEP...: `=TEXT`, `@N` or, last, `*REGEX` */
static char *
ngx_http_routewall_route(ngx_conf_t *cf, ngx_http_routewall_table_t *table)
{
    ngx_str_t                     *value, text;
    ngx_int_t                      n;
    ngx_uint_t                     i, j;
    ngx_regex_t                  **tail;
    ngx_http_routewall_edge_t     *edge;
    ngx_http_routewall_node_t     *node, *child;
    ngx_http_routewall_segment_t  *segment;

    value = cf->args->elts;

    if (cf->args->nelts > 1 + NGX_HTTP_ROUTEWALL_MAX_STEPS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "routewall_table route takes more than %d steps",
                           NGX_HTTP_ROUTEWALL_MAX_STEPS);
        return NGX_CONF_ERROR;
    }

    if (table->root == NULL) {
        table->root = ngx_http_routewall_node(cf, table, NULL, NULL);
        if (table->root == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    node = table->root;

    for (i = 1; i < cf->args->nelts; i++) {
        switch (value[i].len ? value[i].data[0] : '\0') {

        case '=':
            text.data = value[i].data + 1;
            text.len = value[i].len - 1;

            if (ngx_strlchr(text.data, text.data + text.len, '/') != NULL) {
                goto invalid;
            }

            child = ngx_http_routewall_text_find(&table->texts, node, text.data,
                                                 text.len);

            if (child == NULL) {
                node->lengths |= (uint64_t) 1 << ngx_min(text.len, 63);
                child = ngx_http_routewall_node(cf, table, node, &text);
                if (child == NULL
                    || ngx_http_routewall_hash_add(cf, &table->texts, child->text,
                           text.len,
                           ngx_http_routewall_hash(node->seed, text.data, text.len),
                           NULL) != NGX_OK)
                {
                    return NGX_CONF_ERROR;
                }
            }

            node = child;
            break;

        case '@':
            n = ngx_atoi(value[i].data + 1, value[i].len - 1);
            if (n == NGX_ERROR || (ngx_uint_t) n >= table->segments.nelts) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "routewall_table route step \"%V\" names no "
                                   "segment defined before it", &value[i]);
                return NGX_CONF_ERROR;
            }

            segment = (ngx_http_routewall_segment_t *) table->segments.elts + n;
            child = NULL;
            edge = node->edges.elts;

            for (j = 0; j < node->edges.nelts; j++) {
                if (edge[j].segment == segment) {
                    child = edge[j].child;
                    break;
                }
            }

            if (child == NULL) {
                edge = ngx_http_routewall_push(cf, &node->edges,
                                               sizeof(ngx_http_routewall_edge_t));
                child = ngx_http_routewall_node(cf, table, node, NULL);
                if (edge == NULL || child == NULL) {
                    return NGX_CONF_ERROR;
                }

                edge->segment = segment;
                edge->child = child;
            }

            node = child;
            break;

        case '*':
            /* Anchored: an unanchored tail would take any rest that merely holds it. */
            if (i + 1 != cf->args->nelts || value[i].len < 2 || value[i].data[1] != '^') {
                goto invalid;
            }

            text.data = value[i].data + 1;
            text.len = value[i].len - 1;

            tail = ngx_http_routewall_push(cf, &node->tails, sizeof(ngx_regex_t *));
            if (tail == NULL) {
                return NGX_CONF_ERROR;
            }

            *tail = ngx_http_routewall_compile_anchored(cf, "route tail", &text);

            return *tail ? NGX_CONF_OK : NGX_CONF_ERROR;

        default:
            goto invalid;
        }
    }

    node->end = 1;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "routewall_table route step \"%V\" is neither \"=TEXT\" "
                       "without \"/\", \"@N\" nor, last, \"*^REGEX\"", &value[i]);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_routewall_table_line(ngx_conf_t *cf, ngx_command_t *dummy, void *conf)
{
    ngx_http_routewall_table_t *table = (ngx_http_routewall_table_t *) conf;

    uint32_t                      h;
    ngx_str_t                    *value, *key;
    ngx_uint_t                    i;
    ngx_regex_t                 **single;
    ngx_http_routewall_group_t   *group, **slot;

    value = cf->args->elts;

    /* Tokens are compared as C strings below (`route\0x` would pass for `route`), and
     * none has a use for a NUL byte. */
    for (i = 0; i < cf->args->nelts; i++) {
        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, '\0') != NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "routewall_table entry \"%s\" holds a NUL byte",
                               value[0].data);
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_strcmp(value[0].data, "route") == 0
        || ngx_strcmp(value[0].data, "segment") == 0)
    {
        if (cf->args->nelts < 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "routewall_table entry \"%V\" takes arguments",
                               &value[0]);
            return NGX_CONF_ERROR;
        }

        return value[0].data[0] == 'r' ? ngx_http_routewall_route(cf, table)
                                       : ngx_http_routewall_segment(cf, table);
    }

    if (cf->args->nelts != 2) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "routewall_table entry \"%V\" takes one argument",
                           &value[0]);
        return NGX_CONF_ERROR;
    }

    if (ngx_strcmp(value[0].data, "clean") == 0
        || ngx_strcmp(value[0].data, "query") == 0
        || ngx_strcmp(value[0].data, "single_slashes") == 0)
    {
        single = value[0].data[0] == 'c' ? &table->clean
                 : value[0].data[0] == 'q' ? &table->query
                 : &table->single_slashes;

        if (*single != NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "routewall_table entry \"%V\" is duplicate",
                               &value[0]);
            return NGX_CONF_ERROR;
        }

        *single = single == &table->query
                  ? ngx_http_routewall_compile_search(cf, &value[1])
                  : ngx_http_routewall_compile_anchored(cf, (char *) value[0].data,
                                                        &value[1]);
        return *single ? NGX_CONF_OK : NGX_CONF_ERROR;
    }

    if (ngx_strcmp(value[0].data, "exact") == 0) {
        key = ngx_array_push(&table->exact_list);
        if (key == NULL) {
            return NGX_CONF_ERROR;
        }

        *key = value[1];
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[0].data, "group") == 0) {
        if (value[1].len < 3
            || value[1].data[0] != '/'
            || value[1].data[value[1].len - 1] != '/')
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "routewall_table group \"%V\" must start and end "
                               "with \"/\"", &value[1]);
            return NGX_CONF_ERROR;
        }

        /* A second group of a prefix would never be looked up: its regexes would be
         * silently left out. */
        h = ngx_http_routewall_hash(0, value[1].data, value[1].len);

        if (ngx_http_routewall_hash_find(&table->groups, value[1].data, value[1].len,
                                         h)
            != NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "routewall_table group \"%V\" is duplicate", &value[1]);
            return NGX_CONF_ERROR;
        }

        group = ngx_pcalloc(cf->pool, sizeof(ngx_http_routewall_group_t));
        slot = ngx_array_push(&table->group_list);
        if (group == NULL || slot == NULL
            || ngx_array_init(&group->regexes, cf->pool, 4,
                              sizeof(ngx_http_routewall_regex_t)) != NGX_OK
            || ngx_http_routewall_hash_add(cf, &table->groups, value[1].data,
                                           value[1].len, h, group) != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        group->prefix = value[1];
        *slot = group;
        table->current = group;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[0].data, "regex") == 0
        || ngx_strcmp(value[0].data, "regex_single") == 0)
    {
        if (table->current == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "routewall_table \"%V\" before any \"group\"",
                               &value[0]);
            return NGX_CONF_ERROR;
        }

        return ngx_http_routewall_push_regex(cf, &table->current->regexes,
                                             &value[0], &value[1], value[0].len > 5);
    }

    if (ngx_strcmp(value[0].data, "top") == 0
        || ngx_strcmp(value[0].data, "top_single") == 0)
    {
        return ngx_http_routewall_push_regex(cf, &table->top, &value[0], &value[1],
                                             value[0].len > 3);
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "unknown routewall_table entry \"%V\"", &value[0]);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_routewall(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_routewall_loc_conf_t *rlcf = conf;

    ngx_str_t                       *value;
    ngx_http_routewall_main_conf_t  *rmcf;

    if (rlcf->set) {
        return "is duplicate";
    }

    value = cf->args->elts;
    rlcf->set = 1;

    if (ngx_strlchr(value[1].data, value[1].data + value[1].len, '\0') != NULL) {
        return "holds a NUL byte";
    }

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        rlcf->table = NULL;
        return NGX_CONF_OK;
    }

    /* Tables are defined at http level, before any use (http.conf comes first). */
    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_routewall_module);
    rlcf->table = ngx_http_routewall_find_table(rmcf, &value[1]);

    if (rlcf->table == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no routewall_table \"%V\" defined before this line",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_routewall_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_routewall_main_conf_t  *rmcf;

    rmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_routewall_main_conf_t));
    if (rmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&rmcf->tables, cf->pool, 2,
                       sizeof(ngx_http_routewall_table_t *)) != NGX_OK)
    {
        return NULL;
    }

    return rmcf;
}


static void *
ngx_http_routewall_create_loc_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_routewall_loc_conf_t));
}


static char *
ngx_http_routewall_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_routewall_loc_conf_t *prev = parent;
    ngx_http_routewall_loc_conf_t *conf = child;

    if (!conf->set) {
        conf->table = prev->table;
        conf->set = prev->set;
    }

    return NGX_CONF_OK;
}


/* The check */

/* Marks a request whose check has logged its refusal: an internal redirect
 * (`error_page`) checks the request again, its module contexts cleared but its pool
 * kept. */
static void
ngx_http_routewall_logged(void *data)
{
    /* void */
}


/* `len` bytes of `src` for a log line, at most `n` of them and then `...`: bytes
 * outside 0x21-0x7e, `"` and `\` as `\xHH`, so that they can neither end the line (and
 * forge the next) nor leave its quotes. `dst` holds 4 * n + 3 bytes. */
static size_t
ngx_http_routewall_escape(u_char *dst, u_char *src, size_t len, size_t n)
{
    u_char         *p, *last;
    static u_char   hex[] = "0123456789ABCDEF";

    p = dst;
    last = src + ngx_min(len, n);

    /* Bounded: at most n bytes. */
    for ( /* void */ ; src < last; src++) {
        if (*src < 0x21 || *src > 0x7e || *src == '"' || *src == '\\') {
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[*src >> 4];
            *p++ = hex[*src & 0xf];

        } else {
            *p++ = *src;
        }
    }

    if (len > n) {
        p = ngx_cpymem(p, "...", 3);
    }

    return p - dst;
}


/* Refuses the request whose check cannot go on, for `reason`: one `warn` line per request
 * (see ngx_http_routewall_logged), with the table's name and the path escaped. */
static ngx_int_t
ngx_http_routewall_refuse(ngx_http_routewall_check_t *ck, u_char *reason, size_t len)
{
    size_t               name_len, path_len;
    ngx_pool_cleanup_t  *cln;
    ngx_http_request_t  *r;
    u_char               name[64 * 4 + 3];
    u_char               path[NGX_HTTP_ROUTEWALL_LOG_PATH * 4 + 3];

    r = ck->r;

    /* Bounded: the cleanups of the request's pool, a few. */
    for (cln = r->pool->cleanup; cln != NULL; cln = cln->next) {
        if (cln->handler == ngx_http_routewall_logged) {
            return NGX_HTTP_ROUTEWALL_ABORT;
        }
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln != NULL) {
        cln->handler = ngx_http_routewall_logged;
    }

    name_len = ngx_http_routewall_escape(name, ck->table->name.data,
                                         ck->table->name.len, 64);
    path_len = ngx_http_routewall_escape(path, r->uri.data, r->uri.len,
                                         NGX_HTTP_ROUTEWALL_LOG_PATH);

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "routewall_table \"%*s\": %*s, request refused; path \"%*s\"",
                  name_len, name, len, reason, path_len, path);

    return NGX_HTTP_ROUTEWALL_ABORT;
}


/* A `what` regex ended in `rc`, neither a match nor no match: refused. */
static ngx_int_t
ngx_http_routewall_failed(ngx_http_routewall_check_t *ck, const char *what, int rc)
{
    u_char  *last, reason[128];

    last = ngx_snprintf(reason, sizeof(reason),
                        "its %s regex failed (" ngx_regex_exec_n " returned %d)",
                        what, rc);

    return ngx_http_routewall_refuse(ck, reason, last - reason);
}


/* The request spent its `budget` of `what`: refused. */
static ngx_int_t
ngx_http_routewall_spent(ngx_http_routewall_check_t *ck, ngx_uint_t budget,
    const char *what)
{
    u_char  *last, reason[128];

    last = ngx_snprintf(reason, sizeof(reason),
                        "the request spent its budget of %ui %s", budget, what);

    return ngx_http_routewall_refuse(ck, reason, last - reason);
}


/* Charges `n` bytes read to the request: NGX_OK, or ABORT, the budget spent. */
static ngx_inline ngx_int_t
ngx_http_routewall_read(ngx_http_routewall_check_t *ck, size_t n)
{
    if (n > ck->bytes) {
        ck->bytes = 0;
        return ngx_http_routewall_spent(ck, NGX_HTTP_ROUTEWALL_BYTES, "bytes read");
    }

    ck->bytes -= n;

    return NGX_OK;
}


/* Runs the `what` regex `re` over `s`: YES, NO or ABORT. A run that reaches its match
 * limit runs again with eight times the limit, at most the calls the request has left;
 * the request is charged each limit (see NGX_HTTP_ROUTEWALL_CALLS). Bounded: each limit
 * is taken from the calls left, so they run out, or the run ends before. */
static ngx_int_t
ngx_http_routewall_matches(ngx_http_routewall_check_t *ck, ngx_regex_t *re,
    ngx_str_t *s, const char *what)
{
    int         rc;
    ngx_uint_t  limit;

    if (ngx_http_routewall_read(ck, s->len) != NGX_OK) {
        return NGX_HTTP_ROUTEWALL_ABORT;
    }

    for (limit = NGX_HTTP_ROUTEWALL_FIRST_CALLS; /* void */; limit *= 8) {
        limit = ngx_min(limit, ck->calls);

        if (limit == 0) {
            return ngx_http_routewall_spent(ck, NGX_HTTP_ROUTEWALL_CALLS,
                                            "regex calls");
        }

        ck->calls -= limit;
        pcre2_set_match_limit(ck->rmcf->match_context, limit);

        rc = pcre2_match(re, s->data, s->len, 0, 0, ck->rmcf->match_data,
                         ck->rmcf->match_context);

        if (rc != PCRE2_ERROR_MATCHLIMIT) {
            break;
        }
    }

    if (rc >= 0) {
        return NGX_HTTP_ROUTEWALL_YES;
    }

    if (rc == PCRE2_ERROR_NOMATCH) {
        return NGX_HTTP_ROUTEWALL_NO;
    }

    /* The depth or heap limit, say: a regex that cannot run allows nothing, and the
     * check ends rather than try the next one on the same path. */
    return ngx_http_routewall_failed(ck, what, rc);
}


/* Whether `uri` holds `//`: nginx, which merges them unless told not to, did not. A
 * byte loop, since the URI may hold a decoded NUL; bounded by the URI's length. */
static ngx_flag_t
ngx_http_routewall_unmerged(ngx_str_t *uri)
{
    size_t  i;

    for (i = 1; i < uri->len; i++) {
        if (uri->data[i] == '/' && uri->data[i - 1] == '/') {
            return 1;
        }
    }

    return 0;
}


/* The first regex of `list` (`what` regexes) that matches decides: YES, or NO when it
 * is a `*_single` regex and the raw path holds an empty segment; NGX_DECLINED when none
 * matches; ABORT. Bounded: one run per regex of the list, and one of single_slashes. */
static ngx_int_t
ngx_http_routewall_try(ngx_http_routewall_check_t *ck, ngx_array_t *list,
    const char *what)
{
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    ngx_http_routewall_regex_t  *regexes;

    regexes = list->elts;

    for (i = 0; i < list->nelts; i++) {
        rc = ngx_http_routewall_matches(ck, regexes[i].regex, &ck->r->uri, what);

        if (rc == NGX_HTTP_ROUTEWALL_NO) {
            continue;
        }

        if (rc == NGX_HTTP_ROUTEWALL_YES && regexes[i].single) {
            if (ngx_http_routewall_unmerged(&ck->r->uri)) {
                /* nginx did not merge slashes (`merge_slashes off;` in the socket's
                 * default server): the path matched is the one the app routes. */
                return NGX_HTTP_ROUTEWALL_YES;
            }

            if (ck->table->single_slashes == NULL) {
                /* No single_slashes regex to ask: refuse rather than guess. */
                return NGX_HTTP_ROUTEWALL_NO;
            }

            return ngx_http_routewall_matches(ck, ck->table->single_slashes,
                                              &ck->r->unparsed_uri, "single_slashes");
        }

        return rc;
    }

    return NGX_DECLINED;
}


/* Whether the segment after `slash`, up to `end`, matches: YES, NO or ABORT; `ascii`: it
 * holds no byte of 0x80 or more (the walk found that out once for all the node's
 * patterns). */
static ngx_int_t
ngx_http_routewall_segment_matches(ngx_http_routewall_check_t *ck,
    ngx_http_routewall_segment_t *segment, u_char *slash, u_char *end,
    ngx_flag_t ascii)
{
    u_char                     *p, *start;
    size_t                      n;
    ngx_str_t                   s;
    ngx_uint_t                  i;
    ngx_http_routewall_item_t  *item;

    if (!ascii) {
        /* Code points, invalid UTF-8 and Unicode classes: PCRE's work. */
        s.data = slash;
        s.len = end - slash;
        return ngx_http_routewall_matches(ck, segment->regex, &s, "segment");
    }

    /* The items read the segment once at most. */
    if (ngx_http_routewall_read(ck, end - slash) != NGX_OK) {
        return NGX_HTTP_ROUTEWALL_ABORT;
    }

    p = slash + 1;
    item = segment->items.elts;

    /* Bounded: the pattern's items, each reading on from where the last stopped. */
    for (i = 0; i < segment->items.nelts; i++) {
        if (item[i].text.len) {
            if ((size_t) (end - p) < item[i].text.len
                || ngx_memcmp(p, item[i].text.data, item[i].text.len) != 0)
            {
                return NGX_HTTP_ROUTEWALL_NO;
            }

            p += item[i].text.len;
            continue;
        }

        for (start = p; p < end && item[i].member[*p]; p++) { /* void */ }

        n = p - start;

        if (n < item[i].min || n > item[i].max) {
            return NGX_HTTP_ROUTEWALL_NO;
        }
    }

    return p == end ? NGX_HTTP_ROUTEWALL_YES : NGX_HTTP_ROUTEWALL_NO;
}


/* Whether a route of `node` takes the rest of the path, which is empty or starts with the
 * `/` at `slash`: YES, NO or ABORT. A tail never takes an empty rest: it stands for a
 * route's last token, which starts with a `/`.
 *
 * Every edge takes exactly one segment, and every node but the root is the child of
 * exactly one edge: a text child is found by its parent and text (one hash lookup), a
 * pattern child by its one edge, and the two are distinct nodes. So a node is walked only
 * from its parent, at most once per visit of the parent, and always at the segment as
 * deep as itself: the walk visits each node at most once per request, and tries each
 * edge and runs each tail at most once. It recurses once per segment, as deep as the
 * routes go (at most NGX_HTTP_ROUTEWALL_MAX_STEPS), and each visit is charged the
 * segment it reads. */
static ngx_int_t
ngx_http_routewall_walk(ngx_http_routewall_check_t *ck, ngx_http_routewall_node_t *node,
    u_char *slash, u_char *end)
{
    u_char                     *p, high;
    ngx_int_t                   rc;
    ngx_str_t                   rest;
    ngx_uint_t                  i;
    ngx_regex_t               **tails;
    ngx_http_routewall_edge_t  *edge;
    ngx_http_routewall_node_t  *child;

    if (slash == end) {
        return node->end ? NGX_HTTP_ROUTEWALL_YES : NGX_HTTP_ROUTEWALL_NO;
    }

    /* The segment's end, and whether any of its bytes is 0x80 or more. Bounded: to the
     * segment's end. */
    high = 0;

    for (p = slash + 1; p < end && *p != '/'; p++) {
        high |= *p;
    }

    /* That loop and the hash lookup read the segment. */
    if (ngx_http_routewall_read(ck, p - slash) != NGX_OK) {
        return NGX_HTTP_ROUTEWALL_ABORT;
    }

    child = (node->lengths >> ngx_min((size_t) (p - slash - 1), 63)) & 1
            ? ngx_http_routewall_text_find(&ck->table->texts, node, slash + 1,
                                           p - slash - 1)
            : NULL;

    if (child != NULL) {
        rc = ngx_http_routewall_walk(ck, child, p, end);
        if (rc != NGX_HTTP_ROUTEWALL_NO) {
            return rc;
        }
    }

    edge = node->edges.elts;

    /* Bounded: the node's edges, each tried once. */
    for (i = 0; i < node->edges.nelts; i++) {
        rc = ngx_http_routewall_segment_matches(ck, edge[i].segment, slash, p,
                                                high < 0x80);

        if (rc == NGX_HTTP_ROUTEWALL_YES) {
            rc = ngx_http_routewall_walk(ck, edge[i].child, p, end);
        }

        if (rc != NGX_HTTP_ROUTEWALL_NO) {
            return rc;
        }
    }

    tails = node->tails.elts;
    rest.data = slash;
    rest.len = end - slash;

    /* Bounded: the node's tails, each run once. */
    for (i = 0; i < node->tails.nelts; i++) {
        rc = ngx_http_routewall_matches(ck, tails[i], &rest, "route tail");
        if (rc != NGX_HTTP_ROUTEWALL_NO) {
            return rc;
        }
    }

    return NGX_HTTP_ROUTEWALL_NO;
}


/* Whether the table allows the request: YES, NO or ABORT. */
static ngx_int_t
ngx_http_routewall_allows(ngx_http_routewall_check_t *ck)
{
    u_char                      *p, *end;
    size_t                       spelled;
    size_t                       prefix_len[NGX_HTTP_ROUTEWALL_MAX_DEPTH];
    ngx_int_t                    rc;
    ngx_uint_t                   depth;
    ngx_http_request_t          *r;
    ngx_http_routewall_table_t  *table;
    ngx_http_routewall_group_t  *group, *found;

    r = ck->r;
    table = ck->table;

    /* The usual request spells its path as nginx normalized it; only the others can
     * hold dot segments, so only they run the regex. */
    spelled = r->uri.len + (r->args.len ? 1 + r->args.len : 0);

    if (r->unparsed_uri.len != spelled
        || ngx_memcmp(r->unparsed_uri.data, r->uri.data, r->uri.len) != 0
        || (r->args.len
            && (r->unparsed_uri.data[r->uri.len] != '?'
                || ngx_memcmp(r->unparsed_uri.data + r->uri.len + 1,
                              r->args.data, r->args.len) != 0)))
    {
        rc = ngx_http_routewall_matches(ck, table->clean, &r->unparsed_uri, "clean");
        if (rc != NGX_HTTP_ROUTEWALL_YES) {
            return rc;
        }
    }

    if (r->args.len && table->query != NULL) {
        rc = ngx_http_routewall_matches(ck, table->query, &r->args, "query");
        if (rc != NGX_HTTP_ROUTEWALL_NO) {
            return rc == NGX_HTTP_ROUTEWALL_YES ? NGX_HTTP_ROUTEWALL_NO : rc;
        }
    }

    end = r->uri.data + r->uri.len;

    if (ngx_http_routewall_hash_find(&table->exact, r->uri.data, r->uri.len,
                                     ngx_http_routewall_hash(0, r->uri.data,
                                                             r->uri.len)))
    {
        return NGX_HTTP_ROUTEWALL_YES;
    }

    if (table->root != NULL && r->uri.len && r->uri.data[0] == '/') {
        rc = ngx_http_routewall_walk(ck, table->root, r->uri.data, end);
        if (rc != NGX_HTTP_ROUTEWALL_NO) {
            return rc;
        }
    }

    /* The longest group prefix of the path: groups nest, so the shorter group prefixes
     * of the path are its ancestors, tried after it through `parent`. The prefixes end
     * at the path's first group_depth slashes after the leading one. Bounded: the path,
     * and at most NGX_HTTP_ROUTEWALL_MAX_DEPTH prefixes. */
    depth = 0;

    for (p = r->uri.data + 1; p < end && depth < table->group_depth; p++) {
        if (*p == '/') {
            prefix_len[depth++] = p + 1 - r->uri.data;
        }
    }

    found = NULL;

    while (depth-- > 0 && found == NULL) {
        found = ngx_http_routewall_group(table, r->uri.data, prefix_len[depth]);
    }

    if (found == NULL) {
        rc = ngx_http_routewall_try(ck, &table->top, "top");
        return rc == NGX_DECLINED ? NGX_HTTP_ROUTEWALL_NO : rc;
    }

    /* Bounded: a parent's prefix is shorter than its child's. */
    for (group = found; group != NULL; group = group->parent) {
        rc = ngx_http_routewall_try(ck, &group->regexes, "group");
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    return NGX_HTTP_ROUTEWALL_NO;
}


static ngx_int_t
ngx_http_routewall_handler(ngx_http_request_t *r)
{
    ngx_http_routewall_check_t      ck;
    ngx_http_routewall_loc_conf_t  *rlcf;

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_routewall_module);

    if (rlcf->table == NULL) {
        return NGX_DECLINED;
    }

    ck.r = r;
    ck.table = rlcf->table;
    ck.rmcf = ngx_http_get_module_main_conf(r, ngx_http_routewall_module);
    ck.bytes = NGX_HTTP_ROUTEWALL_BYTES;
    ck.calls = NGX_HTTP_ROUTEWALL_CALLS;

    /* NO and ABORT (logged) alike: 404. */
    return ngx_http_routewall_allows(&ck) == NGX_HTTP_ROUTEWALL_YES
           ? NGX_DECLINED : NGX_HTTP_NOT_FOUND;
}


static void
ngx_http_routewall_cleanup(void *data)
{
    ngx_http_routewall_main_conf_t  *rmcf = data;

    /* Both take NULL. */
    pcre2_match_data_free(rmcf->match_data);
    pcre2_match_context_free(rmcf->match_context);
}


static ngx_int_t
ngx_http_routewall_init(ngx_conf_t *cf)
{
    ngx_pool_cleanup_t              *cln;
    ngx_http_handler_pt             *h;
    ngx_http_core_main_conf_t       *cmcf;
    ngx_http_routewall_main_conf_t  *rmcf;

    /* The match context and data live as long as the configuration; PCRE2 allocates
     * them, and a run's frames, with malloc(), not from a request's pool. */
    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_routewall_module);

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_routewall_cleanup;
    cln->data = rmcf;

    rmcf->match_context = pcre2_match_context_create(NULL);
    rmcf->match_data = pcre2_match_data_create(1, NULL);

    if (rmcf->match_context == NULL || rmcf->match_data == NULL) {
        return NGX_ERROR;
    }

    pcre2_set_depth_limit(rmcf->match_context, NGX_HTTP_ROUTEWALL_DEPTH);
    pcre2_set_heap_limit(rmcf->match_context, NGX_HTTP_ROUTEWALL_HEAP);

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_routewall_handler;

    return NGX_OK;
}
