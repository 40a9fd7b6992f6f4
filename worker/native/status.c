// Status lines on STATUS_FD, one JSON object per line, parsed by worker/exec/status.ts:
//   {"op":"mount","arg":"/proc","errno":1}        a setup step failed (then exit EXIT_SETUP)
//   {"stub":"/etc/hosts","dir":false,"before":[s,ns],"after":[s,ns]}   a mount target we created in the rootfs;
//        before/after are the parent directory's mtime around the creation, so the driver can restore it
//   {"settled":[s,ns]}                            the rootfs root's mtime once every mount is in place, just
//        before the step's process starts: if it still has it afterwards, the process did not touch "/"
//   {"exit":0} | {"signal":9}                     how the container's pid 1 ended
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tsbuild-run.h"

struct buf { char data[8192]; size_t len; };

static void put(struct buf *b, const char *s) {
  size_t n = strlen(s);
  if (n > sizeof(b->data) - 1 - b->len) n = sizeof(b->data) - 1 - b->len;
  memcpy(b->data + b->len, s, n);
  b->len += n;
}

// JSON string with the escapes RFC 8259 requires; bytes >= 0x80 pass through (paths are usually UTF-8, and the
// driver decodes leniently).
static void put_json_string(struct buf *b, const char *s) {
  put(b, "\"");
  for (; *s != '\0'; s++) {
    unsigned char ch = (unsigned char)*s;
    char esc[8];
    if (ch == '"' || ch == '\\') { esc[0] = '\\'; esc[1] = (char)ch; esc[2] = '\0'; put(b, esc); }
    else if (ch < 0x20) { snprintf(esc, sizeof(esc), "\\u%04x", ch); put(b, esc); }
    else { esc[0] = (char)ch; esc[1] = '\0'; put(b, esc); }
  }
  put(b, "\"");
}

static void emit(struct buf *b) {
  put(b, "\n");
  size_t off = 0;
  while (off < b->len) {
    ssize_t w = write(STATUS_FD, b->data + off, b->len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return; // the driver went away: nobody is left to tell
    off += (size_t)w;
  }
}

/** Reports a failed setup step and exits with EXIT_SETUP. */
_Noreturn void fail(const char *op, const char *arg, int err) {
  struct buf b = { .len = 0 };
  char num[32];
  put(&b, "{\"op\":");
  put_json_string(&b, op);
  put(&b, ",\"arg\":");
  put_json_string(&b, arg == NULL ? "" : arg);
  snprintf(num, sizeof(num), ",\"errno\":%d}", err);
  put(&b, num);
  emit(&b);
  _exit(EXIT_SETUP);
}

/** Reports a placeholder the helper created in the rootfs so the driver removes it from the upper dir. */
void status_stub(const char *path, bool isdir, const struct timespec *before, const struct timespec *after) {
  struct buf b = { .len = 0 };
  char num[128];
  put(&b, "{\"stub\":");
  put_json_string(&b, path);
  snprintf(num, sizeof(num), ",\"dir\":%s,\"before\":[%lld,%ld],\"after\":[%lld,%ld]}", isdir ? "true" : "false",
           (long long)before->tv_sec, before->tv_nsec, (long long)after->tv_sec, after->tv_nsec);
  put(&b, num);
  emit(&b);
}

/** Reports the rootfs root's mtime after setup (see above). */
void status_settled(const struct timespec *mtime) {
  struct buf b = { .len = 0 };
  char num[64];
  snprintf(num, sizeof(num), "{\"settled\":[%lld,%ld]}", (long long)mtime->tv_sec, mtime->tv_nsec);
  put(&b, num);
  emit(&b);
}

/** Reports how the container's pid 1 ended. */
void status_exit(int code, int sig) {
  struct buf b = { .len = 0 };
  char num[48];
  if (sig != 0) snprintf(num, sizeof(num), "{\"signal\":%d}", sig);
  else snprintf(num, sizeof(num), "{\"exit\":%d}", code);
  put(&b, num);
  emit(&b);
}
