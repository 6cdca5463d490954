/* The alerts the "alertmanager" backend posts (alertmanager.c): one per
 * object-name group of a batch, labelled with this process's identity and
 * the group's name, annotated with the rendered text and the counts, and
 * timed from the batch itself so that a late replay is not news. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/alertmanager.h"
#include "text.h"

/* Alerts stay active this long after the batch that last mentioned them:
 * Alertmanager resolves them by itself once collections of that name stop,
 * and a later batch simply extends them (same labels = same alert). */
#define AM_RESOLVE_S (5 * 60)

static void rfc3339(time_t t, char out[32]) {
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A string jansson accepts: object names come from the program and need
 * not be UTF-8; the bytes of an invalid one are escaped as \xhh. */
static json_t *str_json(const char *v) {
  char *c = gt__text_utf8(v);
  json_t *j = c ? json_string(c) : NULL;
  free(c);
  return j;
}

static json_t *num_str(json_t *v) {
  char buf[64];
  if (json_is_integer(v))
    snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v))
    snprintf(buf, sizeof buf, "%g", json_real_value(v));
  else if (json_is_string(v))
    return json_string(json_string_value(v));
  else if (json_is_boolean(v))
    snprintf(buf, sizeof buf, "%s", json_is_true(v) ? "true" : "false");
  else
    return NULL;
  return json_string(buf);
}

/* One alert per group of the batch. Annotations are strings (Alertmanager
 * requires it): the rendered text, the group's counts, the batch totals,
 * and whatever age fields the batch JSON carries for the group. */
char *gt__alertmanager_body(const gt_am_identity *id, const gt_message *msg) {
  json_t *owned, *batch = gt__message_json(msg, &owned);
  json_t *groups = batch ? json_object_get(batch, "groups") : NULL;
  json_t *alerts = json_array();
  /* The batch's own times when it has them: a batch replayed from the
   * spool an hour late then arrives already resolved instead of firing as
   * if it were news. */
  char starts[32], ends[32];
  time_t now = time(NULL);
  json_int_t first = json_integer_value(json_object_get(batch, "first_ms"));
  json_int_t last = json_integer_value(json_object_get(batch, "last_ms"));
  time_t t0 = first > 0 ? (time_t)(first / 1000) : now;
  time_t t1 = last > 0 ? (time_t)(last / 1000) : now;
  if (t0 > now) t0 = now; /* Alertmanager refuses startsAt in the future */
  if (t1 < t0) t1 = t0;
  rfc3339(t0, starts);
  rfc3339(t1 + AM_RESOLVE_S, ends);
  size_t ng = json_array_size(groups);
  /* A message without a batch (gt send-test) is one alert named "test". */
  for (size_t i = 0; i < (ng ? ng : 1); i++) {
    json_t *g = ng ? json_array_get(groups, i) : NULL;
    json_t *gname = g ? json_object_get(g, "name") : NULL;
    const char *name = json_is_string(gname) ? json_string_value(gname)
                       : batch               ? "(all)" /* gt.group_by=none */
                                             : "test";
    json_t *labels = json_object();
    json_object_set_new(labels, "alertname", json_string("GarbageCollected"));
    json_object_set_new(labels, "service", json_string(id->service));
    json_object_set_new(labels, "instance", json_string(id->instance));
    json_object_set_new(labels, "name", str_json(name));
    for (size_t k = 0; k < id->nlabels; k++)
      json_object_set_new(labels, id->labels[k].name,
                          json_string(id->labels[k].value));
    json_t *ann = json_object();
    json_object_set_new(ann, "summary", str_json(msg->text));
    if (g) {
      const char *key;
      json_t *v;
      json_object_foreach(g, key, v) {
        const char *as = strcmp(key, "count") == 0 ? "collected" : key;
        if (strcmp(key, "name") == 0) continue;
        if (json_is_object(v)) { /* e.g. "age": {"min":…,"max":…} */
          const char *sub;
          json_t *sv;
          char k[96];
          json_object_foreach(v, sub, sv) {
            json_t *ss = num_str(sv);
            snprintf(k, sizeof k, "%s_%s", key, sub);
            if (ss) json_object_set_new(ann, k, ss);
          }
          continue;
        }
        json_t *sv = num_str(v);
        if (sv) json_object_set_new(ann, as, sv);
      }
    }
    if (batch) {
      static const char *const totals[] = {"collected", "sampled",   "bytes",
                                           "freed",     "estimated", NULL};
      char k[40];
      for (size_t t = 0; totals[t]; t++) {
        json_t *sv = num_str(json_object_get(batch, totals[t]));
        snprintf(k, sizeof k, "batch_%s", totals[t]);
        if (sv) json_object_set_new(ann, k, sv);
      }
    }
    json_t *a = json_object();
    json_object_set_new(a, "labels", labels);
    json_object_set_new(a, "annotations", ann);
    json_object_set_new(a, "startsAt", json_string(starts));
    json_object_set_new(a, "endsAt", json_string(ends));
    json_array_append_new(alerts, a);
  }
  char *out = json_dumps(alerts, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(alerts);
  json_decref(owned);
  return out;
}
