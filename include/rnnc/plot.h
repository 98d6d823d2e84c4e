/* rnnc — line charts as standalone SVG (training curves: loss against tokens seen).
 *
 * Axes get "nice" tick values (1, 2 or 5 times a power of ten; powers of ten on a log axis), a
 * light grid, axis labels, a title and a legend. Each series is a polyline in a palette colour;
 * series that share a colour belong together (one run's training and validation curves), and a
 * dashed style with point markers tells them apart. NaN and infinite points (and non-positive
 * ones on a log axis, x or y) break the line rather than bend it; a lone point is drawn as a dot. */
#ifndef RNNC_PLOT_H
#define RNNC_PLOT_H

#include <stddef.h>
#include "rnnc/buf.h"
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *label;     /* legend text (UTF-8; escaped on output) */
    const double *x, *y;   /* n points */
    size_t n;
    int color;             /* palette index (10 colours, then they repeat) */
    int dashed;            /* 0 solid, 1 dashed */
    int markers;           /* 1: a dot at each point */
} rnnc_plot_series;

typedef struct {
    const char *title, *xlabel, *ylabel; /* NULL: none */
    int width, height;                   /* pixels; 0: 900 x 540 */
    int log_x;                           /* 1: logarithmic x axis */
    int x_si;                            /* 1: x tick labels with k/M/G suffixes (token counts) */
    int log_y;                           /* 1: logarithmic y axis (non-positive y break the line;
                                            powers of ten outside 1e-3..1e4 labelled 1e-5) */
} rnnc_plot_opts;

/* Appends the SVG document to out. RNNC_ERR_ARG for a size under 240 x 160. */
rnnc_status rnnc_plot_svg(rnnc_bytes *out, const rnnc_plot_opts *o, const rnnc_plot_series *s, size_t n);
/* Renders and writes it to path atomically. */
rnnc_status rnnc_plot_svg_file(const char *path, const rnnc_plot_opts *o, const rnnc_plot_series *s, size_t n);

/* Nice ticks covering [lo, hi] (lo < hi, finite): at most max(max_ticks, 3) values step apart
 * (ticks needs that much room), the first <= lo and the last >= hi; returns their count and sets
 * *step. */
size_t rnnc_plot_ticks(double lo, double hi, size_t max_ticks, double *ticks, double *step);
/* A tick label: v with just the decimals `step` needs; with si, a k/M/G suffix (1.5M, 200k). */
void rnnc_plot_format(double v, double step, int si, char *buf, size_t n);
/* Appends s as XML character data: &, <, >, quotes as entities; tab, newline and CR as a space (a
 * label is one line); other control characters and invalid UTF-8 as U+FFFD, since XML 1.0 cannot
 * carry them at all. */
rnnc_status rnnc_xml_escape(rnnc_bytes *out, const char *s);

#ifdef __cplusplus
}
#endif

#endif
