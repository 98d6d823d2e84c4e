/* SVG line charts: nice ticks, tick labels, well-formed output with escaped legend text, empty,
 * one-point and NaN series, log axis, bad sizes. */
#include "rnnc/rnnc.h"
#include "rnnc/plot.h"
#include "test.h"
#include "xml_check.h"

static int is_nice(double step) {
    double e = pow(10, floor(log10(step)));
    double m = step / e;
    return fabs(m - 1) < 1e-9 || fabs(m - 2) < 1e-9 || fabs(m - 5) < 1e-9 || fabs(m - 10) < 1e-9;
}

static void test_ticks(void) {
    double t[32], step;
    size_t n = rnnc_plot_ticks(0, 4.9e6, 8, t, &step);
    CHECK_EQ_LL(n, 6);
    CHECK(step == 1e6 && t[0] == 0 && t[5] == 5e6);
    n = rnnc_plot_ticks(1.3, 4.3, 8, t, &step);
    CHECK_EQ_LL(n, 8);
    CHECK_NEAR(step, 0.5, 1e-12, 0);
    CHECK_NEAR(t[0], 1.0, 1e-12, 0);
    CHECK_NEAR(t[7], 4.5, 1e-12, 0);
    n = rnnc_plot_ticks(-0.3, 0.3, 8, t, &step);
    int has_zero = 0;
    for (size_t i = 0; i < n; i++) { has_zero |= t[i] == 0 && !signbit(t[i]); }
    CHECK(has_zero); /* an exact, positive zero: no "-0" label */
    /* properties over many random ranges */
    rnnc_rng r;
    rnnc_rng_seed(&r, 8);
    int bad = 0;
    for (int k = 0; k < 2000; k++) {
        double lo = (rnnc_rng_uniform(&r) - 0.5) * pow(10, (int)rnnc_rng_below(&r, 12) - 6);
        double hi = lo + rnnc_rng_uniform(&r) * pow(10, (int)rnnc_rng_below(&r, 12) - 6) + 1e-7;
        size_t max = 3 + rnnc_rng_below(&r, 10);
        n = rnnc_plot_ticks(lo, hi, max, t, &step);
        if (n < 2 || n > max || t[0] > lo || t[n - 1] < hi || !is_nice(step)) bad++;
        /* evenly spaced, up to the rounding of values far larger than the step */
        for (size_t i = 1; i < n; i++) if (fabs(t[i] - t[i - 1] - step) > step * 1e-6 + 1e-12 * fabs(t[i])) bad++;
    }
    CHECK_EQ_LL(bad, 0);
}

static void test_format(void) {
    char b[32];
    rnnc_plot_format(1.5e6, 5e5, 1, b, sizeof b); CHECK_STR(b, "1.5M");
    rnnc_plot_format(1e6, 5e5, 1, b, sizeof b); CHECK_STR(b, "1M");
    rnnc_plot_format(5e5, 5e5, 1, b, sizeof b); CHECK_STR(b, "500k");
    rnnc_plot_format(2.5e9, 5e8, 1, b, sizeof b); CHECK_STR(b, "2.5G");
    rnnc_plot_format(40, 20, 1, b, sizeof b); CHECK_STR(b, "40");
    rnnc_plot_format(0, 5e5, 1, b, sizeof b); CHECK_STR(b, "0");
    rnnc_plot_format(2, 0.5, 0, b, sizeof b); CHECK_STR(b, "2.0");
    rnnc_plot_format(2.5, 0.5, 0, b, sizeof b); CHECK_STR(b, "2.5");
    rnnc_plot_format(0.05, 0.05, 0, b, sizeof b); CHECK_STR(b, "0.05");
    rnnc_plot_format(1200, 200, 0, b, sizeof b); CHECK_STR(b, "1200");
}

static void test_escape(void) {
    rnnc_bytes b = {0};
    CHECK(rnnc_xml_escape(&b, "a&b <c> \"d\" 'e'\tf\x01g\xffh\xc3\xa9") == RNNC_OK);
    CHECK_STR((char *)b.data, "a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos; f\xEF\xBF\xBDg\xEF\xBF\xBDh\xc3\xa9");
    rnnc_bytes_free(&b);
}

static size_t count(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
    return n;
}

static void test_svg_well_formed(void) {
    double x[6] = {4096, 8192, 12288, 16384, 20480, 24576}, y[6] = {4.2, 3.9, NAN, 3.1, 2.9, 2.8};
    double vx[1] = {16384}, vy[1] = {3.3};
    double nx[2] = {1, 2}, ny[2] = {NAN, INFINITY};
    rnnc_plot_series s[4] = {
        {"rnnc & <friends> training", x, y, 6, 0, 0, 0},
        {"rnnc validation", vx, vy, 1, 0, 1, 1},
        {"bad \xff utf8", nx, ny, 2, 1, 0, 0},
        {"empty", NULL, NULL, 0, 2, 1, 1},
    };
    rnnc_plot_opts o = {"Loss \"quoted\" <title>", "tokens seen", "loss (nats per token)", 0, 0, 0, 1, 0};
    rnnc_bytes b = {0};
    CHECK(rnnc_plot_svg(&b, &o, s, 4) == RNNC_OK);
    const char *svg = (const char *)b.data;
    const char *why = xml_check(svg, "svg");
    CHECK_MSG(why == NULL, "%s", why);
    CHECK(strstr(svg, ">rnnc &amp; &lt;friends&gt; training<") != NULL);
    CHECK(strstr(svg, ">rnnc validation<") != NULL);
    CHECK(strstr(svg, ">bad \xEF\xBF\xBD utf8 (no data)<") != NULL);
    CHECK(strstr(svg, ">empty (no data)<") != NULL);
    CHECK(strstr(svg, "Loss &quot;quoted&quot; &lt;title&gt;") != NULL);
    CHECK(strstr(svg, ">tokens seen<") && strstr(svg, ">loss (nats per token)<"));
    CHECK(strstr(svg, "nan") == NULL && strstr(svg, "inf") == NULL);
    /* the NaN splits the training curve into two runs: two move-to commands */
    const char *path = strstr(svg, "<path stroke=\"#1f77b4\" stroke-width=\"1.8\"");
    CHECK(path != NULL);
    if (path) {
        const char *end = strstr(path, "/>");
        size_t moves = 0;
        for (const char *p = path; p < end; p++) moves += *p == 'M';
        CHECK_EQ_LL(moves, 2);
    }
    /* the lone validation point is drawn as a dot */
    CHECK(count(svg, "<circle") >= 2); /* one on the chart, one in the legend */
    /* 4 legend entries in 3 colours */
    CHECK_EQ_LL(count(svg, "stroke-dasharray"), 4); /* 2 dashed paths + their 2 legend lines */
    CHECK(strstr(svg, "#2ca02c") != NULL);
    /* x ticks with SI suffixes */
    CHECK(strstr(svg, ">25k<") != NULL || strstr(svg, ">30k<") != NULL);
    rnnc_bytes_free(&b);
}

static void test_degenerate_inputs(void) {
    rnnc_plot_opts o = {NULL, NULL, NULL, 0, 0, 0, 0, 0};
    rnnc_bytes b = {0};
    /* no series at all: empty axes, still valid */
    CHECK(rnnc_plot_svg(&b, &o, NULL, 0) == RNNC_OK);
    CHECK(xml_check((char *)b.data, "svg") == NULL);
    rnnc_bytes_free(&b);
    /* one point: a dot, and finite axes around it */
    double x = 5, y = 2;
    rnnc_plot_series one = {"one", &x, &y, 1, 0, 0, 0};
    CHECK(rnnc_plot_svg(&b, &o, &one, 1) == RNNC_OK);
    CHECK(xml_check((char *)b.data, "svg") == NULL);
    CHECK(strstr((char *)b.data, "<circle") != NULL);
    CHECK(strstr((char *)b.data, "nan") == NULL);
    rnnc_bytes_free(&b);
    /* log axis drops non-positive x */
    double lx[4] = {0, 10, 1000, 1e5}, ly[4] = {5, 4, 3, 2};
    rnnc_plot_series s = {"log", lx, ly, 4, 3, 0, 0};
    o.log_x = 1;
    o.x_si = 1;
    CHECK(rnnc_plot_svg(&b, &o, &s, 1) == RNNC_OK);
    CHECK(xml_check((char *)b.data, "svg") == NULL);
    CHECK(strstr((char *)b.data, ">100k<") && strstr((char *)b.data, ">10<"));
    CHECK(strstr((char *)b.data, "nan") == NULL && strstr((char *)b.data, "inf") == NULL);
    rnnc_bytes_free(&b);
    /* log y axis: powers of ten over many decades as 1e-N, non-positive y break the line */
    double gy[5] = {1, 1e-3, 0, 1e-9, 1e-12}, gx[5] = {1, 2, 3, 4, 5};
    rnnc_plot_series g = {"gradient", gx, gy, 5, 0, 0, 0};
    rnnc_plot_opts lo = {NULL, "distance", "norm", 0, 0, 0, 0, 1};
    CHECK(rnnc_plot_svg(&b, &lo, &g, 1) == RNNC_OK);
    CHECK(xml_check((char *)b.data, "svg") == NULL);
    CHECK(strstr((char *)b.data, ">1e-12<") && strstr((char *)b.data, ">1<"));
    CHECK(strstr((char *)b.data, "nan") == NULL && strstr((char *)b.data, "inf") == NULL);
    {
        const char *path = strstr((char *)b.data, "<path stroke=");
        size_t moves = 0;
        for (const char *p = path; p && p < strstr(path, "/>"); p++) moves += *p == 'M';
        CHECK_EQ_LL(moves, 2); /* y = 0 splits the line */
    }
    rnnc_bytes_free(&b);
    o.width = 100;
    CHECK(rnnc_plot_svg(&b, &o, &s, 1) == RNNC_ERR_ARG);
    rnnc_bytes_free(&b);
}

/* The legend goes to a corner that no line crosses, also when a line crosses a corner between two
 * points far apart (points alone would call every corner empty and pick the top right, over the
 * line near the top). */
static void test_legend_avoids_lines(void) {
    double x[2] = {0, 10}, top[2] = {9.2, 9.2}, bottom[2] = {0, 0};
    rnnc_plot_series s[2] = {
        {"a line near the top, with its two points at the ends", x, top, 2, 0, 0, 0},
        {"a line at the bottom", x, bottom, 2, 1, 0, 0},
    };
    rnnc_plot_opts o = {"legend", "x", "y", 0, 0, 0, 0, 0};
    rnnc_bytes b = {0};
    CHECK(rnnc_plot_svg(&b, &o, s, 2) == RNNC_OK);
    CHECK(rnnc_bytes_append(&b, "", 1) == RNNC_OK);
    const char *svg = (const char *)b.data, *r = strstr(svg, "rx=\"4\"");
    CHECK(r != NULL);
    if (r) {
        while (r > svg && strncmp(r, "<rect", 5)) r--;
        double lx, ly, lw, lh;
        CHECK(sscanf(r, "<rect x=\"%lf\" y=\"%lf\" width=\"%lf\" height=\"%lf\"", &lx, &ly, &lw, &lh) == 4);
        CHECK(ly > 540 / 2.0); /* a bottom corner: the top line is 8% of the range below the top */
    }
    rnnc_bytes_free(&b);
}

int main(void) {
    RUN(test_ticks);
    RUN(test_format);
    RUN(test_escape);
    RUN(test_svg_well_formed);
    RUN(test_degenerate_inputs);
    RUN(test_legend_avoids_lines);
    return test_report();
}
