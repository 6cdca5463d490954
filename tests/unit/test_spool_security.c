/* The spool as an attacker sees it: a directory another user can write or
 * swap is refused (as ssh refuses ~/.ssh), only our own regular files are
 * read (never a FIFO, never through a symlink), and processes sharing a
 * spool deliver each file once, whatever their PID namespace.
 *
 * These tests run as root (chown, unshare): they fail, never skip, when
 * they cannot do what they check. Every child process that could block is
 * run with a deadline. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../internal.h"

#define NOBODY 65534

static char base[96], dir[160];

static void setup(void) {
  cr_assert_eq(geteuid(), 0, "these tests need root (chown, unshare)");
  /* mkdtemp, not the pid: pids come back after a crashed run. */
  snprintf(base, sizeof base, "/tmp/gt-spool-sec-XXXXXX");
  cr_assert_not_null(mkdtemp(base), "%s: %s", base, strerror(errno));
  snprintf(dir, sizeof dir, "%s/spool", base);
}

static void teardown(void) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf %s %s-*", base, base);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", base);
}

TestSuite(spool_security, .init = setup, .fini = teardown, .timeout = 60);

static void nap(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

static void mkdir_mode(const char *path, mode_t mode) {
  cr_assert_eq(mkdir(path, 0700), 0, "%s: %s", path, strerror(errno));
  cr_assert_eq(chmod(path, mode), 0); /* chmod: the umask does not apply */
}

/* prepare must refuse with GT_EINVAL and a message naming the key, the
 * configured path and `why`. */
static void assert_refused(const char *path, const char *why) {
  cr_assert_eq(gt__spool_prepare(path), GT_EINVAL, "accepted %s (%s)", path,
               gt_last_error());
  const char *e = gt_last_error();
  cr_expect(strstr(e, "gt.spool_dir"), "%s", e);
  cr_expect(strstr(e, path), "%s", e);
  cr_expect(strstr(e, why), "wanted \"%s\" in: %s", why, e);
}

static void write_msg(const char *backend, const char *text, int n) {
  json_t *b = json_object();
  json_object_set_new(b, "collected", json_integer(n));
  cr_assert_eq(gt__spool_write(dir, backend, text, b, "test"), 0, "%s",
               gt_last_error());
  json_decref(b);
}

/* A file planted with a body, by path. */
static void plant_at(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  fprintf(f,
          "{\"v\":1,\"backend\":\"sms\",\"text\":\"%s\",\"batch\":"
          "{\"collected\":1}}",
          text);
  cr_assert_eq(fclose(f), 0);
}

/* Replay callback: each delivered text on a line of the pipe in ud. A line
 * is one write() under PIPE_BUF, so lines from many processes never mix. */
static enum gt_spool_verdict to_pipe(const char *backend, const char *text,
                                     json_t *b, void *ud) {
  (void)backend, (void)b;
  char line[128];
  int n = snprintf(line, sizeof line, "%s\n", text);
  if (write(*(int *)ud, line, (size_t)n) != n) _exit(3);
  nap(2); /* a slow sink widens every race */
  return GT_SPOOL_DELIVERED;
}

/* Everything the pipe holds once its writers are gone. */
static char *drain(int fd) {
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  cr_assert_not_null(buf);
  for (ssize_t r; (r = read(fd, buf + len, cap - len - 1)) > 0;) {
    len += (size_t)r;
    if (len + 1 == cap) cr_assert_not_null(buf = realloc(buf, cap *= 2));
  }
  buf[len] = 0;
  return buf;
}

static int count_line(const char *all, const char *line) {
  int n = 0;
  size_t len = strlen(line);
  for (const char *p = all; (p = strstr(p, line)); p += len)
    if ((p == all || p[-1] == '\n') && p[len] == '\n') n++;
  return n;
}

/* Waits for a child; kills it and fails the test after ms. */
static int wait_deadline(pid_t pid, int ms, const char *what) {
  int st = 0;
  for (int waited = 0; waitpid(pid, &st, WNOHANG) != pid; waited += 10) {
    if (waited > ms) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      cr_assert_fail("%s did not finish within %d ms: it blocked", what, ms);
    }
    nap(10);
  }
  return st;
}

static bool is_fifo(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* ---- the directory ------------------------------------------------------ */

Test(spool_security, world_writable_spool_is_refused) {
  mkdir_mode(dir, 0777);
  assert_refused(dir, "writable by others (mode 0777)");
  cr_assert_eq(chmod(dir, 01777), 0);
  assert_refused(dir, "writable by others"); /* sticky or not: ours only */
}

Test(spool_security, group_writable_spool_is_refused) {
  mkdir_mode(dir, 0770);
  assert_refused(dir, "writable by its group (mode 0770)");
}

Test(spool_security, spool_owned_by_another_uid_is_refused) {
  mkdir_mode(dir, 0700);
  cr_assert_eq(chown(dir, NOBODY, NOBODY), 0);
  assert_refused(dir, "owned by uid 65534");
}

Test(spool_security, symlinked_spool_is_refused) {
  char real[200];
  snprintf(real, sizeof real, "%s/real", base);
  mkdir_mode(real, 0700);
  cr_assert_eq(symlink(real, dir), 0);
  assert_refused(dir, "symbolic link");
  /* and a write through the link, as if it had been swapped in later */
  json_t *b = json_object();
  cr_expect_eq(gt__spool_write(dir, "sms", "x", b, ""), GT_EINVAL);
  json_decref(b);
  cr_expect(strstr(gt_last_error(), "symbolic link"), "%s", gt_last_error());
}

Test(spool_security, writable_parent_without_sticky_bit_is_refused) {
  char pub[200], spool[260];
  snprintf(pub, sizeof pub, "%s/pub", base);
  snprintf(spool, sizeof spool, "%s/spool", pub);
  mkdir_mode(pub, 0777);
  assert_refused(spool, "without the sticky bit");
  cr_expect(strstr(gt_last_error(), pub), "names the parent: %s",
            gt_last_error());
  struct stat st;
  cr_expect_neq(stat(spool, &st), 0, "nothing created below an unsafe parent");
  cr_assert_eq(chmod(pub, 01777), 0); /* like /tmp: others cannot rename */
  cr_assert_eq(gt__spool_prepare(spool), 0, "%s", gt_last_error());
}

Test(spool_security, parent_owned_by_another_uid_is_refused) {
  char theirs[200], spool[260];
  snprintf(theirs, sizeof theirs, "%s/theirs", base);
  snprintf(spool, sizeof spool, "%s/spool", theirs);
  mkdir_mode(theirs, 0755);
  cr_assert_eq(chown(theirs, NOBODY, NOBODY), 0);
  assert_refused(spool, "owned by uid 65534");
}

Test(spool_security, symlink_on_the_path_owned_by_another_uid_is_refused) {
  char real[200], link[200], spool[260];
  snprintf(real, sizeof real, "%s/real", base);
  snprintf(link, sizeof link, "%s/link", base);
  snprintf(spool, sizeof spool, "%s/spool", link);
  mkdir_mode(real, 0700);
  cr_assert_eq(symlink(real, link), 0);
  cr_assert_eq(lchown(link, NOBODY, NOBODY), 0);
  assert_refused(spool, "owned by uid 65534"); /* its owner could retarget it */
  cr_assert_eq(lchown(link, 0, 0), 0);
  cr_assert_eq(gt__spool_prepare(spool), 0, "%s", gt_last_error());
}

Test(spool_security, resolved_path_through_another_users_directory_is_refused) {
  /* base/link -> base/theirs/inner, where theirs belongs to nobody: the
   * written path looks fine, the directories it resolves through are not. */
  char theirs[200], inner[260], link[200], spool[260];
  snprintf(theirs, sizeof theirs, "%s/theirs", base);
  snprintf(inner, sizeof inner, "%s/inner", theirs);
  snprintf(link, sizeof link, "%s/link", base);
  snprintf(spool, sizeof spool, "%s/spool", link);
  mkdir_mode(theirs, 0755);
  mkdir_mode(inner, 0700);
  cr_assert_eq(chown(theirs, NOBODY, NOBODY), 0);
  cr_assert_eq(symlink(inner, link), 0);
  assert_refused(spool, "owned by uid 65534");
}

Test(spool_security, the_effective_uid_decides) {
  /* Only the effective uid changes (the real one stays root): a spool
   * owned by that uid is accepted, root's is refused. */
  char ours[200], roots[200];
  snprintf(ours, sizeof ours, "%s-nobody", base); /* in /tmp: 1777, root */
  snprintf(roots, sizeof roots, "%s-root", base);
  mkdir_mode(ours, 0700);
  mkdir_mode(roots, 0700);
  cr_assert_eq(chown(ours, NOBODY, NOBODY), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    if (setegid(NOBODY) != 0 || seteuid(NOBODY) != 0) _exit(10);
    if (gt__spool_prepare(ours) != 0) _exit(11);
    if (gt__spool_prepare(roots) != GT_EINVAL) _exit(12);
    if (!strstr(gt_last_error(), "owned by uid 0")) _exit(13);
    _exit(0);
  }
  int st = wait_deadline(pid, 10000, "the child");
  cr_assert(WIFEXITED(st));
  cr_assert_eq(WEXITSTATUS(st), 0,
               "10: seteuid failed, 11: own spool refused, 12: root's "
               "accepted, 13: wrong message");
}

Test(spool_security, a_spool_made_unsafe_later_is_not_replayed) {
  cr_assert_eq(gt__spool_prepare(dir), 0, "%s", gt_last_error());
  write_msg("sms", "ours", 1);
  cr_assert_eq(chmod(dir, 0777), 0); /* someone opened it up after gt_init */
  int p[2];
  cr_assert_eq(pipe(p), 0);
  cr_expect_eq(gt__spool_replay(dir, to_pipe, &p[1]), 0);
  close(p[1]);
  char *got = drain(p[0]);
  cr_expect_str_eq(got, "", "nothing is sent from an unsafe spool");
  free(got);
  json_t *b = json_object();
  cr_expect_eq(gt__spool_write(dir, "sms", "x", b, ""), GT_EINVAL);
  json_decref(b);
  cr_expect(strstr(gt_last_error(), "writable by others"), "%s",
            gt_last_error());
  cr_expect_lt(gt__spool_list(dir, NULL, NULL), 0, "list says why too");
}

/* ---- what is read ------------------------------------------------------- */

Test(spool_security, fifo_named_msg_never_blocks_replay) {
  cr_assert_eq(gt__spool_prepare(dir), 0, "%s", gt_last_error());
  char fifo[260], aside[300];
  snprintf(fifo, sizeof fifo, "%s/0000000000001.1.1.webhook.msg", dir);
  snprintf(aside, sizeof aside, "%s.unsafe", fifo);
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  write_msg("sms", "after the fifo", 1);
  int p[2];
  cr_assert_eq(pipe(p), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    close(p[0]);
    _exit(gt__spool_replay(dir, to_pipe, &p[1]) == 1 ? 0 : 1);
  }
  close(p[1]);
  int st = wait_deadline(pid, 10000, "replay with a FIFO in the spool");
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the message was not sent");
  char *got = drain(p[0]);
  close(p[0]);
  cr_expect_str_eq(got, "after the fifo\n");
  free(got);
  cr_expect(is_fifo(aside), "the FIFO is set aside unopened");
  cr_expect(!is_fifo(fifo));
  cr_expect_eq(gt__spool_count(dir), 0);
}

static void count_unsafe(const gt_spool_entry *e, void *ud) {
  char **reason = ud;
  if (e->state == GT_SPOOLED_UNSAFE) *reason = strdup(e->aside);
}

Test(spool_security, symlink_to_a_file_outside_is_never_followed) {
  cr_assert_eq(gt__spool_prepare(dir), 0, "%s", gt_last_error());
  char outside[200], link[260];
  snprintf(outside, sizeof outside, "%s/outside.json", base);
  snprintf(link, sizeof link, "%s/0000000000001.1.1.sms.msg", dir);
  plant_at(outside, "outside");
  cr_assert_eq(symlink(outside, link), 0);
  char *reason = NULL;
  cr_assert_eq(gt__spool_list(dir, count_unsafe, &reason), 1);
  cr_assert_not_null(reason);
  cr_expect(strstr(reason, "symbolic link"), "%s", reason);
  free(reason);
  int p[2];
  cr_assert_eq(pipe(p), 0);
  cr_expect_eq(gt__spool_replay(dir, to_pipe, &p[1]), 0);
  close(p[1]);
  char *got = drain(p[0]);
  close(p[0]);
  cr_expect_str_eq(got, "", "the linked file was delivered");
  free(got);
  struct stat st;
  cr_expect_eq(stat(outside, &st), 0, "the target is left alone");
  char aside[300];
  snprintf(aside, sizeof aside, "%s.unsafe", link);
  cr_expect_eq(lstat(aside, &st), 0);
  cr_expect(S_ISLNK(st.st_mode), "the link itself is set aside");
}

Test(spool_security, another_users_file_is_never_read) {
  cr_assert_eq(gt__spool_prepare(dir), 0, "%s", gt_last_error());
  char path[260];
  snprintf(path, sizeof path, "%s/0000000000001.1.1.sms.msg", dir);
  plant_at(path, "planted");
  cr_assert_eq(chown(path, NOBODY, NOBODY), 0);
  cr_expect_eq(gt__spool_count(dir), 0, "not a pending message");
  int p[2];
  cr_assert_eq(pipe(p), 0);
  cr_expect_eq(gt__spool_replay(dir, to_pipe, &p[1]), 0);
  close(p[1]);
  char *got = drain(p[0]);
  close(p[0]);
  cr_expect_str_eq(got, "");
  free(got);
  char *reason = NULL;
  gt__spool_list(dir, count_unsafe, &reason);
  cr_assert_not_null(reason, "listed as unsafe");
  cr_expect(strstr(reason, "owned by uid 65534"), "%s", reason);
  free(reason);
}

/* ---- locks between processes -------------------------------------------- */

/* Replays once in a child after `go` says so; exits 0. */
static pid_t replayer(int go, int out) {
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid) return pid;
  char c;
  if (read(go, &c, 1) != 1) _exit(5);
  gt__spool_replay(dir, to_pipe, &out);
  _exit(0);
}

static void assert_each_once(const char *got, int files) {
  int lines = 0;
  for (const char *p = got; *p; p++)
    lines += *p == '\n';
  for (int i = 0; i < files; i++) {
    char text[32];
    snprintf(text, sizeof text, "m%d", i);
    cr_expect_eq(count_line(got, text), 1, "%s delivered %d times", text,
                 count_line(got, text));
  }
  cr_expect_eq(lines, files, "%d deliveries for %d files", lines, files);
}

Test(spool_security, concurrent_replayers_deliver_each_file_once) {
  enum { FILES = 60, PROCS = 4 };
  cr_assert_eq(gt__spool_prepare(dir), 0, "%s", gt_last_error());
  for (int i = 0; i < FILES; i++) {
    char text[32];
    snprintf(text, sizeof text, "m%d", i);
    write_msg("sms", text, 1);
  }
  int go[2], out[2];
  cr_assert_eq(pipe(go), 0);
  cr_assert_eq(pipe(out), 0);
  pid_t pids[PROCS];
  for (int i = 0; i < PROCS; i++)
    pids[i] = replayer(go[0], out[1]);
  close(out[1]);
  cr_assert_eq(write(go[1], "gggg", PROCS), PROCS); /* start together */
  for (int i = 0; i < PROCS; i++) {
    int st = wait_deadline(pids[i], 30000, "a replayer");
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  char *got = drain(out[0]);
  assert_each_once(got, FILES);
  free(got);
  cr_expect_eq(gt__spool_count(dir), 0);
}

/* One line from a pipe, waiting at most ms; "" at EOF or timeout. */
static void read_line(int fd, char *buf, size_t n, int ms) {
  size_t len = 0;
  buf[0] = 0;
  while (len + 1 < n) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, ms) != 1 || read(fd, buf + len, 1) != 1) break;
    if (buf[len] == '\n') break;
    buf[++len] = 0;
  }
  buf[len] = 0;
}

/* Holds a lock on `path` until killed, as a replayer sending it would.
 * With `newns` it does so as pid 1 of a new PID namespace: the child that
 * makes the namespace reports the holder's pid as seen from here ("P<pid>")
 * and waits for it. Writes "L" once locked, "E<why>" on failure. Returns the
 * pid to kill. */
static pid_t lock_holder(const char *path, bool newns, int ready) {
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
  if (newns) {
    if (unshare(CLONE_NEWPID) != 0) {
      dprintf(ready, "Eunshare(CLONE_NEWPID): %s\n", strerror(errno));
      _exit(2);
    }
    pid_t inner = fork();
    if (inner < 0) _exit(2);
    if (inner == 0) prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives us */
    if (inner > 0) {
      dprintf(ready, "P%d\n", (int)inner);
      waitpid(inner, NULL, 0);
      _exit(0);
    }
    if (getpid() != 1) {
      dprintf(ready, "Enot pid 1 in the new namespace\n");
      _exit(2);
    }
  }
  int fd = open(path, O_RDONLY);
  if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
    dprintf(ready, "Ecannot lock %s: %s\n", path, strerror(errno));
    _exit(3);
  }
  dprintf(ready, "L\n");
  pause();
  _exit(0);
}

/* The path of the spool's only pending message. */
static void only_message(char *path, size_t n) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  int found = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t len = strlen(e->d_name);
    if (len > 4 && !strcmp(e->d_name + len - 4, ".msg")) {
      snprintf(path, n, "%s/%s", dir, e->d_name);
      found++;
    }
  }
  closedir(d);
  cr_assert_eq(found, 1);
}

/* A locked message is skipped; once its holder dies (the lock with it),
 * the next replay delivers it, once. */
static void locked_message_is_skipped_until_its_holder_dies(bool newns) {
  cr_assert_eq(gt__spool_prepare(dir), 0, "%s", gt_last_error());
  write_msg("sms", "m0", 1);
  char path[300], line[200];
  only_message(path, sizeof path);
  int ready[2], out[2];
  cr_assert_eq(pipe(ready), 0);
  cr_assert_eq(pipe(out), 0);
  pid_t outer = lock_holder(path, newns, ready[1]), inner = 0;
  close(ready[1]);
  bool locked = false; /* "P" and "L" come from two processes: any order */
  while (!locked || (newns && !inner)) {
    read_line(ready[0], line, sizeof line, 10000);
    if (line[0] == 'P')
      inner = (pid_t)atoi(line + 1);
    else if (!strcmp(line, "L"))
      locked = true;
    else
      break; /* "E<why>", or no answer */
  }
  cr_assert(locked && (!newns || inner > 0),
            "the lock holder failed (%s); the PID namespace test needs root "
            "and unshare(CLONE_NEWPID) to work on this machine",
            line[0] ? line + 1 : "no answer");
  pid_t victim = newns ? inner : outer;
  cr_expect_eq(gt__spool_replay(dir, to_pipe, &out[1]), 0,
               "a message locked by a live process was delivered");
  cr_expect_eq(gt__spool_count(dir), 1, "and it is still pending");
  kill(victim, SIGKILL);
  int st = wait_deadline(outer, 10000, "the lock holder");
  (void)st;
  cr_expect_eq(gt__spool_replay(dir, to_pipe, &out[1]), 1,
               "the lock died with its holder");
  close(out[1]);
  char *got = drain(out[0]);
  cr_expect_str_eq(got, "m0\n");
  free(got);
  cr_expect_eq(gt__spool_count(dir), 0);
}

Test(spool_security, a_message_locked_by_a_live_process_is_skipped) {
  locked_message_is_skipped_until_its_holder_dies(false);
}

/* flock() locks belong to the kernel's open file, not to a pid, so PID
 * namespaces cannot change what they mean. This test pins that down, so
 * that nothing goes back to claims by pid (which looked dead from another
 * namespace and delivered a file up to three times: F10). */
Test(spool_security, a_lock_held_in_another_pid_namespace_is_respected) {
  locked_message_is_skipped_until_its_holder_dies(true);
}

Test(spool_security, replayers_in_two_pid_namespaces_deliver_each_file_once) {
  enum { FILES = 60 };
  cr_assert_eq(gt__spool_prepare(dir), 0, "%s", gt_last_error());
  for (int i = 0; i < FILES; i++) {
    char text[32];
    snprintf(text, sizeof text, "m%d", i);
    write_msg("sms", text, 1);
  }
  int go[2], out[2], err[2];
  cr_assert_eq(pipe(go), 0);
  cr_assert_eq(pipe(out), 0);
  cr_assert_eq(pipe(err), 0);
  pid_t here = replayer(go[0], out[1]);
  pid_t there = fork(); /* makes the namespace, replays as its pid 1 */
  cr_assert_geq(there, 0);
  if (there == 0) {
    if (unshare(CLONE_NEWPID) != 0) {
      dprintf(err[1], "unshare(CLONE_NEWPID): %s", strerror(errno));
      _exit(2);
    }
    pid_t inner = fork();
    if (inner == 0) {
      char c;
      if (getpid() != 1 || read(go[0], &c, 1) != 1) _exit(4);
      gt__spool_replay(dir, to_pipe, &out[1]);
      _exit(0);
    }
    int st = 1;
    if (inner < 0 || waitpid(inner, &st, 0) != inner) _exit(2);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 2);
  }
  close(out[1]);
  close(err[1]);
  cr_assert_eq(write(go[1], "gg", 2), 2);
  int sh = wait_deadline(here, 30000, "the replayer here");
  int st = wait_deadline(there, 30000, "the replayer in a new namespace");
  char why[200] = "";
  cr_assert_geq(read(err[0], why, sizeof why - 1), 0);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "the replayer in a new PID namespace failed (%s); this test "
            "needs root and unshare(CLONE_NEWPID)",
            why[0] ? why : "not pid 1 there");
  cr_assert(WIFEXITED(sh) && WEXITSTATUS(sh) == 0);
  char *got = drain(out[0]);
  assert_each_once(got, FILES);
  free(got);
}

/* A writer holds its temporary's lock from creation to rename, and a
 * replayer that sees the writer's pid as gone (another PID namespace)
 * removes only unlocked temporaries: it never destroys a message being
 * written. */
Test(spool_security, writer_and_replayer_in_other_namespaces_lose_nothing) {
  enum { FILES = 300 };
  cr_assert_eq(gt__spool_prepare(dir), 0, "%s", gt_last_error());
  int out[2], stop[2];
  cr_assert_eq(pipe(out), 0);
  cr_assert_eq(pipe(stop), 0);
  pid_t there = fork();
  cr_assert_geq(there, 0);
  if (there == 0) { /* replays in a loop as pid 1 of a new namespace */
    close(stop[1]);
    if (unshare(CLONE_NEWPID) != 0) _exit(2);
    pid_t inner = fork();
    if (inner == 0) {
      struct pollfd pfd = {.fd = stop[0], .events = POLLIN};
      while (poll(&pfd, 1, 0) == 0)
        gt__spool_replay(dir, to_pipe, &out[1]);
      gt__spool_replay(dir, to_pipe, &out[1]);
      _exit(0);
    }
    int st = 1;
    if (inner < 0 || waitpid(inner, &st, 0) != inner) _exit(2);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 2);
  }
  close(out[1]);
  close(stop[0]);
  int failed = 0;
  for (int i = 0; i < FILES; i++) {
    char text[32];
    snprintf(text, sizeof text, "m%d", i);
    json_t *b = json_object();
    failed += gt__spool_write(dir, "sms", text, b, "") != 0;
    json_decref(b);
  }
  close(stop[1]);
  int st = wait_deadline(there, 30000, "the replayer");
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "replayer failed: %d",
            WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  cr_expect_eq(failed, 0, "a write failed: %s", gt_last_error());
  char *got = drain(out[0]);
  assert_each_once(got, FILES);
  free(got);
}
