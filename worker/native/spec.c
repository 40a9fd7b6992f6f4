// The spec format: a sequence of NUL-terminated tokens. Each record is a keyword followed by a fixed number of
// tokens (or a count and that many tokens). No quoting, no escaping: any byte but NUL can appear in a value, so
// paths and arguments arrive exactly as the driver sent them.
//
//   arg <s> | env <KEY=v> | cwd <path> | hostname <s> | uid <n> | gid <n> | group <n> | net <none|host>
//   netns <path> <inode>                               join that network namespace (the build's user-mode one)
//   privileged | seccomp <hex of a raw BPF filter, as `tsbuild-run --export-seccomp` writes it>
//   insecure-devices                                   /dev gets security=insecure's extra nodes (system.c)
//   userxattr                                          overlays get `userxattr` (rootless: user.overlay.* metadata)
//   premounted                                         rootfs and overlays are mounted already (fuse-overlayfs)
//   cgroup <cgroup.procs file> | lock <file>
//   cgroups-joined                                     this helper is in the cgroups listed already (helper-pool.ts)
//   devcgroup <cgroup v2 dir> | device <a|b|c> <major|*> <minor|*> <access>   (the v2 device allow-list)
//   rootfs <dst> <upper> <work> <n> <lower>...        overlay <dst> <upper|""> <work|""> <n> <lower>...
//   bind <srcRoot> <srcPath> <target> <ro|rw>          tmpfs <target> <data>       file <target> <content>
//   secret <target> <uid> <gid> <mode> <hex of the value>    (hex: a secret may hold NUL bytes)
//   rlimit <RLIMIT_* number> <soft|inf> <hard|inf>     shm <KiB> | no-shm (a mount replaces /dev/shm)
//   terminal <stdio|tty>                               `tsbuild debug`: the step's stdio is the person's, relayed (main.c)
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "tsbuild-run.h"

struct cursor { char *p; char *end; };

static const char *next(struct cursor *c, const char *what) {
  if (c->p >= c->end) fail("spec", what, EINVAL);
  char *nul = memchr(c->p, '\0', (size_t)(c->end - c->p));
  if (nul == NULL) fail("spec", what, EINVAL);
  const char *tok = c->p;
  c->p = nul + 1;
  return tok;
}

static unsigned long parse_num(const char *s, const char *what) {
  char *endp;
  errno = 0;
  unsigned long v = strtoul(s, &endp, 10);
  if (errno != 0 || *s == '\0' || *endp != '\0' || v > 0xffffffffUL) fail("spec", what, EINVAL);
  return v;
}

static unsigned long next_num(struct cursor *c, const char *what) {
  return parse_num(next(c, what), what);
}

// Grows an array by one element; the spec is small and read once, so doubling is not worth it.
static void *push(void *arr, size_t *n, size_t size) {
  void *grown = realloc(arr, (*n + 1) * size);
  if (grown == NULL) fail("realloc", "spec", ENOMEM);
  (*n)++;
  return grown;
}

static void add_str(const char ***arr, size_t *n, const char *s) {
  *arr = push(*arr, n, sizeof(char *));
  (*arr)[*n - 1] = s;
}

static void read_overlay(struct cursor *c, struct overlay *o) {
  o->dst = next(c, "overlay.dst");
  o->upper = next(c, "overlay.upper");
  o->work = next(c, "overlay.work");
  unsigned long n = next_num(c, "overlay.n");
  if (n == 0 || n > 4096) fail("spec", "overlay.n", EINVAL);
  o->lowers = calloc(n, sizeof(char *));
  if (o->lowers == NULL) fail("calloc", "spec", ENOMEM);
  for (unsigned long i = 0; i < n; i++) o->lowers[i] = next(c, "overlay.lower");
  o->nlower = n;
}

// A device major or minor: a number, or "*" (any) as -1.
static long device_num(struct cursor *c, const char *what) {
  const char *v = next(c, what);
  return strcmp(v, "*") == 0 ? -1 : (long)parse_num(v, what);
}

static void read_device(struct cursor *c, struct spec *s) {
  if (s->ndevices >= MAX_DEVICE_RULES) fail("spec", "device", E2BIG);
  struct device_rule *d = &s->devices[s->ndevices++];
  const char *type = next(c, "device.type");
  if (strcmp(type, "a") != 0 && strcmp(type, "b") != 0 && strcmp(type, "c") != 0) fail("spec", "device.type", EINVAL);
  d->type = type[0];
  d->major = device_num(c, "device.major");
  d->minor = device_num(c, "device.minor");
  d->access = next(c, "device.access");
}

static int hex_digit(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  return -1;
}

// Decodes the first 2*n hex digits of hex into out (which may be hex itself: byte i is written after digit 2i+1 is read).
static void hex_decode(const char *hex, size_t n, unsigned char *out, const char *what) {
  for (size_t i = 0; i < n; i++) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) fail("spec", what, EINVAL);
    out[i] = (unsigned char)(hi << 4 | lo);
  }
}

static void read_seccomp(struct cursor *c, struct spec *s) {
  const char *hex = next(c, "seccomp");
  size_t len = strlen(hex);
  if (len == 0 || len % (2 * sizeof(struct sock_filter)) != 0) fail("spec", "seccomp", EINVAL);
  unsigned char *bytes = malloc(len / 2);
  if (bytes == NULL) fail("malloc", "seccomp", ENOMEM);
  hex_decode(hex, len / 2, bytes, "seccomp");
  s->seccomp = (struct sock_filter *)bytes;
  s->nseccomp = len / 2 / sizeof(struct sock_filter);
}

// A secret's value, hex-encoded by the driver; decoded in place (the token is at least twice as long as the bytes).
static void read_secret(struct cursor *c, struct mount_entry *m) {
  m->kind = M_SECRET;
  m->target = next(c, "secret.target");
  m->uid = (uid_t)next_num(c, "secret.uid");
  m->gid = (gid_t)next_num(c, "secret.gid");
  m->mode = (mode_t)next_num(c, "secret.mode");
  char *hex = (char *)next(c, "secret.value");
  size_t n = strlen(hex);
  if (n % 2 != 0 || n / 2 > MAX_SECRET_BYTES || m->mode > 07777) fail("spec", "secret", EINVAL);
  hex_decode(hex, n / 2, (unsigned char *)hex, "secret.value");
  m->data = hex;
  m->len = n / 2;
}

// A limit: a decimal number or "inf" (RLIM_INFINITY); the full 64-bit range, unlike parse_num.
static unsigned long long rlimit_value(struct cursor *c, const char *what) {
  const char *v = next(c, what);
  if (strcmp(v, "inf") == 0) return RLIM_INFINITY;
  char *endp;
  errno = 0;
  unsigned long long n = strtoull(v, &endp, 10);
  if (errno != 0 || *v == '\0' || *v == '-' || *endp != '\0' || n == RLIM_INFINITY) fail("spec", what, EINVAL);
  return n;
}

static void read_rlimit(struct cursor *c, struct spec *s) {
  if (s->nrlimits >= MAX_RLIMITS) fail("spec", "rlimit", E2BIG);
  struct rlimit_entry *r = &s->rlimits[s->nrlimits++];
  unsigned long resource = next_num(c, "rlimit.resource");
  if (resource >= RLIMIT_NLIMITS) fail("spec", "rlimit.resource", EINVAL);
  r->resource = (int)resource;
  r->soft = rlimit_value(c, "rlimit.soft");
  r->hard = rlimit_value(c, "rlimit.hard");
  if (r->hard != RLIM_INFINITY && (r->soft == RLIM_INFINITY || r->soft > r->hard)) fail("spec", "rlimit.soft", EINVAL);
}

static char *read_all(int fd, size_t *len) {
  size_t cap = 65536, used = 0;
  char *buf = malloc(cap);
  if (buf == NULL) fail("malloc", "spec", ENOMEM);
  for (;;) {
    if (used == cap) {
      cap *= 2;
      buf = realloc(buf, cap);
      if (buf == NULL) fail("realloc", "spec", ENOMEM);
    }
    ssize_t r = read(fd, buf + used, cap - used);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail("read", "spec", errno);
    if (r == 0) break;
    used += (size_t)r;
  }
  *len = used;
  return buf;
}

/** Reads and parses the whole spec from fd; any malformed record is a setup failure. */
void spec_read(int fd, struct spec *s) {
  size_t len;
  char *buf = read_all(fd, &len);
  struct cursor c = { buf, buf + len };
  memset(s, 0, sizeof(*s));
  s->cwd = "/";
  s->isolate_net = true;
  s->shm_kib = 65536;
  while (c.p < c.end) {
    const char *key = next(&c, "key");
    if (strcmp(key, "arg") == 0) add_str(&s->argv, &s->nargv, next(&c, "arg"));
    else if (strcmp(key, "env") == 0) add_str(&s->env, &s->nenv, next(&c, "env"));
    else if (strcmp(key, "cwd") == 0) s->cwd = next(&c, "cwd");
    else if (strcmp(key, "hostname") == 0) s->hostname = next(&c, "hostname");
    else if (strcmp(key, "uid") == 0) s->uid = (uid_t)next_num(&c, "uid");
    else if (strcmp(key, "gid") == 0) s->gid = (gid_t)next_num(&c, "gid");
    else if (strcmp(key, "group") == 0) {
      s->groups = push(s->groups, &s->ngroups, sizeof(gid_t));
      s->groups[s->ngroups - 1] = (gid_t)next_num(&c, "group");
    } else if (strcmp(key, "net") == 0) {
      const char *mode = next(&c, "net");
      if (strcmp(mode, "none") == 0) s->isolate_net = true;
      else if (strcmp(mode, "host") == 0) s->isolate_net = false;
      else fail("spec", "net", EINVAL);
    } else if (strcmp(key, "netns") == 0) {
      s->netns = next(&c, "netns");
      s->netns_inode = next_num(&c, "netns.inode");
      s->isolate_net = true;
    } else if (strcmp(key, "privileged") == 0) s->privileged = true;
    else if (strcmp(key, "insecure-devices") == 0) s->insecure_devices = true;
    else if (strcmp(key, "userxattr") == 0) s->userxattr = true;
    else if (strcmp(key, "premounted") == 0) s->premounted = true;
    else if (strcmp(key, "cgroups-joined") == 0) s->cgroups_joined = true;
    else if (strcmp(key, "seccomp") == 0) read_seccomp(&c, s);
    else if (strcmp(key, "devcgroup") == 0) s->devcgroup = next(&c, "devcgroup");
    else if (strcmp(key, "device") == 0) read_device(&c, s);
    else if (strcmp(key, "cgroup") == 0) add_str(&s->cgroups, &s->ncgroups, next(&c, "cgroup"));
    else if (strcmp(key, "lock") == 0) add_str(&s->locks, &s->nlocks, next(&c, "lock"));
    else if (strcmp(key, "rlimit") == 0) read_rlimit(&c, s);
    else if (strcmp(key, "shm") == 0) {
      s->shm_kib = next_num(&c, "shm");
      if (s->shm_kib < 4) fail("spec", "shm", EINVAL);
    } else if (strcmp(key, "no-shm") == 0) s->shm_kib = 0;
    else if (strcmp(key, "terminal") == 0) {
      const char *mode = next(&c, "terminal");
      if (strcmp(mode, "stdio") == 0) s->terminal = T_STDIO;
      else if (strcmp(mode, "tty") == 0) s->terminal = T_TTY;
      else fail("spec", "terminal", EINVAL);
    }
    else if (strcmp(key, "rootfs") == 0) read_overlay(&c, &s->rootfs);
    else if (strcmp(key, "overlay") == 0) {
      s->overlays = push(s->overlays, &s->noverlays, sizeof(struct overlay));
      read_overlay(&c, &s->overlays[s->noverlays - 1]);
    } else if (strcmp(key, "scratch") == 0) {
      s->scratch = next(&c, "scratch");
      if (s->scratch[0] != '/') fail("spec", "scratch", EINVAL);
    } else if (strcmp(key, "bind") == 0 || strcmp(key, "tmpfs") == 0 || strcmp(key, "file") == 0 || strcmp(key, "secret") == 0) {
      s->mounts = push(s->mounts, &s->nmounts, sizeof(struct mount_entry));
      struct mount_entry *m = &s->mounts[s->nmounts - 1];
      memset(m, 0, sizeof(*m));
      if (key[0] == 's') read_secret(&c, m);
      else if (key[0] == 'b') {
        m->kind = M_BIND;
        m->src_root = next(&c, "bind.srcRoot");
        m->src_path = next(&c, "bind.srcPath");
        m->target = next(&c, "bind.target");
        const char *mode = next(&c, "bind.mode");
        if (strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0) fail("spec", "bind.mode", EINVAL);
        m->readonly = mode[1] == 'o';
      } else if (key[0] == 't') {
        m->kind = M_TMPFS;
        m->target = next(&c, "tmpfs.target");
        m->data = next(&c, "tmpfs.data");
      } else {
        m->kind = M_FILE;
        m->target = next(&c, "file.target");
        m->data = next(&c, "file.content");
      }
      if (m->target[0] != '/') fail("spec", m->target, EINVAL);
    } else fail("spec", key, EINVAL);
  }
  if (s->nargv == 0) fail("spec", "arg", EINVAL);
  if (s->rootfs.dst == NULL || s->rootfs.upper[0] == '\0') fail("spec", "rootfs", EINVAL);
  // An empty rootfs.dst means "in the scratch tmpfs"; a premounted rootfs is on a host dir by definition.
  if (s->rootfs.dst[0] == '\0' && (s->scratch == NULL || s->premounted)) fail("spec", "rootfs.dst", EINVAL);
  for (size_t i = 0; i < s->nmounts; i++)
    if ((s->mounts[i].kind == M_FILE || s->mounts[i].kind == M_SECRET) && s->scratch == NULL) fail("spec", "file needs scratch", EINVAL);
  s->scratch_fd = -1;
  s->argv = realloc(s->argv, (s->nargv + 1) * sizeof(char *));
  s->env = realloc(s->env, (s->nenv + 1) * sizeof(char *));
  if (s->argv == NULL || s->env == NULL) fail("realloc", "spec", ENOMEM);
  s->argv[s->nargv] = NULL;
  s->env[s->nenv] = NULL;
}
