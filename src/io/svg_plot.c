/* Line charts as SVG; see include/rnnc/plot.h. The document is plain SVG 1.1 with presentation
 * attributes only (no CSS, no scripts), so browsers, rsvg-convert and image viewers agree on it. */
#include "rnnc/plot.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnnc/io.h"
#include "rnnc/utf8.h"

/* Tableau 10: distinct in hue and still distinguishable for the common colour blindnesses. */
static const char *const palette[10] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

/* Smallest of 1, 2, 5, 10 times a power of ten that is >= x (x > 0). */
static double nice_ceil(double x) {
    double e = pow(10, floor(log10(x)));
    double f = x / e;
    double nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return nf * e;
}

size_t rnnc_plot_ticks(double lo, double hi, size_t max_ticks, double *ticks, double *step) {
    /* Three ticks always suffice once the step reaches hi - lo (a range crossing zero needs
     * them: -s, 0, s), so the loop below ends within a few rounds. */
    if (max_ticks < 3) max_ticks = 3;
    double st = nice_ceil((hi - lo) / (double)(max_ticks - 1));
    for (int round = 0; round < 64; round++) {
        double a = floor(lo / st), b = ceil(hi / st);
        size_t count = (size_t)(b - a) + 1;
        if (count <= max_ticks) {
            for (size_t i = 0; i < count; i++) {
                double v = (a + (double)i) * st;
                ticks[i] = fabs(v) < st * 1e-9 ? 0 : v; /* no "-0" or 1e-17 labels */
            }
            *step = st;
            return count;
        }
        st = nice_ceil(st * 1.000001);
    }
    ticks[0] = lo; /* not reached for finite lo < hi */
    ticks[1] = hi;
    *step = hi - lo;
    return 2;
}

static void trim_zeros(char *s) {
    char *dot = strchr(s, '.');
    if (!dot) return;
    char *end = s + strlen(s);
    while (end > dot + 1 && end[-1] == '0') *--end = 0;
    if (end == dot + 1) *dot = 0;
}

void rnnc_plot_format(double v, double step, int si, char *buf, size_t n) {
    if (v == 0) { snprintf(buf, n, "0"); return; }
    double unit = 1;
    const char *suffix = "";
    if (si) {
        double a = fabs(v);
        if (a >= 1e9) { unit = 1e9; suffix = "G"; }
        else if (a >= 1e6) { unit = 1e6; suffix = "M"; }
        else if (a >= 1e3) { unit = 1e3; suffix = "k"; }
    }
    double s = step / unit;
    int dec = s >= 1 ? 0 : (int)ceil(-log10(s) - 1e-9);
    if (dec > 9) dec = 9;
    if (!si && (fabs(v) >= 1e7 || fabs(v) < 1e-4)) { snprintf(buf, n, "%.2g", v); return; }
    snprintf(buf, n, "%.*f", dec, v / unit);
    if (si) trim_zeros(buf); /* "1.5M" next to "1M", not "1.0M" */
    size_t len = strlen(buf);
    snprintf(buf + len, n > len ? n - len : 0, "%s", suffix);
}

/* A writer with a sticky status, so the drawing code reads as a sequence of statements. */
typedef struct {
    rnnc_bytes *b;
    rnnc_status st;
} svgw;

static void put(svgw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(svgw *w, const char *fmt, ...) {
    if (w->st) return;
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) { w->st = rnnc_error(RNNC_ERR_FORMAT, "plot: formatting failed"); return; }
    if ((size_t)n < sizeof small) { w->st = rnnc_bytes_append(w->b, small, (size_t)n); return; }
    char *big = malloc((size_t)n + 1);
    if (!big) { w->st = rnnc_error(RNNC_ERR_NOMEM, "plot: out of memory"); return; }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    w->st = rnnc_bytes_append(w->b, big, (size_t)n);
    free(big);
}

rnnc_status rnnc_xml_escape(rnnc_bytes *out, const char *s) {
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    rnnc_status st = RNNC_OK;
    for (size_t i = 0; i < n && !st;) {
        unsigned char c = u[i];
        if (c >= 0x80) {
            uint32_t cp;
            int m = rnnc_utf8_decode(u + i, n - i, &cp);
            if (m > 0) { st = rnnc_bytes_append(out, u + i, (size_t)m); i += (size_t)m; }
            else { st = rnnc_bytes_append(out, "\xEF\xBF\xBD", 3); i++; }
            continue;
        }
        i++;
        switch (c) {
        case '&': st = rnnc_bytes_append(out, "&amp;", 5); break;
        case '<': st = rnnc_bytes_append(out, "&lt;", 4); break;
        case '>': st = rnnc_bytes_append(out, "&gt;", 4); break;
        case '"': st = rnnc_bytes_append(out, "&quot;", 6); break;
        case '\'': st = rnnc_bytes_append(out, "&apos;", 6); break;
        case '\t': case '\n': case '\r': st = rnnc_bytes_append(out, " ", 1); break;
        default:
            if (c < 0x20 || c == 0x7f) st = rnnc_bytes_append(out, "\xEF\xBF\xBD", 3);
            else st = rnnc_bytes_append(out, &c, 1);
        }
    }
    return st;
}

static void put_text(svgw *w, const char *s) {
    if (!w->st) w->st = rnnc_xml_escape(w->b, s);
}

static size_t text_chars(const char *s) {
    size_t n = 0;
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) n += (*u & 0xC0) != 0x80;
    return n;
}

/* s itself when it has at most max characters; else its first and last characters around an
 * ellipsis, max in all, in buf (n bytes; cut at whole UTF-8 characters): run names differ at either
 * end ("lstm-512-lr0.003" and "lstm-512-lr0.006"), so both ends stay. */
static const char *fit_text(const char *s, size_t max, char *buf, size_t n) {
    size_t chars = text_chars(s);
    if (chars <= max || max < 3 || n < 8) return s;
    size_t head = max / 2, tail = max - 1 - head, len = strlen(s), a = 0, b = len, k = 0;
    for (size_t c = 0; a < len && c < head; c++)
        for (a++; a < len && ((unsigned char)s[a] & 0xC0) == 0x80; a++) {}
    for (; b > a && k < tail; k++)
        for (b--; b > a && ((unsigned char)s[b] & 0xC0) == 0x80; b--) {}
    if (a + 3 + (len - b) + 1 > n) return s; /* no room: left whole (the caller's buffer is ample) */
    memcpy(buf, s, a);
    memcpy(buf + a, "\xE2\x80\xA6", 3); /* U+2026 */
    memcpy(buf + a + 3, s + b, len - b);
    buf[a + 3 + len - b] = 0;
    return buf;
}

typedef struct {
    double x0, x1, y0, y1;       /* plot area in pixels (y0 top) */
    double xlo, xhi, ylo, yhi;   /* data range; log10 of it on a log axis */
    int log_x, log_y;
} frame;

static int valid_point(const frame *f, double x, double y) {
    return isfinite(x) && isfinite(y) && (!f->log_x || x > 0) && (!f->log_y || y > 0);
}
static size_t valid_count(const frame *f, const rnnc_plot_series *s) {
    size_t n = 0;
    for (size_t k = 0; k < s->n; k++) n += valid_point(f, s->x[k], s->y[k]);
    return n;
}
static double px(const frame *f, double x) {
    double v = f->log_x ? log10(x) : x;
    return f->x0 + (v - f->xlo) / (f->xhi - f->xlo) * (f->x1 - f->x0);
}
static double py(const frame *f, double y) {
    double v = f->log_y ? log10(y) : y;
    return f->y1 - (v - f->ylo) / (f->yhi - f->ylo) * (f->y1 - f->y0);
}

/* Log axis ticks: powers of ten, plus 2x and 5x when the range spans at most two decades. */
static size_t log_ticks(double lo, double hi, double *ticks, size_t cap, double *alo, double *ahi) {
    int a = (int)floor(log10(lo)), b = (int)ceil(log10(hi));
    if (b == a) b++;
    int stride = 1;
    while ((b - a) / stride + 1 > (int)cap - 1) stride++;
    size_t n = 0;
    for (int k = a; k <= b && n < cap; k += stride) {
        ticks[n++] = pow(10, k);
        if (b - a <= 2 && k < b && n + 2 <= cap) { ticks[n++] = 2 * pow(10, k); ticks[n++] = 5 * pow(10, k); }
    }
    *alo = a;
    *ahi = b;
    return n;
}

rnnc_status rnnc_plot_svg(rnnc_bytes *out, const rnnc_plot_opts *o, const rnnc_plot_series *s, size_t ns) {
    const int W = o->width ? o->width : 900, H = o->height ? o->height : 540;
    if (W < 240 || H < 160) return rnnc_error(RNNC_ERR_ARG, "plot: size %dx%d is too small (at least 240x160)", W, H);
    frame f = {78, W - 24.0, o->title ? 48 : 20, H - 58.0, 0, 0, 0, 0, o->log_x, o->log_y};

    /* Data ranges over the points that will be drawn. */
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    size_t npts = 0;
    for (size_t i = 0; i < ns; i++)
        for (size_t k = 0; k < s[i].n; k++) {
            double x = s[i].x[k], y = s[i].y[k];
            if (!valid_point(&f, x, y)) continue;
            npts++;
            if (x < xmin) xmin = x;
            if (x > xmax) xmax = x;
            if (y < ymin) ymin = y;
            if (y > ymax) ymax = y;
        }
    if (npts == 0) { xmin = f.log_x ? 1 : 0; xmax = f.log_x ? 10 : 1; ymin = f.log_y ? 1 : 0; ymax = f.log_y ? 10 : 1; }
    if (ymin == ymax && !f.log_y) { double d = ymin != 0 ? fabs(ymin) * 0.1 : 1; ymin -= d; ymax += d; }
    if (xmin == xmax && !f.log_x) { double d = xmin != 0 ? fabs(xmin) * 0.1 : 1; xmin -= d; xmax += d; }

    double xt[32], yt[32], xstep = 1, ystep = 1;
    size_t nxt, nyt;
    if (f.log_x) nxt = log_ticks(xmin, xmax, xt, 32, &f.xlo, &f.xhi);
    else {
        nxt = rnnc_plot_ticks(xmin, xmax, 8, xt, &xstep);
        f.xlo = xt[0];
        f.xhi = xt[nxt - 1];
    }
    if (f.log_y) nyt = log_ticks(ymin, ymax, yt, 14, &f.ylo, &f.yhi);
    else {
        nyt = rnnc_plot_ticks(ymin, ymax, 8, yt, &ystep);
        f.ylo = yt[0];
        f.yhi = yt[nyt - 1];
    }

    svgw w = {out, RNNC_OK};
    put(&w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">\n"
            "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", W, H, W, H, W, H);
    if (o->title) {
        put(&w, "<text x=\"%.1f\" y=\"30\" text-anchor=\"middle\" font-size=\"17\" font-weight=\"bold\" fill=\"#222\">",
            (f.x0 + f.x1) / 2);
        put_text(&w, o->title);
        put(&w, "</text>\n");
    }
    /* grid and tick labels */
    put(&w, "<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n");
    for (size_t i = 0; i < nxt; i++) {
        double x = px(&f, xt[i]);
        put(&w, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", x, f.y0, x, f.y1);
    }
    for (size_t i = 0; i < nyt; i++) {
        double y = py(&f, yt[i]);
        put(&w, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", f.x0, y, f.x1, y);
    }
    put(&w, "</g>\n<g fill=\"#333\">\n");
    char lab[64];
    for (size_t i = 0; i < nxt; i++) {
        rnnc_plot_format(xt[i], f.log_x ? xt[i] : xstep, o->x_si, lab, sizeof lab);
        put(&w, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n", px(&f, xt[i]), f.y1 + 19, lab);
    }
    for (size_t i = 0; i < nyt; i++) {
        int e = f.log_y ? (int)lround(log10(yt[i])) : 0; /* a log axis's ticks are positive */
        if (f.log_y && fabs(yt[i] - pow(10, e)) <= 1e-9 * yt[i] && (e < -3 || e > 4)) snprintf(lab, sizeof lab, "1e%d", e);
        else rnnc_plot_format(yt[i], f.log_y ? yt[i] : ystep, 0, lab, sizeof lab);
        put(&w, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\" dy=\"0.35em\">%s</text>\n", f.x0 - 8, py(&f, yt[i]), lab);
    }
    put(&w, "</g>\n");
    if (o->xlabel) {
        put(&w, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"14\" fill=\"#222\">", (f.x0 + f.x1) / 2, H - 16);
        put_text(&w, o->xlabel);
        put(&w, "</text>\n");
    }
    if (o->ylabel) {
        double cy = (f.y0 + f.y1) / 2;
        put(&w, "<text x=\"20\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\" fill=\"#222\" "
                "transform=\"rotate(-90 20 %.1f)\">", cy, cy);
        put_text(&w, o->ylabel);
        put(&w, "</text>\n");
    }
    put(&w, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"#555\" stroke-width=\"1\"/>\n",
        f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);

    /* the curves, clipped to the plot area */
    put(&w, "<clipPath id=\"rnnc-plot-area\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/></clipPath>\n"
            "<g clip-path=\"url(#rnnc-plot-area)\" fill=\"none\" stroke-linejoin=\"round\" stroke-linecap=\"round\">\n",
        f.x0 - 4, f.y0 - 4, f.x1 - f.x0 + 8, f.y1 - f.y0 + 8);
    for (size_t i = 0; i < ns; i++) {
        const char *col = palette[((s[i].color % 10) + 10) % 10];
        /* a path broken into runs of valid points; lone points become dots */
        put(&w, "<path stroke=\"%s\" stroke-width=\"%s\"%s d=\"", col, s[i].dashed ? "2" : "1.8",
            s[i].dashed ? " stroke-dasharray=\"7 4\"" : "");
        size_t run = 0;
        for (size_t k = 0; k < s[i].n; k++) {
            if (!valid_point(&f, s[i].x[k], s[i].y[k])) { run = 0; continue; }
            put(&w, "%s%.2f %.2f", run ? " L" : " M", px(&f, s[i].x[k]), py(&f, s[i].y[k]));
            run++;
        }
        put(&w, "\"/>\n");
        for (size_t k = 0; k < s[i].n; k++) {
            if (!valid_point(&f, s[i].x[k], s[i].y[k])) continue;
            int prev = k > 0 && valid_point(&f, s[i].x[k - 1], s[i].y[k - 1]);
            int next = k + 1 < s[i].n && valid_point(&f, s[i].x[k + 1], s[i].y[k + 1]);
            if (s[i].markers || (!prev && !next))
                put(&w, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\" stroke=\"#fff\" stroke-width=\"0.8\"/>\n",
                    px(&f, s[i].x[k]), py(&f, s[i].y[k]), col);
        }
    }
    put(&w, "</g>\n");

    /* legend in the corner that covers the least of the lines: their points, and samples every few
     * pixels along each drawn segment (a line may cross a corner between two distant points);
     * top right on ties */
    if (ns > 0) {
        /* names longer than the plot area holds beside the line sample (50 px) lose their middle */
        const double room = (f.x1 - f.x0 - 20 - 50) / 7.4;
        const size_t fit = room > 14 ? (size_t)room : 14; /* at least 4 characters beside " (no data)" */
        char cut[1024];
        size_t maxc = 0;
        for (size_t i = 0; i < ns; i++) {
            size_t extra = valid_count(&f, &s[i]) == 0 ? 10 : 0, c = text_chars(s[i].label ? s[i].label : "");
            if (c > fit - extra) c = fit - extra;
            if (c + extra > maxc) maxc = c + extra;
        }
        double lw = 50 + 7.4 * (double)maxc, lh = 10 + 20.0 * (double)ns;
        double corners[4][2] = {{f.x1 - 10 - lw, f.y0 + 10}, {f.x0 + 10, f.y0 + 10},
                                {f.x1 - 10 - lw, f.y1 - 10 - lh}, {f.x0 + 10, f.y1 - 10 - lh}};
        size_t best = 0, best_cover = (size_t)-1;
        for (int c = 0; c < 4; c++) {
            size_t cover = 0;
            for (size_t i = 0; i < ns; i++)
                for (size_t k = 0; k < s[i].n; k++) {
                    if (!valid_point(&f, s[i].x[k], s[i].y[k])) continue;
                    double X = px(&f, s[i].x[k]), Y = py(&f, s[i].y[k]);
                    cover += X >= corners[c][0] && X <= corners[c][0] + lw && Y >= corners[c][1] && Y <= corners[c][1] + lh;
                    if (k + 1 == s[i].n || !valid_point(&f, s[i].x[k + 1], s[i].y[k + 1])) continue;
                    double X2 = px(&f, s[i].x[k + 1]), Y2 = py(&f, s[i].y[k + 1]);
                    double len = fabs(X2 - X) + fabs(Y2 - Y);
                    int m = len > 8 ? (int)(len / 8) : 1; /* a sample every 8 px or so, inside the segment */
                    if (m > 400) m = 400;
                    for (int q = 1; q < m; q++) {
                        double XS = X + (X2 - X) * q / m, YS = Y + (Y2 - Y) * q / m;
                        cover += XS >= corners[c][0] && XS <= corners[c][0] + lw && YS >= corners[c][1] &&
                                 YS <= corners[c][1] + lh;
                    }
                }
            if (cover < best_cover) { best_cover = cover; best = (size_t)c; }
        }
        double lx = corners[best][0], ly = corners[best][1];
        put(&w, "<g>\n<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" rx=\"4\" fill=\"#ffffff\" "
                "fill-opacity=\"0.92\" stroke=\"#bbb\"/>\n", lx, ly, lw, lh);
        for (size_t i = 0; i < ns; i++) {
            const char *col = palette[((s[i].color % 10) + 10) % 10];
            double y = ly + 15 + 20.0 * (double)i;
            put(&w, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"2.2\"%s/>\n",
                lx + 10, y, lx + 38, y, col, s[i].dashed ? " stroke-dasharray=\"7 4\"" : "");
            if (s[i].markers)
                put(&w, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n", lx + 24, y, col);
            put(&w, "<text x=\"%.2f\" y=\"%.2f\" dy=\"0.35em\" fill=\"#222\">", lx + 46, y);
            size_t extra = valid_count(&f, &s[i]) == 0 ? 10 : 0;
            put_text(&w, fit_text(s[i].label ? s[i].label : "", fit - extra, cut, sizeof cut));
            if (extra) put(&w, " (no data)");
            put(&w, "</text>\n");
        }
        put(&w, "</g>\n");
    }
    put(&w, "</svg>\n");
    return w.st;
}

rnnc_status rnnc_plot_svg_file(const char *path, const rnnc_plot_opts *o, const rnnc_plot_series *s, size_t n) {
    rnnc_bytes b = {0};
    rnnc_status st = rnnc_plot_svg(&b, o, s, n);
    if (!st) st = rnnc_write_file_atomic(path, b.data, b.len);
    rnnc_bytes_free(&b);
    return st;
}
