/* gt: check a garbage-texts configuration and send a test message through
 * the configured backends. Reads configuration exactly as gt_init does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gc.h>
#include <jansson.h>

#include "backends/http.h"
#include "batch.h"
#include "config.h"
#include "delivery/backend.h"
#include "delivery/spool.h"
#include "options.h"
#include "report.h"
#include "run.h"
#include "text.h"

enum { EXIT_OK = 0, EXIT_DELIVERY = 1, EXIT_USAGE = 2 };

static const char usage[] =
    "usage: gt [-c FILE] [-o KEY=VALUE]... COMMAND\n"
    "\n"
    "Commands:\n"
    "  check             validate the configuration, print the effective\n"
    "                    values (secrets as ***) and open every configured\n"
    "                    backend without sending anything\n"
    "  send-test [TEXT]  send one message through every configured backend\n"
    "                    and print each server's verdict\n"
    "  spool list        list every file in gt.spool_dir: pending messages\n"
    "                    and those set aside (rejected, corrupt, unsafe),\n"
    "                    each with its reason\n"
    "  spool replay      deliver them through the configured backends\n"
    "  run [-c FILE] [-o KEY=VALUE]... [-q] [--] PROGRAM [ARGS...]\n"
    "                    run a program that uses bdwgc with gt attached, and\n"
    "                    say what it reclaimed, by allocation site\n"
    "                    (docs/attach.md); its options follow \"run\"\n"
    "  report [--top N] [--by site|name|stack] FILE...\n"
    "                    read gt's JSON logs and profiles and print what\n"
    "                    was reclaimed per site, name or stack\n"
    "                    (docs/report.md); reads no configuration\n"
    "\n"
    "Options:\n"
    "  -c FILE           read an INI file (after $GT_CONFIG)\n"
    "  -o KEY=VALUE      set a key, e.g. -o gt.backend=sms (wins over all)\n"
    "  -h, --help        show this help\n"
    "  --version         print gt's version\n"
    "\n"
    "Configuration comes from the same places as gt_init(): defaults <\n"
    "$GT_CONFIG < -c FILE < GT_<SECTION>_<KEY> environment < -o.\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  a backend failed to deliver (send-test), or messages remain in\n"
    "     the spool after spool replay, or a file report could not read\n"
    "     (bad lines in a file are warned about and skipped: status 0)\n"
    "  2  bad configuration or usage\n";

/* URLs may carry a password (https://user:pw@host/): shown as ***. */
static bool url_key(const char *key) {
  size_t n = strlen(key);
  return (n >= 4 && strcmp(key + n - 4, ".url") == 0) ||
         (n >= 4 && strcmp(key + n - 4, "_url") == 0);
}

static void print_value(const char *key, const char *value, const char *dflt,
                        bool secret, void *ud) {
  (void)ud;
  const char *v = value ? value : dflt;
  if (!v || (!value && !*v)) return;
  char *masked = NULL;
  if (secret)
    v = "***";
  else if (url_key(key))
    v = (masked = gt__http_mask_url(v)) ? masked : "(hidden: out of memory)";
  /* Values hold the defaults too: tell them by text. */
  bool dflt_value = !value || (dflt && strcmp(value, dflt) == 0);
  printf("%-24s = %s%s\n", key, v, dflt_value ? " (default)" : "");
  free(masked);
}

/* Calls fn for each backend in gt.backend; stops at the first nonzero. */
typedef int (*each_fn)(const gt_backend_ops *ops, const gt_config *cfg,
                       void *ud);
static int each_backend(const gt_config *cfg, each_fn fn, void *ud) {
  const char *list = cfg->backend ? cfg->backend : "log";
  int worst = EXIT_OK;
  for (const char *p = list; *p;) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char name[64];
    while (n && *p == ' ')
      p++, n--;
    while (n && p[n - 1] == ' ')
      n--;
    snprintf(name, sizeof name, "%.*s", (int)n, p);
    const gt_backend_ops *ops;
    if (gt__backend_find(cfg, name, &ops) != GT_OK) {
      fprintf(stderr, "gt: %s\n", gt_last_error());
      return EXIT_USAGE;
    }
    int rc = fn(ops, cfg, ud);
    if (rc == EXIT_USAGE) return rc;
    if (rc > worst) worst = rc;
    if (!e) break;
    p = e + 1;
  }
  return worst;
}

static int check_one(const gt_backend_ops *ops, const gt_config *cfg,
                     void *ud) {
  (void)ud;
  void *st = NULL;
  if (ops->open(cfg, &st) < 0) {
    fprintf(stderr, "gt: backend %s: %s\n", ops->name, gt_last_error());
    return EXIT_USAGE;
  }
  ops->close(st);
  printf("backend %s: ok\n", ops->name);
  return EXIT_OK;
}

static int send_one(const gt_backend_ops *ops, const gt_config *cfg, void *ud) {
  const char *text = ud;
  void *st = NULL;
  if (ops->open(cfg, &st) < 0) {
    fprintf(stderr, "gt: backend %s: %s\n", ops->name, gt_last_error());
    return EXIT_USAGE;
  }
  /* A batch of one, so structured backends (webhook) have a body. */
  gt_batch b;
  gt__batch_init(&b);
  b.seq = 1;
  b.collected = 1;
  b.sampled = 1;
  b.scale = 1;
  b.first_wall_ms = b.last_wall_ms = gt__wall_ms();
  gt_message msg = {.text = text, .batch = &b};
  gt_send_result res = {.retry_after_ms = -1};
  int rc = ops->send(st, &msg, &res);
  ops->close(st);
  gt__batch_free(&b);
  if (rc < 0) {
    /* Details already start with the backend's name. */
    printf("FAILED %s%s\n", res.detail[0] ? res.detail : gt_last_error(),
           res.retryable ? " (temporary; the library would retry)" : "");
    return EXIT_DELIVERY;
  }
  printf("sent   %s\n", res.detail[0] ? res.detail : ops->name);
  return EXIT_OK;
}

/* Spool files hold text from the program's object names and from servers:
 * control characters are shown escaped so that they cannot forge lines. */
static void put_clean(const char *s, size_t max) {
  size_t n = strlen(s);
  bool cut = n > max;
  if (cut) /* at a character's start */
    for (n = max; n && ((unsigned char)s[n] & 0xC0) == 0x80; n--)
      ;
  char *line = malloc(GT_TEXT_LINE_MAX(n) + 1);
  if (!line) return;
  line[gt__text_line_putn(line, s, n)] = 0;
  printf("%s%s\n", line, cut ? "..." : "");
  free(line);
}

static void field(const char *label, const char *s, size_t max) {
  printf("    %-18s", label);
  put_clean(s, max);
}

typedef struct listing {
  size_t pending, aside, other;
} listing;

static void list_one(const gt_spool_entry *e, void *ud) {
  listing *l = ud;
  char objects[32] = "?";
  if (e->objects_known)
    snprintf(objects, sizeof objects, "%llu", (unsigned long long)e->objects);
  if (e->state == GT_SPOOLED_PENDING)
    l->pending++;
  else if (e->state == GT_SPOOLED_PARTIAL || e->state == GT_SPOOLED_OTHER)
    l->other++; /* not messages */
  else
    l->aside++;
  printf("%-8s %-12s %8s objects  ", gt__spool_state_name(e->state),
         e->backend ? e->backend : "-", objects);
  put_clean(e->name, 255);
  bool note = e->state == GT_SPOOLED_PARTIAL || e->state == GT_SPOOLED_OTHER;
  if (e->aside) field(note ? "note:" : "set aside:", e->aside, 400);
  if (e->reason && *e->reason) field("spooled because:", e->reason, 400);
  if (e->text) field("text:", e->text, 200);
}

/* Replay is what the library does at start: a pipeline that runs until the
 * spool has been offered once, then shuts down (spooling what failed). */
static int spool_cmd(const char *sub, const gt_options *opts,
                     const gt_config *cfg) {
  if (!cfg->spool_dir) {
    fprintf(stderr, "gt: no spool: gt.spool_dir is not set, and neither is "
                    "XDG_STATE_HOME or HOME\n");
    return EXIT_USAGE;
  }
  if (strcmp(sub, "list") == 0) {
    listing l = {0};
    if (gt__spool_list(cfg->spool_dir, list_one, &l) < 0) {
      fprintf(stderr, "gt: %s\n", gt_last_error());
      return EXIT_USAGE;
    }
    printf("%zu message(s) in %s: %zu pending, %zu set aside",
           l.pending + l.aside, cfg->spool_dir, l.pending, l.aside);
    if (l.other) printf("; %zu other file(s)", l.other);
    puts(l.aside ? " (set-aside files are never replayed: see "
                   "docs/reliability.md)"
                 : "");
    return EXIT_OK;
  }
  if (strcmp(sub, "replay") != 0) {
    fprintf(stderr, "gt: spool wants list or replay\n\n%s", usage);
    return EXIT_USAGE;
  }
  size_t before = gt__spool_count(cfg->spool_dir);
  if (gt_init(opts) < 0) {
    fprintf(stderr, "gt: %s\n", gt_last_error());
    return EXIT_USAGE;
  }
  gt_flush((int)cfg->timeout_ms * 2);
  gt_stats st;
  gt_get_stats(&st);
  gt_shutdown((int)cfg->timeout_ms);
  size_t after = gt__spool_count(cfg->spool_dir);
  printf("replayed %llu of %zu message(s); %zu left in %s\n",
         (unsigned long long)st.replayed, before, after, cfg->spool_dir);
  return after ? EXIT_DELIVERY : EXIT_OK;
}

/* -o KEY=VALUE */
static int set_option(gt_options *opts, char *kv) {
  char *eq = strchr(kv, '=');
  if (!eq) {
    fprintf(stderr, "gt: -o wants KEY=VALUE, e.g. -o gt.backend=log\n");
    return -1;
  }
  *eq = '\0';
  int rc = gt_options_set(opts, kv, eq + 1);
  *eq = '=';
  if (rc < 0) fprintf(stderr, "gt: -o: %s\n", gt_last_error());
  return rc;
}

/* The options before the command; returns the index of the command, or
 * -1 with an error printed, or argc + 1 for --help / --version done. */
static int parse_options(int argc, char **argv, gt_options *opts) {
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    bool c = strcmp(a, "-c") == 0, o = strcmp(a, "-o") == 0;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return argc + 1;
    } else if (strcmp(a, "--version") == 0) {
      puts("gt " GT_VERSION_STRING);
      return argc + 1;
    } else if ((c || o) && i + 1 >= argc) {
      fprintf(stderr, "gt: %s needs %s (gt --help)\n", a,
              c ? "a FILE" : "KEY=VALUE");
      return -1;
    } else if (c) {
      if (gt_options_load_file(opts, argv[++i]) < 0) {
        fprintf(stderr, "gt: -c: %s\n", gt_last_error());
        return -1;
      }
    } else if (o) {
      if (set_option(opts, argv[++i]) < 0) return -1;
    } else {
      fprintf(stderr, "gt: unknown option %s\n\n%s", a, usage);
      return -1;
    }
  }
  return i;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "run") == 0) /* its own options follow */
    return gt_run(argc - 2, argv + 2);
  if (argc > 1 && strcmp(argv[1], "report") == 0) /* files, no config */
    return gt_report_main(argc - 2, argv + 2);
  gt_options *opts = gt_options_new();
  if (!opts) {
    fprintf(stderr, "gt: out of memory\n");
    return EXIT_USAGE;
  }
  int status = EXIT_USAGE, i = parse_options(argc, argv, opts);
  if (i < 0) goto out;
  if (i > argc) {
    status = EXIT_OK;
    goto out;
  }
  if (i >= argc) {
    fputs(usage, stderr);
    goto out;
  }
  const char *cmd = argv[i++];
  if (strcmp(cmd, "run") == 0 || strcmp(cmd, "report") == 0) {
    fprintf(stderr, "gt: %s takes its options after \"%s\":\n  %s", cmd, cmd,
            cmd[1] == 'u' ? gt_run_usage : gt_report_usage);
    goto out;
  }
  bool check = strcmp(cmd, "check") == 0, spool = strcmp(cmd, "spool") == 0;
  if (!check && !spool && strcmp(cmd, "send-test") != 0) {
    fprintf(stderr, "gt: unknown command %s\n\n%s", cmd, usage);
    goto out;
  }
  if (spool && argc - i != 1) {
    fprintf(stderr, "gt: spool wants list or replay\n\n%s", usage);
    goto out;
  }
  if ((check && i != argc) || (!check && !spool && argc - i > 1)) {
    fprintf(stderr, "gt: too many arguments\n\n%s", usage);
    goto out;
  }
  gt__options_warn_env(); /* a typo first: it may explain what fails */
  gt_config cfg;
  if (gt__options_build(opts, &cfg) < 0) {
    fprintf(stderr, "gt: configuration: %s\n", gt_last_error());
    goto out;
  }
  if (spool) {
    status = spool_cmd(argv[i], opts, &cfg);
  } else if (check) {
    gt__config_visit(&cfg, print_value, NULL);
    if (!cfg.spool_dir)
      printf("%-24s = (none: set it, or XDG_STATE_HOME or HOME; undelivered "
             "messages would be lost)\n",
             "gt.spool_dir");
    status = each_backend(&cfg, check_one, NULL);
  } else {
    const char *text =
        i < argc ? argv[i] : "garbage-texts: test message from gt send-test";
    status = each_backend(&cfg, send_one, (void *)text);
  }
  gt__config_free(&cfg);
out:
  gt_options_free(opts);
  return status;
}
