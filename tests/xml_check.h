/* A small well-formedness check for the XML rnnc writes (SVG): balanced tags, quoted attributes,
 * no stray '<' or '&', one root element. Not a full XML parser; enough to catch broken output
 * without depending on libxml2 in the tests. Returns NULL when well formed, else what is wrong. */
#ifndef RNNC_XML_CHECK_H
#define RNNC_XML_CHECK_H

#include <ctype.h>
#include <string.h>

static const char *xml_check(const char *s, const char *root) {
    static char why[128];
    const char *stack[256];
    size_t stack_len[256], depth = 0;
    int roots = 0;
    const char *p = s;
    if (strncmp(p, "<?xml", 5) == 0) { p = strstr(p, "?>"); if (!p) return "unterminated XML declaration"; p += 2; }
    while (*p) {
        if (*p == '&') {
            static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
            size_t k;
            for (k = 0; k < 5; k++) if (strncmp(p, ents[k], strlen(ents[k])) == 0) break;
            if (k == 5) { snprintf(why, sizeof why, "bare '&' at byte %ld", (long)(p - s)); return why; }
            p += strlen(ents[k]);
            continue;
        }
        if (*p == '>') { snprintf(why, sizeof why, "bare '>' at byte %ld", (long)(p - s)); return why; }
        if (*p != '<') {
            if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r') return "control character in text";
            if (depth == 0 && !isspace((unsigned char)*p)) return "text outside the root element";
            p++;
            continue;
        }
        if (p[1] == '/') {
            const char *name = p + 2, *e = name;
            while (*e && (isalnum((unsigned char)*e) || *e == '-' || *e == ':' || *e == '_')) e++;
            if (*e != '>') return "malformed end tag";
            if (depth == 0 || stack_len[depth - 1] != (size_t)(e - name) || strncmp(stack[depth - 1], name, (size_t)(e - name))) {
                snprintf(why, sizeof why, "end tag </%.*s> does not match", (int)(e - name), name);
                return why;
            }
            depth--;
            p = e + 1;
            continue;
        }
        const char *name = p + 1, *e = name;
        while (*e && (isalnum((unsigned char)*e) || *e == '-' || *e == ':' || *e == '_')) e++;
        if (e == name) { snprintf(why, sizeof why, "bare '<' at byte %ld", (long)(p - s)); return why; }
        if (depth == 0) { roots++; if (root && ((size_t)(e - name) != strlen(root) || strncmp(name, root, strlen(root)))) return "unexpected root element"; }
        const char *q = e;
        for (;;) {
            while (isspace((unsigned char)*q)) q++;
            if (*q == '>' || (q[0] == '/' && q[1] == '>')) break;
            const char *an = q;
            while (*q && (isalnum((unsigned char)*q) || *q == '-' || *q == ':' || *q == '_')) q++;
            if (q == an || *q != '=' || (q[1] != '"' && q[1] != '\'')) { snprintf(why, sizeof why, "malformed attribute at byte %ld", (long)(q - s)); return why; }
            char quote = q[1];
            q += 2;
            while (*q && *q != quote) { if (*q == '<') return "'<' inside an attribute value"; q++; }
            if (!*q) return "unterminated attribute value";
            q++;
        }
        if (*q == '/') { p = q + 2; continue; }
        if (depth == 256) return "nesting too deep";
        stack[depth] = name;
        stack_len[depth++] = (size_t)(e - name);
        p = q + 1;
    }
    if (depth) return "unclosed element";
    if (roots != 1) return "not exactly one root element";
    return NULL;
}

#endif
