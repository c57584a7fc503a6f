/* Fast path of the results scan: k6 JSON output lines as k6 writes them.
 *
 * k6's JSON output writes every Point with one fixed layout
 *   {"metric":"M","type":"Point","data":{"time":"T","value":V,"tags":{...}[,"metadata":{...}]}}
 * A Scanner recognises exactly that layout with memchr/memcmp (no general JSON
 * parser), groups samples by (metric, raw tags text, time window) and keeps, in
 * file order, each sample's group id and value. Every other line (Metric lines,
 * other layouts, invalid lines) is handed back to Python as a "slow line", where
 * the json module decides. Values are parsed with strtod (correctly rounded, so
 * exact for Go's shortest round-trip output) after checking JSON number syntax.
 * The parse loop runs without the GIL, so two threads scan two halves of a file.
 *
 * Exemplars: for the metrics named at init (http_req_duration), a sample whose metadata
 * carries a "trace_id" (k6's http-instrumentation-tempo and `run --traces` set it) is a
 * candidate. Each key (metric, tags) keeps the few slowest and the few earliest of them
 * in two bounded heaps, so memory does not grow with the run; a line that beats neither
 * heap's root is rejected on two comparisons, before its metadata is even parsed.
 */
#define _GNU_SOURCE
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <locale.h>
#include <math.h>

/* strtod in the "C" locale whatever the process locale says (decimal point '.') */
static locale_t c_locale;

#define RECENT 8
/* Ids (strings, keys, groups) are uint32 and tables double their capacity: stopping
 * well below 2^31 keeps every "n * 2" and "id + 1" in range. Real runs have thousands. */
#define MAX_IDS (1u << 30)
/* fast_line results */
enum { LINE_OK = 0, LINE_SLOW = 1, LINE_NOMEM = -1, LINE_TOO_MANY = -2 };
typedef struct { char *text; uint32_t len; uint64_t hash; } Str;
typedef struct { uint32_t metric, tags; uint32_t gid_nowin; uint32_t ex; char ts, keep, exm; } Key;

/* A trace id: 1..EX_ID_MAX characters of [0-9A-Za-z._:-] (what propagators write). */
#define EX_ID_MAX 64
#define EX_HEAP_MAX 64
typedef struct { double v; int64_t us; uint8_t n; char id[EX_ID_MAX]; } Exemplar;

/* An interning table: byte string -> dense id. */
typedef struct { Str *items; uint32_t n, cap; uint32_t *slots; uint32_t nslots; } Intern;

/* Map of 64-bit keys -> dense ids (value + 1 in v, 0 = empty). */
typedef struct { uint64_t *k; uint32_t *v; uint32_t cap, n; } Map64;

typedef struct {
    PyObject_HEAD
    int64_t origin_us, window_us;
    char *ts_names; Py_ssize_t ts_len;          /* "name\nname": time-series metrics */
    char *skip_names; Py_ssize_t skip_len;      /* metrics whose values are not kept */
    char *ex_names; Py_ssize_t ex_len;          /* metrics whose traced samples are exemplars */
    Intern metrics, tags;
    char *metric_ts;                            /* per metric id: time-series metric? */
    char *metric_keep;                          /* per metric id: keep its values? */
    char *metric_ex;                            /* per metric id: exemplar metric? */
    size_t metric_cap;                          /* allocated length of the two above */
    Key *keys; uint32_t nkeys, capkeys;
    Map64 keymap;                               /* (metric id, tags id) -> key id */
    Map64 groupmap;                             /* (key id, window) -> gid */
    /* the last few distinct tags texts seen (pointers into the current feed buffer):
     * a request's ~12 lines cycle through a handful of tag sets */
    const char *recent[RECENT]; size_t recent_len[RECENT]; uint32_t recent_id[RECENT];
    unsigned recent_next;
    /* the last validated "YYYY-MM-DDTHH:MM:SS" and its epoch seconds: k6 stamps
     * thousands of consecutive lines within one second, so the calendar checks run
     * once per second of the run instead of once per line */
    char sec_prefix[19]; int64_t sec_value; int sec_valid;
    /* per group */
    uint32_t ng, capg;
    uint32_t *g_key; int64_t *g_win; int64_t *g_n, *g_nz, *g_first, *g_last;
    double *g_s, *g_mn, *g_mx, *g_lastv;
    /* per point, file order */
    uint32_t *p_gid; double *p_v; size_t np, capp;
    /* exemplars: per key with a traced sample, a block of ex_slow + ex_first entries
     * (the slowest as a min-heap, the earliest as a max-heap) and their two counts */
    int ex_slow, ex_first;
    Exemplar *ex; uint16_t *ex_cnt; uint32_t nex; size_t capex;  /* capex: blocks */
    /* slow lines of the last feed: offsets/lengths into its buffer */
    Py_ssize_t *slow; size_t nslow, capslow;
    int64_t lines;
    int busy;  /* feed() runs without the GIL: one call at a time per scanner */
} Scanner;

static uint64_t hash_bytes(const char *p, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
    while (n >= 8) { uint64_t w; memcpy(&w, p, 8); h = (h ^ w) * 0xff51afd7ed558ccdULL; h ^= h >> 29; p += 8; n -= 8; }
    uint64_t w = 0; memcpy(&w, p, n); h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL; h ^= h >> 32;
    return h;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 1024; while (c < need) c *= 2;
    void *q = realloc(*p, c * elem); if (!q) return -1; *p = q; *cap = c; return 0;
}

static int grow_groups(Scanner *s) {
    if (s->ng < s->capg) return 0;
    if (s->capg >= MAX_IDS) return LINE_TOO_MANY;
    uint32_t c = s->capg ? s->capg * 2 : 1024;
#define RG(f, t) { void *q = realloc(s->f, (size_t)c * sizeof(t)); if (!q) return -1; s->f = q; }
    RG(g_key, uint32_t) RG(g_win, int64_t) RG(g_n, int64_t) RG(g_nz, int64_t) RG(g_first, int64_t)
    RG(g_last, int64_t) RG(g_s, double) RG(g_mn, double) RG(g_mx, double) RG(g_lastv, double)
#undef RG
    s->capg = c; return 0;
}

static int64_t new_group(Scanner *s, uint32_t k, int64_t win) {
    int rc = grow_groups(s); if (rc) return rc;
    uint32_t g = s->ng++;
    s->g_key[g] = k; s->g_win[g] = win; s->g_n[g] = 0; s->g_nz[g] = 0; s->g_s[g] = 0;
    s->g_first[g] = INT64_MAX; s->g_last[g] = INT64_MIN; s->g_lastv[g] = 0;
    return g;
}

static int in_names(const char *names, Py_ssize_t len, const char *m, size_t n) {
    const char *p = names, *end = names + len;
    while (p < end) {
        const char *q = memchr(p, '\n', end - p); if (!q) q = end;
        if ((size_t)(q - p) == n && memcmp(p, m, n) == 0) return 1;
        p = q + 1;
    }
    return 0;
}

static int intern_rehash(Intern *t) {
    uint32_t cap = t->nslots ? t->nslots * 2 : 256;
    uint32_t *sl = calloc(cap, sizeof(uint32_t)); if (!sl) return -1;
    for (uint32_t i = 0; i < t->n; i++) {
        uint32_t j = (uint32_t)t->items[i].hash & (cap - 1);
        while (sl[j]) j = (j + 1) & (cap - 1);
        sl[j] = i + 1;
    }
    free(t->slots); t->slots = sl; t->nslots = cap; return 0;
}

/* id of the string, added if new (*added = 1); LINE_NOMEM / LINE_TOO_MANY */
static int64_t intern(Intern *t, const char *p, size_t n, int *added) {
    if (t->n >= MAX_IDS) return LINE_TOO_MANY;
    if ((t->n + 1) * 2 > t->nslots && intern_rehash(t)) return LINE_NOMEM;
    uint64_t h = hash_bytes(p, n);
    uint32_t j = (uint32_t)h & (t->nslots - 1);
    *added = 0;
    while (t->slots[j]) {
        Str *it = &t->items[t->slots[j] - 1];
        if (it->hash == h && it->len == n && memcmp(it->text, p, n) == 0) return t->slots[j] - 1;
        j = (j + 1) & (t->nslots - 1);
    }
    if (t->n == t->cap) {
        uint32_t c = t->cap ? t->cap * 2 : 256;
        Str *q = realloc(t->items, c * sizeof(Str)); if (!q) return -1; t->items = q; t->cap = c;
    }
    Str *it = &t->items[t->n];
    it->text = malloc(n ? n : 1); if (!it->text) return -1;
    memcpy(it->text, p, n); it->len = (uint32_t)n; it->hash = h;
    t->slots[j] = ++t->n; *added = 1;
    return t->n - 1;
}

static void intern_free(Intern *t) {
    for (uint32_t i = 0; i < t->n; i++) free(t->items[i].text);
    free(t->items); free(t->slots);
}

static inline uint32_t mix64(uint64_t k) { k *= 0x9E3779B97F4A7C15ULL; return (uint32_t)(k >> 32); }

static int map_rehash(Map64 *m) {
    uint32_t cap = m->cap ? m->cap * 2 : 1024;
    uint64_t *k = malloc(cap * sizeof(uint64_t)); uint32_t *v = calloc(cap, sizeof(uint32_t));
    if (!k || !v) { free(k); free(v); return -1; }
    for (uint32_t i = 0; i < m->cap; i++) if (m->v[i]) {
        uint32_t j = mix64(m->k[i]) & (cap - 1);
        while (v[j]) j = (j + 1) & (cap - 1);
        k[j] = m->k[i]; v[j] = m->v[i];
    }
    free(m->k); free(m->v); m->k = k; m->v = v; m->cap = cap; return 0;
}

/* slot of key (found or empty); -1 = out of memory */
static int64_t map_slot(Map64 *m, uint64_t key) {
    if ((m->n + 1) * 2 > m->cap && map_rehash(m)) return -1;
    uint32_t j = mix64(key) & (m->cap - 1);
    while (m->v[j] && m->k[j] != key) j = (j + 1) & (m->cap - 1);
    return j;
}

static int64_t key_index(Scanner *s, const char *m, size_t mlen, const char *t, size_t tlen,
                         int64_t tid) {
    int added;
    /* room for a new metric's flags first: a failure after interning would leave an id
     * without flags, read out of bounds by the next line with that metric */
    if ((size_t)s->metrics.n + 1 > s->metric_cap) {  /* grown geometrically: this runs per line */
        size_t want = s->metric_cap ? s->metric_cap * 2 : 64;
        char *q = realloc(s->metric_ts, want); if (!q) return LINE_NOMEM; s->metric_ts = q;
        q = realloc(s->metric_keep, want); if (!q) return LINE_NOMEM; s->metric_keep = q;
        q = realloc(s->metric_ex, want); if (!q) return LINE_NOMEM; s->metric_ex = q;
        s->metric_cap = want;
    }
    int64_t mid = intern(&s->metrics, m, mlen, &added);
    if (mid < 0) return mid;
    if (added) {
        s->metric_ts[mid] = (char)in_names(s->ts_names, s->ts_len, m, mlen);
        s->metric_keep[mid] = (char)!in_names(s->skip_names, s->skip_len, m, mlen);
        s->metric_ex[mid] = (char)(s->ex_len > 0 && in_names(s->ex_names, s->ex_len, m, mlen));
    }
    if (tid < 0) {
        tid = intern(&s->tags, t, tlen, &added);
        if (tid < 0) return tid;
        unsigned r = s->recent_next++ % RECENT;
        s->recent[r] = t; s->recent_len[r] = tlen; s->recent_id[r] = (uint32_t)tid;
    }
    uint64_t kk = ((uint64_t)mid << 32) | (uint64_t)tid;
    int64_t j = map_slot(&s->keymap, kk);
    if (j < 0) return LINE_NOMEM;
    if (s->keymap.v[j]) return s->keymap.v[j] - 1;
    if (s->nkeys >= MAX_IDS) return LINE_TOO_MANY;
    size_t cap = s->capkeys;
    if (grow((void **)&s->keys, &cap, s->nkeys + 1, sizeof(Key))) return LINE_NOMEM;
    s->capkeys = (uint32_t)cap;
    Key *k = &s->keys[s->nkeys];
    k->metric = (uint32_t)mid; k->tags = (uint32_t)tid; k->gid_nowin = UINT32_MAX;
    k->ts = s->metric_ts[mid]; k->keep = s->metric_keep[mid]; k->exm = s->metric_ex[mid]; k->ex = UINT32_MAX;
    s->keymap.k[j] = kk; s->keymap.v[j] = ++s->nkeys; s->keymap.n++;
    return s->nkeys - 1;
}

static int64_t group_index(Scanner *s, uint32_t k, int64_t us) {
    Key *key = &s->keys[k];
    if (!key->ts) {
        if (key->gid_nowin == UINT32_MAX) {
            int64_t g = new_group(s, k, INT64_MIN); if (g < 0) return g;
            key->gid_nowin = (uint32_t)g;
        }
        return key->gid_nowin;
    }
    int64_t d = us - s->origin_us, win = d / s->window_us;
    if (d % s->window_us && d < 0) win -= 1;  /* floor division */
    /* The map key is only a hash of (key, window): windows 2^32 apart (a hostile file
     * spanning centuries) must not share a group, nor make every lookup a linear scan,
     * so a probe stops only at an empty slot or the group with exactly this pair. */
    uint64_t kk = ((uint64_t)k << 32) ^ (uint64_t)win ^ ((uint64_t)win >> 32) * 0x9E3779B97F4A7C15ULL;
    if ((s->groupmap.n + 1) * 2 > s->groupmap.cap && map_rehash(&s->groupmap)) return LINE_NOMEM;
    uint32_t mask = s->groupmap.cap - 1, j = mix64(kk) & mask;
    for (; s->groupmap.v[j]; j = (j + 1) & mask) {
        uint32_t g = s->groupmap.v[j] - 1;
        if (s->groupmap.k[j] == kk && s->g_key[g] == k && s->g_win[g] == win) return g;
    }
    int64_t g = new_group(s, k, win); if (g < 0) return g;
    s->groupmap.k[j] = kk; s->groupmap.v[j] = (uint32_t)g + 1; s->groupmap.n++;
    return g;
}

/* days since 1970-01-01 (H. Hinnant's days_from_civil) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int dig(const char *p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) { if (p[i] < '0' || p[i] > '9') return -1; v = v * 10 + (p[i] - '0'); }
    *out = v; return 0;
}

static int days_in_month(int y, int m) {
    static const char days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : days[m - 1];
}

/* RFC 3339 "YYYY-MM-DD(T| )HH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" -> epoch µs (fraction
 * truncated). Only what DuckDB's TIMESTAMPTZ cast (the reference scan) reads as the same
 * instant: a real calendar date, no leap second, upper-case T and Z, year 0001-9999.
 * Anything else is a slow line and judged in Python. */
static int parse_time(Scanner *s, const char *p, size_t n, int64_t *us) {
    int64_t secs;
    if (n < 20) return -1;
    if (s->sec_valid && memcmp(p, s->sec_prefix, 19) == 0) {
        secs = s->sec_value;  /* the same second as a line already validated */
    } else {
        int Y, M, D, h, mi, sec;
        if (p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != ' ')
            || p[13] != ':' || p[16] != ':') return -1;
        if (dig(p, 4, &Y) || dig(p + 5, 2, &M) || dig(p + 8, 2, &D) || dig(p + 11, 2, &h)
            || dig(p + 14, 2, &mi) || dig(p + 17, 2, &sec)) return -1;
        if (Y < 1 || M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h > 23 || mi > 59
            || sec > 59) return -1;
        secs = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + mi * 60 + sec;
        memcpy(s->sec_prefix, p, 19); s->sec_value = secs; s->sec_valid = 1;
    }
    size_t i = 19; int64_t frac = 0; int nd = 0;
    if (i < n && p[i] == '.') {
        i++;
        while (i < n && p[i] >= '0' && p[i] <= '9') { if (nd < 6) { frac = frac * 10 + (p[i] - '0'); } nd++; i++; }
        if (nd == 0) return -1;
        for (int k = nd; k < 6; k++) frac *= 10;
    }
    int64_t off = 0;
    if (i < n && p[i] == 'Z' && i + 1 == n) off = 0;
    else if (i + 6 == n && (p[i] == '+' || p[i] == '-') && p[i + 3] == ':') {
        int oh, om; if (dig(p + i + 1, 2, &oh) || dig(p + i + 4, 2, &om)) return -1;
        off = (int64_t)(oh * 60 + om) * 60; if (p[i] == '-') off = -off;
    } else return -1;
    *us = (secs - off) * 1000000 + frac;
    return 0;
}

/* End of a JSON object/array starting at p[0] ('{'), string-aware; NULL if not closed. */
static const char *skip_object(const char *p, const char *end) {
    int depth = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            p++;
            while (p < end && *p != '"') { if (*p == '\\') p++; p++; }
            if (p >= end) return NULL;
        } else if (c == '{' || c == '[') depth++;
        else if (c == '}' || c == ']') { if (--depth == 0) return p + 1; }
        else if (c == '\n') return NULL;
        p++;
    }
    return NULL;
}

/* ---- exemplars ----------------------------------------------------------------- */

static int ex_id_char(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '_'
        || c == ':' || c == '-';
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The contents [p, e) of a JSON string decoded into out (at most cap bytes) when they are
 * printable ASCII, written plainly or as \u00XX; -1 for anything else (other escapes,
 * control or non-ASCII bytes, too long): none of that is a trace id, nor the key
 * "trace_id". The reference scan (DuckDB) decodes escapes before it compares. */
static int ascii_string(const char *p, const char *e, char *out, int cap) {
    int n = 0;
    while (p < e) {
        unsigned char c = (unsigned char)*p++;
        if (c == '\\') {
            if (e - p < 5 || *p != 'u') return -1;
            int code = 0;
            for (int i = 1; i <= 4; i++) { int h = hexval(p[i]); if (h < 0) return -1; code = code * 16 + h; }
            if (code < 0x20 || code >= 0x7f) return -1;
            c = (unsigned char)code; p += 5;
        } else if (c < 0x20 || c >= 0x7f) return -1;
        if (n == cap) return -1;
        out[n++] = (char)c;
    }
    return n;
}

static const char *skip_ws(const char *p, const char *e) {
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Just after the JSON string that starts at p ('"'); NULL if it is not closed. */
static const char *string_end(const char *p, const char *e) {
    p++;
    while (p < e && *p != '"') { if (*p == '\\') p++; p++; }
    return p < e ? p + 1 : NULL;
}

/* The value of the metadata object [p, e)'s first top-level "trace_id" key, when it is a
 * string that is a trace id: its length, copied to out; 0 otherwise. */
static int trace_id_of(const char *p, const char *e, char *out) {
    if (p >= e || *p != '{') return 0;
    p = skip_ws(p + 1, e);
    while (p < e && *p == '"') {
        const char *ke = string_end(p, e);
        if (!ke) return 0;
        char key[8];
        int is_tid = ascii_string(p + 1, ke - 1, key, 8) == 8 && memcmp(key, "trace_id", 8) == 0;
        p = skip_ws(ke, e);
        if (p >= e || *p != ':') return 0;
        p = skip_ws(p + 1, e);
        if (p >= e) return 0;
        if (*p == '"') {
            const char *ve = string_end(p, e);
            if (!ve) return 0;
            if (is_tid) {
                int n = ascii_string(p + 1, ve - 1, out, EX_ID_MAX);
                for (int i = 0; i < n; i++) if (!ex_id_char((unsigned char)out[i])) return 0;
                return n > 0 ? n : 0;
            }
            p = ve;
        } else if (is_tid) {
            return 0;  /* the first trace_id is not a string: none (as DuckDB's ->> then) */
        } else if (*p == '{' || *p == '[') {
            p = skip_object(p, e);
            if (!p) return 0;
        } else {
            while (p < e && *p != ',' && *p != '}' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') p++;
        }
        p = skip_ws(p, e);
        if (p >= e || *p != ',') return 0;  /* '}': no trace id */
        p = skip_ws(p + 1, e);
    }
    return 0;
}

static int ex_idcmp(const Exemplar *a, const Exemplar *b) {
    int c = memcmp(a->id, b->id, a->n < b->n ? a->n : b->n);
    return c ? c : (int)a->n - (int)b->n;
}

/* The orders both engines keep (the DuckDB scan takes max/min of the same structs):
 * among the slowest, a longer duration first, then the earlier, then the larger id;
 * among the first, the earlier first, then the longer, then the smaller id. */
static int ex_slower(const Exemplar *a, const Exemplar *b) {
    if (a->v != b->v) return a->v > b->v;
    if (a->us != b->us) return a->us < b->us;
    return ex_idcmp(a, b) > 0;
}

static int ex_earlier(const Exemplar *a, const Exemplar *b) {
    if (a->us != b->us) return a->us < b->us;
    if (a->v != b->v) return a->v > b->v;
    return ex_idcmp(a, b) < 0;
}

typedef int (*ExBetter)(const Exemplar *, const Exemplar *);

/* A bounded heap whose root is its worst entry: x replaces the root when better. */
static void ex_offer(Exemplar *h, uint16_t *n, int cap, const Exemplar *x, ExBetter better) {
    int i;
    if (*n < cap) {
        i = (*n)++;
        h[i] = *x;
        while (i > 0) {
            int up = (i - 1) / 2;
            if (!better(&h[up], &h[i])) break;
            Exemplar t = h[up]; h[up] = h[i]; h[i] = t; i = up;
        }
        return;
    }
    if (cap == 0 || !better(x, &h[0])) return;
    h[0] = *x;
    i = 0;
    for (;;) {
        int w = i, c = 2 * i + 1;
        if (c < cap && better(&h[w], &h[c])) w = c;
        if (c + 1 < cap && better(&h[w], &h[c + 1])) w = c + 1;
        if (w == i) break;
        Exemplar t = h[w]; h[w] = h[i]; h[i] = t; i = w;
    }
}

/* A traced sample of key k: offered to the key's two heaps. Its metadata is [mo, me);
 * id/idlen: its trace id's text when the line's layout already delimited it (no escapes).
 * LINE_OK, LINE_NOMEM or LINE_TOO_MANY. */
static int exemplar(Scanner *s, uint32_t k, double v, int64_t us, const char *mo, const char *me,
                    const char *id, size_t idlen) {
    int K = s->ex_slow, F = s->ex_first;
    size_t per = (size_t)(K + F);
    uint32_t b = s->keys[k].ex;
    if (b != UINT32_MAX) {  /* cheap rejection first: most samples beat neither root */
        const uint16_t *cnt = &s->ex_cnt[2 * (size_t)b];
        const Exemplar *h = &s->ex[(size_t)b * per];
        int slow = K > 0 && (cnt[0] < K || v > h[0].v || (v == h[0].v && us <= h[0].us));
        int first = F > 0 && (cnt[1] < F || us < h[K].us || (us == h[K].us && v >= h[K].v));
        if (!slow && !first) return LINE_OK;
    }
    Exemplar x;
    int n = 0;
    if (id) {
        if (idlen == 0 || idlen > EX_ID_MAX) return LINE_OK;
        for (size_t i = 0; i < idlen; i++) if (!ex_id_char((unsigned char)id[i])) return LINE_OK;
        memcpy(x.id, id, idlen);
        n = (int)idlen;
    } else {
        n = trace_id_of(mo, me, x.id);
    }
    if (n <= 0) return LINE_OK;
    x.n = (uint8_t)n; x.v = v; x.us = us;
    if (b == UINT32_MAX) {  /* the key's first traced sample: its block */
        if (s->nex >= MAX_IDS) return LINE_TOO_MANY;
        if (s->nex == s->capex) {
            size_t c = s->capex ? s->capex * 2 : 64;
            Exemplar *q = realloc(s->ex, c * per * sizeof(Exemplar));
            if (!q) return LINE_NOMEM;
            s->ex = q;
            uint16_t *qc = realloc(s->ex_cnt, c * 2 * sizeof(uint16_t));
            if (!qc) return LINE_NOMEM;
            s->ex_cnt = qc;
            s->capex = c;
        }
        b = s->nex++;
        s->ex_cnt[2 * (size_t)b] = s->ex_cnt[2 * (size_t)b + 1] = 0;
        s->keys[k].ex = b;
    }
    Exemplar *h = &s->ex[(size_t)b * per];
    ex_offer(h, &s->ex_cnt[2 * (size_t)b], K, &x, ex_slower);
    ex_offer(h + K, &s->ex_cnt[2 * (size_t)b + 1], F, &x, ex_earlier);
    return LINE_OK;
}

static const double POW10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Clinger's fast path: "-?digits[.digits]" with a mantissa < 2^53 and at most 22
 * fraction digits is m / 10^k with both operands exact, so one IEEE division gives
 * the correctly rounded value (the same double strtod returns). 1 = not applicable. */
static int fast_number(const char *p, const char *end, double *out) {
    int neg = 0; uint64_t m = 0; int digits = 0, frac = 0;
    if (*p == '-') { neg = 1; p++; }
    if (p < end && *p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9') return 1;  /* leading zero */
    while (p < end && *p >= '0' && *p <= '9') { m = m * 10 + (uint64_t)(*p - '0'); digits++; p++; }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9') return 1;
        while (p < end && *p >= '0' && *p <= '9') { m = m * 10 + (uint64_t)(*p - '0'); digits++; frac++; p++; }
    }
    if (p != end || digits == 0 || digits > 19 || m > (1ULL << 53) || frac > 22) return 1;
    double d = (double)m / POW10[frac];
    *out = neg ? -d : d;
    return 0;
}

static int isdig(char c) { return c >= '0' && c <= '9'; }

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? spanning exactly [p, end) */
static int json_number(const char *p, const char *end) {
    if (p < end && *p == '-') p++;
    if (p >= end) return 0;
    if (*p == '0') p++;
    else if (isdig(*p)) { while (p < end && isdig(*p)) p++; }
    else return 0;
    if (p < end && *p == '.') { p++; if (p >= end || !isdig(*p)) return 0; while (p < end && isdig(*p)) p++; }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++; if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !isdig(*p)) return 0;
        while (p < end && isdig(*p)) p++;
    }
    return p == end;
}

static const char P_METRIC[] = "{\"metric\":\"";
static const char P_TYPE[] = "\",\"type\":\"Point\",\"data\":{\"time\":\"";
static const char P_VALUE[] = "\",\"value\":";
static const char P_TAGS[] = ",\"tags\":";
static const char P_META[] = ",\"metadata\":";
static const char P_TRACE[] = "{\"trace_id\":\"";
/* how far from a line's end its metadata object may start for the recent-tags check */
#define META_LOOK 160
#define LIT(s) (sizeof(s) - 1)

/* LINE_OK, LINE_SLOW, LINE_NOMEM or LINE_TOO_MANY */
static int fast_line(Scanner *s, const char *p, const char *end) {
    /* interned texts keep a uint32 length */
    if ((size_t)(end - p) > UINT32_MAX) return 1;
    if ((size_t)(end - p) < LIT(P_METRIC) || memcmp(p, P_METRIC, LIT(P_METRIC))) return 1;
    const char *m = p + LIT(P_METRIC);
    const char *q = memchr(m, '"', end - m);
    if (!q || memchr(m, '\\', q - m)) return 1;
    size_t mlen = q - m;
    if ((size_t)(end - q) < LIT(P_TYPE) || memcmp(q, P_TYPE, LIT(P_TYPE))) return 1;
    const char *t = q + LIT(P_TYPE);
    const char *te = memchr(t, '"', end - t);
    if (!te) return 1;
    int64_t us;
    if (parse_time(s, t, te - t, &us)) return 1;
    if ((size_t)(end - te) < LIT(P_VALUE) || memcmp(te, P_VALUE, LIT(P_VALUE))) return 1;
    const char *v = te + LIT(P_VALUE), *ve = v;
    if (ve < end && *ve == '-') ve++;
    if (ve >= end || *ve < '0' || *ve > '9') return 1;
    while (ve < end && ((*ve >= '0' && *ve <= '9') || *ve == '.' || *ve == 'e' || *ve == 'E'
                        || *ve == '+' || *ve == '-')) ve++;
    if (ve >= end || *ve != ',') return 1;
    double val;
    if (fast_number(v, ve, &val)) {
        /* strtod needs a NUL-terminated string and the buffer (a memory map of the file)
         * has none: parse a bounded copy. Longer numbers are rare: Python parses them. */
        char num[64];
        size_t nlen = (size_t)(ve - v);
        if (nlen >= sizeof(num) || !json_number(v, ve)) return 1;
        memcpy(num, v, nlen); num[nlen] = 0;
        char *numend;
        val = strtod_l(num, &numend, c_locale);
        /* 1e999 overflows to inf: not a value k6 writes; the slow path decides */
        if (numend != num + nlen || !isfinite(val)) return 1;
    }
    if ((size_t)(end - ve) < LIT(P_TAGS) || memcmp(ve, P_TAGS, LIT(P_TAGS))) return 1;
    const char *tg = ve + LIT(P_TAGS), *tge;
    int64_t tid = -1;
    if (end - tg >= 2 && *tg == '{') {
        /* Most lines repeat a recent line's tags: equal bytes followed by the closing
         * "}}" are the same complete object, already delimited and interned. */
        size_t rest = (size_t)(end - tg), want = rest - 2;
        for (int i = 0; i < RECENT; i++)
            if (s->recent[i] && s->recent_len[i] == want && memcmp(tg, s->recent[i], want) == 0) {
                tid = s->recent_id[i]; break;
            }
        if (tid < 0) {
            /* A traced request's samples: the tags are followed by a short metadata
             * object, the last "{" of the line; equal bytes before it are the same
             * complete object too (a recent one is balanced, so it ends where these do). */
            size_t look = rest < META_LOOK ? rest : META_LOOK;
            const char *mb = memrchr(end - look, '{', look);
            if (mb && (size_t)(mb - tg) > LIT(P_META) && memcmp(mb - LIT(P_META), P_META, LIT(P_META)) == 0) {
                size_t n = (size_t)(mb - LIT(P_META) - tg);
                for (int i = 0; i < RECENT; i++)
                    if (s->recent[i] && s->recent_len[i] == n && memcmp(tg, s->recent[i], n) == 0) {
                        tid = s->recent_id[i]; want = n; break;
                    }
            }
        }
        if (tid >= 0) tge = tg + want;
        else { tge = skip_object(tg, end); if (!tge) return 1; }
    }
    else if ((size_t)(end - tg) >= 4 && memcmp(tg, "null", 4) == 0) tge = tg + 4;
    else return 1;
    const char *r = tge, *mo = NULL, *tid_text = NULL;
    size_t tid_len = 0;
    if ((size_t)(end - r) > LIT(P_META) && memcmp(r, P_META, LIT(P_META)) == 0) {
        mo = r + LIT(P_META);
        if (mo >= end || *mo != '{') return 1;
        /* The layout of a traced request's samples, {"trace_id":"..."}, is delimited
         * without a character loop: a string with no quote or backslash in it, then "}"
         * (what skip_object would find). Anything else takes skip_object. */
        const char *q = NULL;
        if ((size_t)(end - mo) > LIT(P_TRACE) + 1 && memcmp(mo, P_TRACE, LIT(P_TRACE)) == 0
            && (q = memchr(mo + LIT(P_TRACE), '"', (size_t)(end - mo) - LIT(P_TRACE))) != NULL
            && q + 1 < end && q[1] == '}' && !memchr(mo + LIT(P_TRACE), '\\', (size_t)(q - mo) - LIT(P_TRACE))) {
            tid_text = mo + LIT(P_TRACE); tid_len = (size_t)(q - tid_text); r = q + 2;
        } else {
            r = skip_object(mo, end); if (!r) return 1;
        }
    }
    if (end - r != 2 || r[0] != '}' || r[1] != '}') return 1;
    int64_t k = key_index(s, m, mlen, tg, tge - tg, tid);
    if (k < 0) return (int)k;
    int64_t g = group_index(s, (uint32_t)k, us);
    if (g < 0) return (int)g;
    s->g_n[g]++; s->g_s[g] += val;
    if (s->g_n[g] == 1) { s->g_mn[g] = val; s->g_mx[g] = val; }
    else { if (val < s->g_mn[g]) s->g_mn[g] = val; if (val > s->g_mx[g]) s->g_mx[g] = val; }
    if (val != 0) s->g_nz[g]++;
    if (us < s->g_first[g]) s->g_first[g] = us;
    if (us >= s->g_last[g]) { s->g_last[g] = us; s->g_lastv[g] = val; }
    if (mo && s->keys[k].exm) {
        int rc = exemplar(s, (uint32_t)k, val, us, mo, r, tid_text, tid_len);
        if (rc) return rc;
    }
    if (!s->keys[k].keep) return 0;  /* counters, rates: the group sums are enough */
    if (s->np == s->capp) {
        size_t c = s->capp ? s->capp * 2 : 65536;
        uint32_t *a = realloc(s->p_gid, c * sizeof(uint32_t)); if (!a) return LINE_NOMEM; s->p_gid = a;
        double *b = realloc(s->p_v, c * sizeof(double)); if (!b) return LINE_NOMEM; s->p_v = b;
        s->capp = c;
    }
    s->p_gid[s->np] = (uint32_t)g; s->p_v[s->np] = val; s->np++;
    return 0;
}

/* Every method runs with the GIL, but feed() drops it while it grows the arrays the
 * other methods read (and release() frees): while a feed runs in another thread, every
 * other call on that scanner is refused. An uninitialised scanner (window 0) would
 * divide by zero. */
static int check_idle(Scanner *s) {
    if (s->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner.feed is running in another thread");
        return -1;
    }
    if (s->window_us <= 0) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner.__init__ was not called");
        return -1;
    }
    return 0;
}

static PyObject *Scanner_feed(Scanner *s, PyObject *args) {
    Py_buffer buf; int final = 0;
    if (!PyArg_ParseTuple(args, "y*|p", &buf, &final)) return NULL;
    if (check_idle(s)) { PyBuffer_Release(&buf); return NULL; }
    s->busy = 1;
    const char *base = buf.buf, *p = base, *end = base + buf.len;
    s->nslow = 0;
    int err = 0;
    memset(s->recent, 0, sizeof(s->recent));  /* they pointed into the previous buffer */
    Py_BEGIN_ALLOW_THREADS
    while (p < end) {
        const char *nl = memchr(p, '\n', end - p);
        const char *le;
        if (!nl) { if (!final) break; le = end; } else le = nl;
        const char *ls = p;
        p = nl ? nl + 1 : end;
        /* blank lines are not lines (as in read_ndjson) */
        /* (as bytes.strip(): DuckDB skips lines of \v or \f too) */
        const char *b = ls;
        while (b < le && (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\v' || *b == '\f')) b++;
        if (b == le) continue;
        s->lines++;
        int rc = fast_line(s, ls, le);
        if (rc < 0) { err = rc; break; }
        if (rc == 1) {
            if (grow((void **)&s->slow, &s->capslow, s->nslow * 2 + 2, sizeof(Py_ssize_t))) { err = 1; break; }
            s->slow[s->nslow * 2] = ls - base; s->slow[s->nslow * 2 + 1] = le - ls; s->nslow++;
        }
    }
    Py_END_ALLOW_THREADS
    s->busy = 0;
    memset(s->recent, 0, sizeof(s->recent));
    PyObject *res = NULL;
    if (err == LINE_NOMEM) { PyErr_NoMemory(); goto done; }
    if (err == LINE_TOO_MANY) {
        PyErr_SetString(PyExc_OverflowError, "more than 2^30 distinct metrics, tag sets or series");
        goto done;
    }
    if (err) { PyErr_NoMemory(); goto done; }  /* the slow-line list could not grow */
    PyObject *slow = PyList_New((Py_ssize_t)s->nslow);
    if (!slow) goto done;
    for (size_t i = 0; i < s->nslow; i++) {
        PyObject *b = PyBytes_FromStringAndSize(base + s->slow[2 * i], s->slow[2 * i + 1]);
        if (!b) { Py_DECREF(slow); goto done; }
        PyList_SET_ITEM(slow, (Py_ssize_t)i, b);
    }
    res = Py_BuildValue("nN", (Py_ssize_t)(p - base), slow);
done:
    PyBuffer_Release(&buf);
    return res;
}

/* keys(): list of (metric bytes, tags bytes) by key index */
static PyObject *Scanner_keys(Scanner *s, PyObject *unused) {
    if (check_idle(s)) return NULL;
    PyObject *out = PyList_New(s->nkeys); if (!out) return NULL;
    for (uint32_t i = 0; i < s->nkeys; i++) {
        Str *m = &s->metrics.items[s->keys[i].metric], *g = &s->tags.items[s->keys[i].tags];
        PyObject *t = Py_BuildValue("y#y#", m->text, (Py_ssize_t)m->len, g->text, (Py_ssize_t)g->len);
        if (!t) { Py_DECREF(out); return NULL; }
        PyList_SET_ITEM(out, i, t);
    }
    return out;
}

#define BYTES(ptr, n, t) PyBytes_FromStringAndSize((const char *)(ptr), (Py_ssize_t)(n) * (Py_ssize_t)sizeof(t))

/* groups(): dict of raw little-endian arrays, one entry per group */
static PyObject *Scanner_groups(Scanner *s, PyObject *unused) {
    if (check_idle(s)) return NULL;
    return Py_BuildValue("{sNsNsNsNsNsNsNsNsNsNsL}",
        "key", BYTES(s->g_key, s->ng, uint32_t), "win", BYTES(s->g_win, s->ng, int64_t),
        "n", BYTES(s->g_n, s->ng, int64_t), "nz", BYTES(s->g_nz, s->ng, int64_t),
        "first_us", BYTES(s->g_first, s->ng, int64_t), "last_us", BYTES(s->g_last, s->ng, int64_t),
        "s", BYTES(s->g_s, s->ng, double), "mn", BYTES(s->g_mn, s->ng, double),
        "mx", BYTES(s->g_mx, s->ng, double), "last_v", BYTES(s->g_lastv, s->ng, double),
        "lines", (long long)s->lines);
}

/* scatter(scanners, remaps, ngroups, keep) -> (values bytearray, offsets bytes)
 * Counting sort of every kept point by global group id; stable, so each group's
 * values stay in file order (scanners are given in file order). */
static PyTypeObject ScannerType;

static PyObject *scatter(PyObject *self, PyObject *args) {
    PyObject *scanners_arg, *remaps_arg; Py_ssize_t ng; Py_buffer keep;
    if (!PyArg_ParseTuple(args, "OOny*", &scanners_arg, &remaps_arg, &ng, &keep)) return NULL;
    if (!PyList_Check(scanners_arg) || !PyList_Check(remaps_arg)
        || PyList_GET_SIZE(scanners_arg) != PyList_GET_SIZE(remaps_arg) || keep.len != ng) {
        PyBuffer_Release(&keep); PyErr_SetString(PyExc_ValueError, "bad scatter arguments"); return NULL;
    }
    /* tuples of strong references: the lists could change (and drop their items) while
     * an allocation below runs a garbage collection */
    PyObject *scanners = PyList_AsTuple(scanners_arg), *remaps = PyList_AsTuple(remaps_arg);
    Py_ssize_t ns = scanners ? PyTuple_GET_SIZE(scanners) : 0;
    const uint8_t *kp = keep.buf;
    int64_t *off = calloc((size_t)ng + 1, sizeof(int64_t));
    Py_buffer *rb = calloc((size_t)ns + 1, sizeof(Py_buffer));
    PyObject *vals = NULL, *offs = NULL;
    if (!scanners || !remaps) goto fail;
    if (!off || !rb) { PyErr_NoMemory(); goto fail; }
    for (Py_ssize_t i = 0; i < ns; i++) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(remaps, i), &rb[i], PyBUF_SIMPLE)) { rb[i].obj = NULL; goto fail; }
        Scanner *s = (Scanner *)PyTuple_GET_ITEM(scanners, i);
        if (!PyObject_TypeCheck((PyObject *)s, &ScannerType) || rb[i].len != (Py_ssize_t)(s->ng * sizeof(int64_t))) {
            PyErr_SetString(PyExc_ValueError, "bad remap"); goto fail;
        }
        if (check_idle(s)) goto fail;
        const int64_t *map = rb[i].buf;
        for (uint32_t g = 0; g < s->ng; g++)  /* every global id must index keep and off */
            if (map[g] < 0 || map[g] >= ng) { PyErr_SetString(PyExc_ValueError, "remap out of range"); goto fail; }
        for (size_t j = 0; j < s->np; j++) { int64_t g = map[s->p_gid[j]]; if (kp[g]) off[g + 1]++; }
    }
    for (Py_ssize_t g = 0; g < ng; g++) off[g + 1] += off[g];
    vals = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(off[ng] * sizeof(double)));
    if (!vals) goto fail;
    double *out = (double *)PyByteArray_AS_STRING(vals);
    int64_t *pos = malloc(((size_t)ng + 1) * sizeof(int64_t));  /* +1: malloc(0) may be NULL */
    if (!pos) { PyErr_NoMemory(); goto fail; }
    memcpy(pos, off, (size_t)ng * sizeof(int64_t));
    for (Py_ssize_t i = 0; i < ns; i++) {
        Scanner *s = (Scanner *)PyTuple_GET_ITEM(scanners, i);
        const int64_t *map = rb[i].buf;
        for (size_t j = 0; j < s->np; j++) { int64_t g = map[s->p_gid[j]]; if (kp[g]) out[pos[g]++] = s->p_v[j]; }
    }
    free(pos);
    offs = BYTES(off, ng + 1, int64_t);
    if (!offs) goto fail;
    for (Py_ssize_t i = 0; i < ns; i++) PyBuffer_Release(&rb[i]);
    free(rb); free(off); PyBuffer_Release(&keep); Py_DECREF(scanners); Py_DECREF(remaps);
    return Py_BuildValue("NN", vals, offs);
fail:
    if (rb) for (Py_ssize_t i = 0; i < ns; i++) if (rb[i].obj) PyBuffer_Release(&rb[i]);
    free(rb); free(off); Py_XDECREF(vals); PyBuffer_Release(&keep);
    Py_XDECREF(scanners); Py_XDECREF(remaps);
    return NULL;
}

/* drain() -> (values bytes, gids bytes, counts bytes): the points kept since the last
 * drain, sorted by group id (a stable counting sort, so each group's values stay in file
 * order), with the groups present (uint32, ascending) and their counts (int64). The
 * point arrays are then emptied (their capacity stays): the caller appends the values
 * to an on-disk store, so memory does not grow with the input. */
static PyObject *Scanner_drain(Scanner *s, PyObject *unused) {
    if (check_idle(s)) return NULL;
    uint32_t ng = s->ng;
    int64_t *off = calloc((size_t)ng + 1, sizeof(int64_t));
    if (!off) return PyErr_NoMemory();
    for (size_t j = 0; j < s->np; j++) off[s->p_gid[j] + 1]++;
    uint32_t present = 0;
    for (uint32_t g = 0; g < ng; g++) if (off[g + 1]) present++;
    PyObject *vals = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(s->np * sizeof(double)));
    PyObject *gids = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)present * (Py_ssize_t)sizeof(uint32_t));
    PyObject *cnts = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)present * (Py_ssize_t)sizeof(int64_t));
    if (!vals || !gids || !cnts) { Py_XDECREF(vals); Py_XDECREF(gids); Py_XDECREF(cnts); free(off); return NULL; }
    uint32_t *gp = (uint32_t *)PyBytes_AS_STRING(gids);
    int64_t *cp = (int64_t *)PyBytes_AS_STRING(cnts);
    uint32_t k = 0;
    for (uint32_t g = 0; g < ng; g++) if (off[g + 1]) { gp[k] = g; cp[k] = off[g + 1]; k++; }
    for (uint32_t g = 0; g < ng; g++) off[g + 1] += off[g];
    double *out = (double *)PyBytes_AS_STRING(vals);
    for (size_t j = 0; j < s->np; j++) out[off[s->p_gid[j]]++] = s->p_v[j];
    free(off);
    s->np = 0;
    return Py_BuildValue("NNN", vals, gids, cnts);
}

/* release(): free the per-point arrays once they were scattered */
static PyObject *Scanner_release(Scanner *s, PyObject *unused) {
    if (check_idle(s)) return NULL;
    free(s->p_gid); free(s->p_v); s->p_gid = NULL; s->p_v = NULL; s->np = s->capp = 0;
    Py_RETURN_NONE;
}

static int Scanner_init(Scanner *s, PyObject *args, PyObject *kw) {
    long long origin, window; Py_buffer names, skip, ex = {0};
    int slowest = 0, first = 0;
    if (!PyArg_ParseTuple(args, "LLy*y*|y*ii", &origin, &window, &names, &skip, &ex, &slowest, &first))
        return -1;
    int rc = -1;
    /* Once: a second __init__ would change windows under existing groups (or swap the
     * names while a feed reads them in another thread). */
    if (s->ts_names || s->busy) { PyErr_SetString(PyExc_RuntimeError, "Scanner is already initialised"); goto done; }
    if (window <= 0) { PyErr_SetString(PyExc_ValueError, "window must be > 0"); goto done; }
    if (slowest < 0 || slowest > EX_HEAP_MAX || first < 0 || first > EX_HEAP_MAX) {
        PyErr_SetString(PyExc_ValueError, "exemplar counts must be 0..64"); goto done;
    }
    /* sample times are years 0001-9999 (|µs| < 2^58): "time - origin" cannot overflow */
    if (origin < -(1LL << 60) || origin > (1LL << 60)) { PyErr_SetString(PyExc_ValueError, "origin out of range"); goto done; }
    s->ts_names = malloc(names.len + 1); s->skip_names = malloc(skip.len + 1);
    s->ex_names = malloc((ex.obj ? ex.len : 0) + 1);
    if (!s->ts_names || !s->skip_names || !s->ex_names) {
        free(s->ts_names); free(s->skip_names); free(s->ex_names);
        s->ts_names = s->skip_names = s->ex_names = NULL;
        PyErr_NoMemory(); goto done;
    }
    memcpy(s->ts_names, names.buf, names.len); s->ts_len = names.len;
    memcpy(s->skip_names, skip.buf, skip.len); s->skip_len = skip.len;
    if (ex.obj) { memcpy(s->ex_names, ex.buf, ex.len); s->ex_len = ex.len; }
    s->ex_slow = slowest; s->ex_first = first;
    s->origin_us = origin; s->window_us = window;  /* last: marks the scanner usable */
    rc = 0;
done:
    PyBuffer_Release(&names); PyBuffer_Release(&skip);
    if (ex.obj) PyBuffer_Release(&ex);
    return rc;
}

static void Scanner_dealloc(Scanner *s) {
    intern_free(&s->metrics); intern_free(&s->tags); free(s->metric_ts); free(s->metric_keep);
    free(s->skip_names); free(s->ex_names); free(s->metric_ex); free(s->ex); free(s->ex_cnt);
    free(s->keys); free(s->keymap.k); free(s->keymap.v); free(s->groupmap.k); free(s->groupmap.v);
    free(s->ts_names);
    free(s->g_key); free(s->g_win); free(s->g_n); free(s->g_nz); free(s->g_first); free(s->g_last);
    free(s->g_s); free(s->g_mn); free(s->g_mx); free(s->g_lastv);
    free(s->p_gid); free(s->p_v); free(s->slow);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

/* group_keys(start) -> bytes: the key id (uint32) of every group from ``start`` on, so
 * a caller following a growing scan learns about new groups without copying them all */
static PyObject *Scanner_group_keys(Scanner *s, PyObject *args) {
    Py_ssize_t start = 0;
    if (!PyArg_ParseTuple(args, "|n", &start)) return NULL;
    if (check_idle(s)) return NULL;
    if (start < 0 || (size_t)start > s->ng) { PyErr_SetString(PyExc_ValueError, "start out of range"); return NULL; }
    return BYTES(s->g_key + start, s->ng - (size_t)start, uint32_t);
}

/* exemplars() -> [(key, kind, value, time_us, trace_id bytes)]: every key's kept traced
 * samples, kind 0 among its slowest, 1 among its first (a sample may be both) */
static PyObject *Scanner_exemplars(Scanner *s, PyObject *unused) {
    if (check_idle(s)) return NULL;
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    size_t per = (size_t)(s->ex_slow + s->ex_first);
    for (uint32_t k = 0; k < s->nkeys; k++) {
        uint32_t b = s->keys[k].ex;
        if (b == UINT32_MAX) continue;
        for (int kind = 0; kind < 2; kind++) {
            const Exemplar *h = &s->ex[(size_t)b * per + (kind ? (size_t)s->ex_slow : 0)];
            for (int i = 0; i < s->ex_cnt[2 * (size_t)b + kind]; i++) {
                PyObject *t = Py_BuildValue("IidLy#", k, kind, h[i].v, (long long)h[i].us, h[i].id,
                                            (Py_ssize_t)h[i].n);
                if (!t || PyList_Append(out, t)) { Py_XDECREF(t); Py_DECREF(out); return NULL; }
                Py_DECREF(t);
            }
        }
    }
    return out;
}

static PyObject *Scanner_npoints(Scanner *s, PyObject *unused) {
    if (check_idle(s)) return NULL;
    return PyLong_FromSize_t(s->np);
}

static PyMethodDef Scanner_methods[] = {
    {"feed", (PyCFunction)Scanner_feed, METH_VARARGS, "feed(buffer, final=False) -> (consumed, slow lines)"},
    {"keys", (PyCFunction)Scanner_keys, METH_NOARGS, "[(metric, tags)] by key index"},
    {"groups", (PyCFunction)Scanner_groups, METH_NOARGS, "per-group arrays as bytes"},
    {"npoints", (PyCFunction)Scanner_npoints, METH_NOARGS, "points kept"},
    {"exemplars", (PyCFunction)Scanner_exemplars, METH_NOARGS, "[(key, kind, value, time_us, trace_id)]"},
    {"group_keys", (PyCFunction)Scanner_group_keys, METH_VARARGS, "group_keys(start=0) -> key ids (uint32) of groups start.."},
    {"release", (PyCFunction)Scanner_release, METH_NOARGS, "free the per-point arrays"},
    {"drain", (PyCFunction)Scanner_drain, METH_NOARGS, "drain() -> (values, gids, counts): kept points by group, then emptied"},
    {NULL}
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "novaload.results._k6fast.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
    .tp_doc = "Scanner(origin_us, window_us, timeseries_names, skip_value_names[, exemplar_names, "
              "slowest, first]) - names \\n-separated",
};

static PyMethodDef module_methods[] = {
    {"scatter", scatter, METH_VARARGS, "scatter(scanners, remaps, ngroups, keep) -> (values, offsets)"},
    {NULL}
};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_k6fast", NULL, -1, module_methods};

PyMODINIT_FUNC PyInit__k6fast(void) {
    if (PyType_Ready(&ScannerType) < 0) return NULL;
    if (!c_locale) c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!c_locale) return PyErr_NoMemory();
    PyObject *m = PyModule_Create(&moduledef);
    if (!m) return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) { Py_DECREF(&ScannerType); Py_DECREF(m); return NULL; }
    return m;
}
