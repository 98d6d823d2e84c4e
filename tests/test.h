/* A tiny test harness: CHECK-style assertions that count and report, never abort, so one run shows
 * every failure. Each tests/test_*.c has a main() that calls RUN(test_fn) and returns test_report(). */
#ifndef RNNC_TEST_H
#define RNNC_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_checks, test_failures, test_failures_at_start;
static const char *test_current = "";

#define CHECK(cond) do { test_checks++; if (!(cond)) { test_failures++; \
    fprintf(stderr, "%s:%d: %s: CHECK failed: %s\n", __FILE__, __LINE__, test_current, #cond); } } while (0)

#define CHECK_MSG(cond, ...) do { test_checks++; if (!(cond)) { test_failures++; \
    fprintf(stderr, "%s:%d: %s: CHECK failed: %s: ", __FILE__, __LINE__, test_current, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

#define CHECK_EQ_LL(a, b) do { long long va_ = (long long)(a), vb_ = (long long)(b); test_checks++; \
    if (va_ != vb_) { test_failures++; fprintf(stderr, "%s:%d: %s: %s == %s failed: %lld != %lld\n", \
    __FILE__, __LINE__, test_current, #a, #b, va_, vb_); } } while (0)

#define CHECK_STR(a, b) do { const char *sa_ = (a), *sb_ = (b); test_checks++; \
    if (!sa_ || !sb_ || strcmp(sa_, sb_)) { test_failures++; fprintf(stderr, "%s:%d: %s: %s == %s failed: \"%s\" != \"%s\"\n", \
    __FILE__, __LINE__, test_current, #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)"); } } while (0)

/* |a-b| <= atol + rtol*|b| */
#define CHECK_NEAR(a, b, rtol, atol) do { double va_ = (double)(a), vb_ = (double)(b); test_checks++; \
    if (!(fabs(va_ - vb_) <= (atol) + (rtol) * fabs(vb_))) { test_failures++; \
    fprintf(stderr, "%s:%d: %s: %s ~= %s failed: %.9g vs %.9g\n", __FILE__, __LINE__, test_current, #a, #b, va_, vb_); } } while (0)

#define RUN(fn) do { test_current = #fn; test_failures_at_start = test_failures; fn(); \
    printf("%s %s\n", test_failures == test_failures_at_start ? "ok  " : "FAIL", #fn); fflush(stdout); } while (0)

/* Freeing X gives back the temporaries rnnc_scratch cached (core/bigmem.h): one block of 1 MiB is
 * cached before free_it(x) runs, and none may be left after. Under ASan the cache is off (nothing
 * is ever cached), which the first check allows only there. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_SCRATCH_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_SCRATCH_CACHE 0
#endif
#endif
#ifndef TEST_SCRATCH_CACHE
#define TEST_SCRATCH_CACHE 1
#endif
#define CHECK_FREE_TRIMS_SCRATCH(free_it, x) do { \
        rnnc_scratch_free(rnnc_scratch_alloc((size_t)1 << 20)); \
        CHECK_EQ_LL(rnnc_scratch_cached(), TEST_SCRATCH_CACHE); \
        free_it(x); \
        CHECK_MSG(rnnc_scratch_cached() == 0, "%s left %d cached temporaries", #free_it, rnnc_scratch_cached()); \
    } while (0)

static inline int test_report(void) {
    printf("%d checks: %d passed, %d failed\n", test_checks, test_checks - test_failures, test_failures);
    return test_failures ? 1 : 0;
}

/* Path of a file under tests/ (static buffer, for fixtures). */
static inline const char *test_path(const char *rel) {
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", RNNC_TEST_DIR, rel);
    return buf;
}

#endif
