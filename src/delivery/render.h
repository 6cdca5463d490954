/* Message text from a batch and the templates (render.c). */
#ifndef GT_DELIVERY_RENDER_H
#define GT_DELIVERY_RENDER_H

#include "batch.h"
#include "config.h"

/* Renders a batch with the configured templates into a malloc'd string. */
GT_HIDDEN char *gt__render(const gt_config *cfg, const gt_batch *b);
/* Checks a template's placeholders; fails naming `key`. */
GT_HIDDEN int gt__render_check(const char *key, const char *tpl);
/* Formats a duration in ms as "12 ms", "3.4 s", "2.0 min", "1.5 h". */
GT_HIDDEN const char *gt__fmt_ms(uint64_t ms, char *buf, size_t n);
/* Formats 1234567 as "1,234,567" into buf (at least 32 bytes). */
GT_HIDDEN const char *gt__fmt_count(uint64_t v, char *buf);

#endif
