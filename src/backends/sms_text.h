/* SMS rules every provider shares: how many segments a text takes, fitting
 * a text into a segment budget (kept apart so a fuzz target can drive
 * them), and what a sender may be. */
#ifndef GT_BACKEND_SMS_TEXT_H
#define GT_BACKEND_SMS_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "delivery/backend.h"

typedef struct gt_sms_count {
  bool ucs2;       /* some character is outside GSM-7 (or bad UTF-8) */
  size_t units;    /* septets (GSM-7) or UTF-16 code units (UCS-2) */
  size_t segments; /* 0 for the empty text */
} gt_sms_count;

/* Counts `len` bytes of UTF-8. Invalid sequences count as one UCS-2 unit
 * each (a replacement character is what a phone would show). */
GT_HIDDEN gt_sms_count gt__sms_count(const char *text, size_t len);

/* Returns a malloc'd copy of text that fits in max_segments: unchanged if
 * it fits, otherwise cut after the last ", "-separated item that fits with
 * " +N more" (N items dropped) appended, or cut anywhere with "..." if no
 * item boundary fits. NULL only when out of memory. */
GT_HIDDEN char *gt__sms_fit(const char *text, size_t max_segments);

/* Checks sms.from, the sender shown on the phone, as networks take it: an
 * alphanumeric sender of 3 to 11 ASCII letters, digits, spaces, '.', '-'
 * or '_' (with a letter, no space at either end), or a number of 3 to 15
 * digits with an optional leading '+'. 0, or GT_EINVAL with gt__fail
 * naming sms.from. Every SMS provider's open() calls it. */
GT_HIDDEN int gt__sms_check_from(const char *from);

/* Parses sms.to, comma-separated phone numbers in international format
 * ("+41 79 302 67 27": one leading '+', the separators people write),
 * into a malloc'd array of *n strings of 8 to 15 digits, each prefixed
 * with prefix ("" for Infobip, "+" for E.164). 0, or a gt__fail naming
 * sms.to (example: a number to show in the message). On failure the
 * strings made so far are in *to and *n for the caller to free. */
GT_HIDDEN int gt__sms_parse_to(const char *list, const char *prefix,
                               const char *example, char ***to, size_t *n);

/* The keys every SMS provider reads; sms.provider picks one of them. */
#define GT_SMS_DEFAULT_FROM "GarbageText"
#define GT_SMS_KEYS                                                            \
  {"sms.provider", GT_KEY_ENUM, "infobip", "infobip|twilio", 0, 0},            \
      {"sms.base_url", GT_KEY_STR, NULL, NULL, 0, 0},                          \
      {"sms.api_key", GT_KEY_SECRET, NULL, NULL, 0, 0},                        \
      {"sms.from", GT_KEY_STR, GT_SMS_DEFAULT_FROM, NULL, 0, 0},               \
      {"sms.to", GT_KEY_STR, NULL, NULL, 0, 0},                                \
      {"sms.max_segments", GT_KEY_U64, "1", NULL, 1, 10}, {                    \
    "sms.ca_file", GT_KEY_STR, NULL, NULL, 0, 0                                \
  }

#endif
