/* The backend table: one line per backend file. */
#include <string.h>

#include "gt_internal.h"

extern const gt_backend_ops gt__backend_log;
extern const gt_backend_ops gt__backend_sms;
extern const gt_backend_ops gt__backend_email;
extern const gt_backend_ops gt__backend_webhook;
extern const gt_backend_ops gt__backend_alertmanager;

static const gt_backend_ops *const available[] = {
    &gt__backend_log,     &gt__backend_sms,          &gt__backend_email,
    &gt__backend_webhook, &gt__backend_alertmanager, NULL,
};

/* Every name the configuration accepts; those missing from `available`
 * fail gt_init with "not available in this build". */
static const char *const known[] = {"log",     "sms",          "email",
                                    "webhook", "alertmanager", NULL};

const gt_backend_ops *gt__backend_find(const char *name) {
  for (size_t i = 0; available[i]; i++)
    if (strcmp(available[i]->name, name) == 0) return available[i];
  return NULL;
}

bool gt__backend_known(const char *name) {
  for (size_t i = 0; known[i]; i++)
    if (strcmp(known[i], name) == 0) return true;
  return false;
}
