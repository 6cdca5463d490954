/* Shared by the "alertmanager" backend's files: alertmanager.c (its
 * configuration and the posting to every member) and alertmanager_alerts.c
 * (the alerts' JSON). */
#ifndef GT_BACKEND_ALERTMANAGER_H
#define GT_BACKEND_ALERTMANAGER_H

#include <stddef.h>

#include "delivery/backend.h"

#define GT_AM_MAX_LABELS 32

typedef struct gt_am_label {
  char *name, *value;
} gt_am_label;

/* What every alert of this process carries besides its alertname and the
 * name of its group: alertmanager.service, alertmanager.instance (or
 * host:pid) and the extra alertmanager.labels. */
typedef struct gt_am_identity {
  char *service;
  char *instance;
  gt_am_label labels[GT_AM_MAX_LABELS];
  size_t nlabels;
} gt_am_identity;

/* The alerts for msg as a compact JSON array with sorted keys: one per
 * group of its batch (one named "test" for a message without a batch).
 * NULL when out of memory. */
GT_HIDDEN char *gt__alertmanager_body(const gt_am_identity *id,
                                      const gt_message *msg);

#endif
