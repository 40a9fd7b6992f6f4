/*
 * tsbuild-fsattr root: every write into a root (snapshot upper dir, mounted rootfs) by one long-lived process that
 * opens the root once and never hands the kernel a host path string that crosses a component the build controls.
 *
 *   tsbuild-fsattr root <root> [--src <dir>] [--lower <dir>]... [--upper <dir>] [--prev <dir>] [--opaque-xattr <name>]
 *
 * stdin carries operations, one after another, each a one-letter op and NUL-ended fields; `F` is followed by the file
 * content as chunks (u32 little-endian length, bytes), ended by a zero length. Paths are relative to the base
 * (the root unless `B` moved it) and already cleaned lexically by the caller; they are resolved with openat2:
 * RESOLVE_IN_ROOT (chroot semantics: symlinks followed but kept inside) or RESOLVE_BENEATH (any way out is EXDEV).
 *
 *   B path mode        base = directory `path` (in the root, created), mode 'r' in-root, 'b' beneath, or 'u' union
 *                      (path '' only): parents resolved in-root over the merged view of the root and its --lower
 *                      dirs, directories only a lower has made in the root (see union_dirs); 'u' also has the
 *                      directories made right under the root placed by the kernel as top-level ones (mkdir_placed)
 *   P uid gid mode     owner and mode of parent directories the next operations create (default 0 0 0755)
 *   K policy           'l' (layer: whatever is in the way is removed) or 'c' (copy: a directory is never replaced by
 *                      a non-directory, nor the reverse: EISDIR / ENOTDIR)
 *   D path follow      directory (kept when it exists; with follow=1 a symlink to a directory is written through)
 *   F path <chunks>    regular file, created O_EXCL|O_NOFOLLOW, content from the chunks
 *   C path src         regular file copied kernel-side from `src` under --src (never following its last component)
 *   L path target      symlink          H path target   hardlink to `target` (under the base, last not followed)
 *   N path kind maj min   mknod (kind c, b or p)   W path   overlay whiteout (removes what is there, mknod c 0 0)
 *   O path             marks directory `path` opaque (trusted.overlay.opaque=y, or the --opaque-xattr name: rootless
 *                      overlay mounts with `userxattr` read user.overlay.opaque)
 *   M uid gid mode atime mtime   owner, then mode ('-' keeps), then times (ns since the epoch, '-' keeps) of the
 *                      entry the previous op made; skipped for a directory reached through a symlink. Directory times
 *                      are set at the end, deepest last-written first, through the fd held since the entry was made.
 *   m ...              as M, only when the previous op created the entry
 *   e mode             mode only, only when the previous op found the entry already there (owner and times kept;
 *                      skipped, as M is, for a directory reached through a symlink): fsutil's copyDirectoryOnly
 *                      chmods an existing parent directory COPY --parents keeps to its source's mode, nothing else
 *   x name hexvalue    setxattr on that entry
 *   A src              the xattrs of `src` under --src (its last component never followed), overlay's own left out,
 *                      go onto the entry the op before made, with the M/m that follows, after its owner and mode: a
 *                      directory's with its times at the end (fsutil sets them after the directory's contents), any
 *                      other at once. `C` and `I` read their source's xattrs themselves.
 *   Queries, answered by one line on stdout (G: the line "<len>" then the bytes; a failure is "-<errno>"):
 *   Q path             stat in the root following symlinks: "d", "f <size>", "o" (other, or a symlink loop) or "n" (absent)
 *   G path max         contents of a regular file (following symlinks in the root), at most `max` bytes
 *   S idx path         lstat in root `idx` (0 = root, 1.. = --lower) refusing every symlink on the way:
 *                      "n" or "<t> <mode> <uid> <gid> <size> <mtime ns> <empty dir 0|1> <opaque dir 0|1>"
 *   U path isdir       removes a mount stub (an empty file, or an empty directory): "r <parent mtime ns>" or "k"
 *   T path ns          sets the mtime of `path` ('' = the root), no symlinks: "ok" or "-errno"
 *   X path             rmdir, no symlinks: "ok" or "-errno"     Y   "ok" once everything before it is done
 *   r path             removes entry `path` of the base and, for a directory, everything below it, its parent reached
 *                      with no symlink on the way (ELOOP otherwise) and nothing followed below it: a symlink is
 *                      unlinked as a link, a directory opened O_NOFOLLOW|O_DIRECTORY and emptied fd-relative. Absent
 *                      is done; the base itself ('' , '.', '..') is EINVAL. For `-o type=local,mode=delete`
 *                      (worker/confined/remove-stale.ts), where dest is the user's and what is in it the image's
 *   J path             the entries of directory `path` of the base, reached with no symlink (a failure is reported as
 *                      a write's): "<len>" then, per entry, 'd' (a directory) or 'o' (anything else, a symlink too),
 *                      its name and a NUL
 *   I path src size mtime   regular file `path` hard-linked from the same path under --prev when it is safe (see
                      op_inherit), else exactly as `C path src`; the M that follows applies only to a copy
 *   Z                  "<crossed> <linked>": entries written through a symlink so far, and I entries linked
 *   R path             resolves `path` in the source root (--src, else the root) following symlinks inside it, as G
 *                      answers: "<len>" then the resolved path relative to that root ('' = the root itself)
 *   V path             where a file written at `path` lands with an existing symlink there written through inside
 *                      the base (see q_dest): "<len>" then the path relative to the base, or "-<errno>"
 *   E                  ends the session as end of input does, answers "ok", then serves the next one (below)
 * At end of input the held directory times are applied and the exit status is 0. The first failing call is reported
 * on stderr as one JSON line {"op":..,"arg":<the operation's path>,"errno":..} and the process exits 1.
 *
 *   tsbuild-fsattr serve   a pooled writer: stdin first carries the arguments of `root` after the word itself
 *                      (<root> [options...]), each NUL-ended, then an empty field; the session follows as above. After
 *                      E the process execs itself into `serve` again, so the next session starts from a new image:
 *                      nothing of the last root (fds, held times, the current entry, the union cache) can reach it.
 *                      End of input while waiting for arguments is a clean exit. Node forks its whole heap for every
 *                      process it starts (~5 ms of its main thread on a slow VM); a served writer is started once.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
#define BENEATH (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
#define NO_LINKS (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
#define MAX_ROOTS 512
#define MAX_LINKS 40
#define MAX_HELD 15000

static int roots[MAX_ROOTS];
static int nroots;
static int srcfd = -1;
static int basefd;
static uint64_t base_resolve = IN_ROOT;
static int base_union;   /* base mode 'u': parents resolved over the root and its --lower dirs */
static uid_t parent_uid;
static gid_t parent_gid;
static mode_t parent_mode = 0755;
static char policy = 'c';
static const char *cur_arg = "";
/* The path of the entry the last op wrote: what a failure of its M, m, e or x names (their fields hold no path). */
static char *entry_arg;
static const char *opaque_xattr = "trusted.overlay.opaque";
static int upperfd = -1;    /* --upper: the upper dir of the overlay mounted at the root (for I) */
static int prevfd = -1;     /* --prev: the upper dir of the previous result of the same COPY (for I); -1 when gone */
static long crossed;        /* entries whose parent was reached through a symlink (or a followed D): see Z */
static long linked;         /* I entries linked from --prev instead of copied */

/* The entry the last op made, for M/m/x: a real fd (dir, file), an O_PATH fd (node), or parent fd + name. */
static struct {
  char kind;      /* 0 none, 'd' dir, 'f' file, 'n' fifo/device, 'l' symlink or whiteout */
  int fd, pfd;
  char *name;
  int created, followed;
  size_t held;    /* kind 'D': a directory whose fd now sits in held[] for its deferred times */
} cur = { 0, -1, -1, NULL, 0, 0, 0 };

/*
 * The xattrs of the source of the entry being written (`A`, or the file a `C` copied), read at once and set by the
 * M after it once owner and mode are set (chown clears security.capability), as BuildKit's copy (fsutil copyXAttrs
 * after copyFileInfo) keeps a setcap'd binary's capability and a directory's ACLs through COPY. Kept as bytes, not as
 * an fd: a directory's wait in held[] until the end. Records: name, NUL, u32 value length, value.
 */
struct xattrs { char *buf; size_t len, cap; };
static struct xattrs pending;

struct held { int fd; struct timespec ts[2]; struct xattrs xattrs; };
static struct held *held;
static size_t nheld, capheld;

/* ---- failures ---- */

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') { fputc('\\', f); fputc(*c, f); }
    else if (*c < 0x20) fprintf(f, "\\u%04x", *c);
    else fputc(*c, f);
  }
  fputc('"', f);
}

static _Noreturn void die(const char *op) {
  int e = errno;
  fprintf(stderr, "{\"op\":");
  json_str(stderr, op);
  fprintf(stderr, ",\"arg\":");
  json_str(stderr, cur_arg);
  fprintf(stderr, ",\"errno\":%d}\n", e);
  exit(1);
}

/* ---- input ---- */

static unsigned char inbuf[1 << 16];
static size_t inpos, inlen;

static int in_byte(void) {
  if (inpos == inlen) {
    ssize_t n;
    do n = read(0, inbuf, sizeof inbuf); while (n < 0 && errno == EINTR);
    if (n < 0) die("read");
    if (n == 0) return -1;
    inlen = (size_t)n;
    inpos = 0;
  }
  return inbuf[inpos++];
}

static void in_exact(void *out, size_t n) {
  unsigned char *p = out;
  while (n > 0) {
    if (inpos == inlen) {
      int c = in_byte();
      if (c < 0) { errno = EPIPE; die("read"); }
      *p++ = (unsigned char)c; n--;
      continue;
    }
    size_t take = inlen - inpos < n ? inlen - inpos : n;
    memcpy(p, inbuf + inpos, take);
    inpos += take; p += take; n -= take;
  }
}

static char *fieldbuf[8];
static size_t fieldcap[8];

/* Reads field `i` (NUL-ended) into its own buffer. */
static char *field(int i) {
  size_t n = 0;
  for (;;) {
    int c = in_byte();
    if (c < 0) { errno = EPIPE; die("read"); }
    if (n + 1 >= fieldcap[i]) {
      fieldcap[i] = fieldcap[i] ? fieldcap[i] * 2 : 256;
      fieldbuf[i] = realloc(fieldbuf[i], fieldcap[i]);
      if (!fieldbuf[i]) die("malloc");
    }
    fieldbuf[i][n++] = (char)c;
    if (c == 0) return fieldbuf[i];
  }
}

static long long num(const char *s) { return strtoll(s, NULL, 10); }

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fputc('\n', stdout);
  if (fflush(stdout) != 0) die("write");
}

/* ---- resolution ---- */

static int open_how(int dirfd, const char *path, int flags, uint64_t resolve) {
  struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC), .resolve = resolve };
  if (*path == '\0') path = ".";
  int fd;
  do fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how); while (fd < 0 && errno == EAGAIN);
  return fd;
}

/* Splits "a/b/c" into parent "a/b" (written into `parent`) and returns "c"; "c" alone has parent "". */
static const char *split(const char *path, char *parent, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (!slash) { parent[0] = '\0'; return path; }
  size_t n = (size_t)(slash - path);
  if (n >= cap) n = cap - 1;
  memcpy(parent, path, n);
  parent[n] = '\0';
  return slash + 1;
}

/* The parent directory of `path` opened in `rootfd` with `resolve`, its last component in *name (a pointer into
   `path`); -1 (errno set) when there is none. */
static int parent_at(int rootfd, const char *path, const char **name, int flags, uint64_t resolve) {
  size_t len = strlen(path);
  char *parent = malloc(len + 1);
  if (!parent) die("malloc");
  *name = split(path, parent, len + 1);
  int pfd = open_how(rootfd, parent, flags | O_DIRECTORY, resolve);
  int e = errno;
  free(parent);
  errno = e;
  return pfd;
}

static void set_parent_meta(int pfd, const char *name) {
  if (fchownat(pfd, name, parent_uid, parent_gid, AT_SYMLINK_NOFOLLOW) != 0) die("fchownat");
  int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) die("openat");
  if (fchmod(fd, parent_mode) != 0) die("fchmod");
  close(fd);
}

/*
 * Where a layer's directories land on the disk. A layer applied into a fresh upper dir is a tree of its own, but ext4
 * puts a new directory in its parent's block group, which is where the snapshots before it were made and, after a
 * prune or a fresh root, deleted; on ext4 without a journal every inode allocation there skips each inode freed in
 * the last minutes (find_inode_bit -> recently_deleted), which made a 6,700-entry Debian base take 3-9 s instead of
 * 0.3 s (bench/RESULTS.md, "Base image unpack"). So the upper dir gets FS_TOPDIR_FL, and each directory made right
 * under it is made under a random name and renamed into place: ext4's Orlov allocator then places it as a top-level
 * directory, from a group picked by the hash of that random name (the real name, `usr`, would pick the same group each
 * time, the one its predecessor was just deleted from), and what the layer puts under it follows it. Only where
 * inodes land changes, never what the tree holds; a filesystem that refuses the flag places them its own way, so the
 * flag is a hint and its refusal is no failure.
 */
static int place_top;               /* the root has FS_TOPDIR_FL: directories made right under it are placed */
static dev_t root_dev;
static ino_t root_ino;

static void spread_layer_dirs(int rootfd) {
  int flags;
  struct stat st;
  if (fstat(rootfd, &st) != 0) die("fstat");
  if (ioctl(rootfd, FS_IOC_GETFLAGS, &flags) != 0) return;
  if (!(flags & FS_TOPDIR_FL)) {
    flags |= FS_TOPDIR_FL;
    /* ENOTTY (tmpfs), EOPNOTSUPP (xfs, btrfs), EPERM: placed the filesystem's own way, which is only slower. */
    if (ioctl(rootfd, FS_IOC_SETFLAGS, &flags) != 0) return;
  }
  place_top = 1;
  root_dev = st.st_dev;
  root_ino = st.st_ino;
}

/* mkdirat, same result and errno; right under a placed root, made under a random name then renamed (never replacing). */
static int mkdir_placed(int pfd, const char *name, mode_t mode) {
  struct stat st;
  if (!place_top || fstat(pfd, &st) != 0 || st.st_dev != root_dev || st.st_ino != root_ino) return mkdirat(pfd, name, mode);
  unsigned long long r;
  if (getrandom(&r, sizeof r, 0) != sizeof r) return mkdirat(pfd, name, mode);
  char tmp[64];
  snprintf(tmp, sizeof tmp, ".tsbuild-mkdir-%016llx", r);
  if (mkdirat(pfd, tmp, mode) != 0) return mkdirat(pfd, name, mode);
  if (renameat2(pfd, tmp, pfd, name, RENAME_NOREPLACE) == 0) return 0;
  int e = errno;
  if (unlinkat(pfd, tmp, AT_REMOVEDIR) != 0) die("unlinkat");
  errno = e;
  return -1;
}

/*
 * An O_PATH fd of directory `path` under the base, `mkdir -p` style: missing directories are made with the parent
 * owner and mode. A dangling symlink on the way is followed by creating its target, still under the base.
 */
static int mkdirs(const char *path, int depth) {
  int fd = open_how(basefd, path, O_PATH | O_DIRECTORY, base_resolve);
  if (fd >= 0 || errno != ENOENT) return fd;
  if (depth > MAX_LINKS) { errno = ELOOP; return -1; }
  size_t len = strlen(path);
  char *parent = malloc(len + 1);
  if (!parent) die("malloc");
  const char *name = split(path, parent, len + 1);
  int pfd = parent[0] ? mkdirs(parent, depth + 1) : open_how(basefd, "", O_PATH | O_DIRECTORY, base_resolve);
  if (pfd < 0) { free(parent); return -1; }
  if (mkdir_placed(pfd, name, 0700) == 0) {
    set_parent_meta(pfd, name);
  } else if (errno == EEXIST) {
    char target[4096];
    ssize_t n = readlinkat(pfd, name, target, sizeof target - 1);
    if (n >= 0) {
      target[n] = '\0';
      char *next = malloc(len + (size_t)n + 2);
      if (!next) die("malloc");
      if (target[0] == '/') strcpy(next, target + 1);
      else if (parent[0]) sprintf(next, "%s/%s", parent, target);
      else strcpy(next, target);
      close(pfd);
      free(parent);
      /* Beneath the base an absolute link leads out; the kernel says so with EXDEV when it walks it. */
      if (target[0] == '/' && (base_resolve & RESOLVE_BENEATH)) { free(next); errno = EXDEV; return -1; }
      fd = mkdirs(next, depth + 1);
      free(next);
      return fd;
    }
  } else {
    int e = errno; close(pfd); free(parent); errno = e; return -1;
  }
  fd = openat(pfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int e = errno;
  close(pfd);
  free(parent);
  errno = e;
  return fd;
}

/*
 * Union resolution (base mode 'u', for layer entries applied into an overlay upper dir): the directory `path` as the
 * merged view (the root over its --lower dirs, topmost first) has it, with chroot semantics, materialised in the
 * root. This is what containerd's archive.Apply (fs.RootPath) and docker's chrootarchive give on a plain directory
 * holding all the layers: a symlink a lower layer made (`lib64 -> /usr/lib64`, `var/run -> /run`) is followed
 * inside the root, never out of it, and `..` stops at the root. Each directory on the way that only a lower layer
 * has is created in the root with that layer's owner and mode (containerd's mkparent does the same), so overlayfs
 * merges it instead of hiding the lower one. Overlay rules decide what a lower shows: a whiteout (0/0 char device),
 * a non-directory or an opaque directory hides everything below it.
 */
static int is_whiteout(const struct stat *st) { return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0); }

static int is_opaque(int dirfd) {
  char v[2];
  /* The same name the writer sets (opaque_xattr): user.overlay.opaque in a user namespace, where trusted.* is refused. */
  ssize_t n = fgetxattr(dirfd, opaque_xattr, v, sizeof v);
  return n == 1 && v[0] == 'y';
}

/* A readable fd of directory `rel` in lower `i` with no symlink on the way; -1 when there is none. */
static int lower_dir(int i, const char *rel) {
  return open_how(roots[i], rel, O_RDONLY | O_DIRECTORY, NO_LINKS);
}

/* How many lowers (1..n) are still visible at `rel`/`name` given `vis` visible at `rel`: stops below a lower that has
 * a non-directory there or an opaque directory. */
static int lower_visibility(const char *rel, const char *name, int vis) {
  for (int i = 1; i <= vis; i++) {
    int dfd = lower_dir(i, rel);
    if (dfd < 0) continue;
    struct stat st;
    int rc = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW);
    if (rc != 0) {
      int opaque = is_opaque(dfd);
      close(dfd);
      if (opaque) return i;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) { close(dfd); return i - 1; }
    int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(dfd);
    if (cfd < 0) return i - 1;
    int opaque = is_opaque(cfd);
    close(cfd);
    if (opaque) return i;
  }
  return vis;
}

static void append(char **buf, size_t *cap, const char *a, const char *b) {
  size_t need = strlen(a) + strlen(b) + 2;
  char *out = malloc(need > *cap ? need : *cap);
  if (!out) die("malloc");
  if (a[0] && b[0]) snprintf(out, need, "%s/%s", a, b);
  else snprintf(out, need, "%s", a[0] ? a : b);
  free(*buf);
  *buf = out;
  if (need > *cap) *cap = need;
}

/* `*rest` becomes `head` followed by what was left of it (a `..` or a symlink target put back in front). */
static void push_front(char **rest, const char *head) {
  char *again = NULL;
  size_t acap = 0;
  append(&again, &acap, head, *rest);
  free(*rest);
  *rest = again;
}

/* The union walk (re)starts at the root: nothing resolved yet, every lower layer visible. Closes `fd` (-1: none). */
static int restart_at_root(int fd, char *rel, int *vis, int nlower) {
  if (fd >= 0) close(fd);
  rel[0] = '\0';
  *vis = nlower;
  int root = open_how(roots[0], "", O_PATH | O_DIRECTORY, NO_LINKS);
  if (root < 0) die("openat2");
  return root;
}

/* `rel_out` (may be NULL) gets the directory's link-free path in the lowers, `vis_out` how many lowers show it. */
static int union_dirs(const char *path, char **rel_out, int *vis_out) {
  size_t cap = strlen(path) + 1;
  char *rest = strdup(path), *rel = strdup("");
  if (!rest || !rel) die("malloc");
  int nlower = nroots - 1, vis = nlower, links = 0;
  int fd = restart_at_root(-1, rel, &vis, nlower);
  while (rest[0]) {
    /* Take the first component off `rest`. */
    char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    char comp[NAME_MAX + 1];
    if (n > NAME_MAX) { errno = ENAMETOOLONG; die("path"); }
    memcpy(comp, rest, n);
    comp[n] = '\0';
    memmove(rest, slash ? slash + 1 : rest + n, strlen(slash ? slash + 1 : rest + n) + 1);
    if (comp[0] == '\0' || strcmp(comp, ".") == 0) continue;
    if (strcmp(comp, "..") == 0) {
      /* Back up one directory by walking its (link-free) path again from the root: `..` at the root stays there. */
      char *up = strrchr(rel, '/');
      if (up) *up = '\0'; else rel[0] = '\0';
      push_front(&rest, rel);
      fd = restart_at_root(fd, rel, &vis, nlower);
      continue;
    }
    char target[4096];
    ssize_t tlen = -1;
    struct stat st;
    int found = fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (!found && errno != ENOENT) die("fstatat");
    if (found && is_whiteout(&st)) {
      /* This layer deleted the name and now writes under it: a new, opaque directory. */
      if (unlinkat(fd, comp, 0) != 0) die("unlinkat");
      if (mkdir_placed(fd, comp, 0700) != 0) die("mkdirat");
      set_parent_meta(fd, comp);
      int cfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (cfd < 0 || fsetxattr(cfd, opaque_xattr, "y", 1, 0) != 0) die("setxattr");
      close(cfd);
      vis = 0;
    } else if (found && S_ISLNK(st.st_mode)) {
      tlen = readlinkat(fd, comp, target, sizeof target - 1);
      if (tlen < 0) die("readlinkat");
    } else if (found && !S_ISDIR(st.st_mode)) {
      errno = ENOTDIR; die("openat2");
    } else if (found) {
      int cfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (cfd < 0) die("openat");
      vis = is_opaque(cfd) ? 0 : lower_visibility(rel, comp, vis);
      close(cfd);
    } else {
      /* Not in the root: the topmost visible lower decides. */
      int made = 0;
      for (int i = 1; i <= vis && !made && tlen < 0; i++) {
        int dfd = lower_dir(i, rel);
        if (dfd < 0) continue;
        struct stat lst;
        if (fstatat(dfd, comp, &lst, AT_SYMLINK_NOFOLLOW) != 0) {
          int opaque = is_opaque(dfd);
          close(dfd);
          if (opaque) break;
          continue;
        }
        if (S_ISLNK(lst.st_mode)) {
          tlen = readlinkat(dfd, comp, target, sizeof target - 1);
          close(dfd);
          if (tlen < 0) die("readlinkat");
        } else if (S_ISDIR(lst.st_mode)) {
          close(dfd);
          if (mkdir_placed(fd, comp, 0700) != 0) die("mkdirat");
          if (fchownat(fd, comp, lst.st_uid, lst.st_gid, AT_SYMLINK_NOFOLLOW) != 0) die("fchownat");
          int cfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (cfd < 0) die("openat");
          if (fchmod(cfd, lst.st_mode & 07777) != 0) die("fchmod");
          close(cfd);
          vis = lower_visibility(rel, comp, vis);
          made = 1;
        } else {
          /* A whiteout, or a file a layer below left: the new directory hides it (docker's overlay2 does the same). */
          close(dfd);
          break;
        }
      }
      if (!made && tlen < 0) {
        if (mkdir_placed(fd, comp, 0700) != 0) die("mkdirat");
        set_parent_meta(fd, comp);
        vis = 0;
      }
    }
    if (tlen >= 0) {
      /* A symlink: its target replaces it in what is left to walk, from the root when it is absolute. */
      if (++links > MAX_LINKS) { errno = ELOOP; die("openat2"); }
      target[tlen] = '\0';
      push_front(&rest, target[0] == '/' ? target + 1 : target);
      if (target[0] == '/') fd = restart_at_root(fd, rel, &vis, nlower);
      continue;
    }
    int next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) die("openat");
    close(fd);
    fd = next;
    char *nrel = NULL;
    append(&nrel, &cap, rel, comp);
    free(rel);
    rel = nrel;
  }
  free(rest);
  if (rel_out) *rel_out = rel; else free(rel);
  if (vis_out) *vis_out = vis;
  return fd;
}

/* True when one of the `vis` lowers visible at directory `rel` shows `name`: it is there, and neither a whiteout nor
 * an opaque directory above it hides it. */
static int lower_shows(const char *rel, const char *name, int vis) {
  for (int i = 1; i <= vis; i++) {
    int dfd = lower_dir(i, rel);
    if (dfd < 0) continue;
    struct stat st;
    int found = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    int opaque = found ? 0 : is_opaque(dfd);
    close(dfd);
    if (found) return !is_whiteout(&st);
    if (opaque) return 0;
  }
  return 0;
}

/* The union parent resolved last (entry_parent): its fd, the path asked for, its path in the lowers and how many of
 * them show it. */
static char *union_parent_path;
static char *union_parent_rel;
static int union_parent_vis;
static int union_parent_fd = -1;

static void union_forget(void) {
  if (union_parent_fd >= 0) close(union_parent_fd);
  union_parent_fd = -1;
  free(union_parent_path);
  union_parent_path = NULL;
  free(union_parent_rel);
  union_parent_rel = NULL;
}

/* The parent directory of an entry (created when missing); `*name` is its last component. */
static int entry_parent(const char *path, const char **name) {
  size_t len = strlen(path);
  char *parent = malloc(len + 1);
  if (!parent) die("malloc");
  *name = split(path, parent, len + 1);
  if (**name == '\0' || strcmp(*name, ".") == 0 || strcmp(*name, "..") == 0) { errno = EINVAL; die("path"); }
  int pfd;
  if (base_union) {
    /* Tar entries come grouped by directory: the parent resolved last is kept (an fd in the root) and reused while
     * entries name it. Every op that changes a directory other than a child of that parent goes through here with
     * its own parent first, or (O, B) drops the cache, so a kept parent is never stale. */
    if (!union_parent_path || strcmp(union_parent_path, parent) != 0) {
      union_forget();
      union_parent_fd = union_dirs(parent, &union_parent_rel, &union_parent_vis);
      union_parent_path = strdup(parent);
      if (!union_parent_path) die("malloc");
    }
    pfd = dup(union_parent_fd);
    if (pfd < 0) die("dup");
  } else {
    /* Most parents are plain directories: one openat2 with no symlink allowed; only when that fails does the in-root
     * walk (which may follow a symlink, or create what is missing) run, and a parent it found that the plain walk
     * cannot reach was reached through a symlink (Z reports it). */
    pfd = open_how(basefd, parent, O_PATH | O_DIRECTORY, NO_LINKS);
    if (pfd < 0) {
      pfd = mkdirs(parent, 0);
      if (pfd >= 0) {
        int plain = open_how(basefd, parent, O_PATH | O_DIRECTORY, NO_LINKS);
        if (plain < 0) crossed++; else close(plain);
      }
    }
  }
  free(parent);
  if (pfd < 0) die("openat2");
  return pfd;
}

/* ---- removal ---- */

static int rm_rf_at(int dirfd, const char *name) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : -1;
  if (!S_ISDIR(st.st_mode)) return unlinkat(dirfd, name, 0);
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  DIR *d = fdopendir(fd);
  if (!d) { close(fd); return -1; }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (rm_rf_at(fd, e->d_name) != 0) { closedir(d); return -1; }
  }
  closedir(d);
  return unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* Makes room for a non-directory at pfd/name according to the policy. */
static void clear_for_nondir(int pfd, const char *name) {
  struct stat st;
  if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) { if (errno == ENOENT) return; die("fstatat"); }
  if (S_ISDIR(st.st_mode)) {
    if (policy == 'c') { errno = EISDIR; die("replace"); }
    if (rm_rf_at(pfd, name) != 0) die("remove");
    return;
  }
  if (unlinkat(pfd, name, 0) != 0) die("unlinkat");
}

/* ---- the current entry ---- */

static void cur_reset(void) {
  pending.len = 0;
  if (cur.fd >= 0) close(cur.fd);
  if (cur.pfd >= 0) close(cur.pfd);
  free(cur.name);
  cur.kind = 0; cur.fd = -1; cur.pfd = -1; cur.name = NULL; cur.created = 0; cur.followed = 0;
}

static void cur_set(char kind, int fd, int pfd, const char *name, int created) {
  cur.kind = kind; cur.fd = fd; cur.pfd = pfd; cur.created = created;
  cur.name = name ? strdup(name) : NULL;
}

static void proc_path(char *buf, size_t cap, int fd) { snprintf(buf, cap, "/proc/self/fd/%d", fd); }

static int parse_time(const char *s, struct timespec *ts) {
  if (strcmp(s, "-") == 0) { ts->tv_sec = 0; ts->tv_nsec = UTIME_OMIT; return 0; }
  long long ns = num(s);
  ts->tv_sec = ns / 1000000000LL;
  ts->tv_nsec = ns % 1000000000LL;
  if (ts->tv_nsec < 0) { ts->tv_nsec += 1000000000LL; ts->tv_sec--; }
  return 1;
}

/* Holds directory fd `fd` for its times and the pending xattrs, both set at the end. */
static void hold_dir(int fd, struct timespec ts[2]) {
  if (nheld == capheld) {
    capheld = capheld ? capheld * 2 : 1024;
    held = realloc(held, capheld * sizeof *held);
    if (!held) die("malloc");
  }
  held[nheld].fd = fd;
  held[nheld].ts[0] = ts[0];
  held[nheld].ts[1] = ts[1];
  held[nheld].xattrs = (struct xattrs){ NULL, 0, 0 };
  if (pending.len > 0) {
    held[nheld].xattrs.buf = malloc(pending.len);
    if (!held[nheld].xattrs.buf) die("malloc");
    memcpy(held[nheld].xattrs.buf, pending.buf, pending.len);
    held[nheld].xattrs.len = pending.len;
    pending.len = 0;
  }
  nheld++;
}

/* Overlay's own metadata (an upper dir's trusted.overlay.*, rootless user.overlay.*, fuse-overlayfs's) is never copied:
 * set on a file in an upper dir it would be read by the kernel as a redirect or an opaque marker. */
static int is_overlay_xattr(const char *name) {
  return strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0 || strncmp(name, "user.fuseoverlayfs.", 19) == 0;
}

static void xattrs_put(struct xattrs *x, const void *p, size_t n) {
  if (x->len + n > x->cap) {
    x->cap = (x->len + n) * 2;
    x->buf = realloc(x->buf, x->cap);
    if (!x->buf) die("malloc");
  }
  memcpy(x->buf + x->len, p, n);
  x->len += n;
}

/*
 * Every xattr of source fd `fd` into `pending`. An O_PATH fd (a symlink, a device: `is_path`) is read through its
 * /proc/self/fd link, which lands on the entry itself and is not followed further. As BuildKit's copy, one that cannot
 * be read is left out and the copy goes on.
 */
static void read_xattrs(int fd, int is_path) {
  char proc[64];
  proc_path(proc, sizeof proc, fd);
  pending.len = 0;
  ssize_t size = is_path ? listxattr(proc, NULL, 0) : flistxattr(fd, NULL, 0);
  if (size <= 0) return;
  char *names = malloc((size_t)size);
  if (!names) die("malloc");
  size = is_path ? listxattr(proc, names, (size_t)size) : flistxattr(fd, names, (size_t)size);
  for (ssize_t at = 0; size > 0 && at < size; at += (ssize_t)strlen(names + at) + 1) {
    const char *name = names + at;
    if (is_overlay_xattr(name)) continue;
    ssize_t vlen = is_path ? getxattr(proc, name, NULL, 0) : fgetxattr(fd, name, NULL, 0);
    if (vlen < 0) continue;
    char *value = malloc((size_t)vlen + 1);
    if (!value) die("malloc");
    vlen = is_path ? getxattr(proc, name, value, (size_t)vlen) : fgetxattr(fd, name, value, (size_t)vlen);
    if (vlen >= 0) {
      uint32_t n = (uint32_t)vlen;
      xattrs_put(&pending, name, strlen(name) + 1);
      xattrs_put(&pending, &n, sizeof n);
      xattrs_put(&pending, value, (size_t)vlen);
    }
    free(value);
  }
  free(names);
}

/*
 * Sets the xattrs `x` holds on `fd` (through /proc/self/fd for an O_PATH fd). As BuildKit's copy, one that cannot be
 * set (trusted.* in a user namespace, security.selinux without SELinux, user.* on a symlink) is left out.
 */
static void apply_xattrs(const struct xattrs *x, int fd, int is_path) {
  char proc[64];
  proc_path(proc, sizeof proc, fd);
  for (size_t at = 0; at < x->len;) {
    const char *name = x->buf + at;
    at += strlen(name) + 1;
    uint32_t n;
    memcpy(&n, x->buf + at, sizeof n);
    at += sizeof n;
    (void)(is_path ? setxattr(proc, name, x->buf + at, n, 0) : fsetxattr(fd, name, x->buf + at, n, 0));
    at += n;
  }
}

/* `A`: the xattrs of source entry `src`, for the M that follows. */
static void op_xattrs_from(const char *src) {
  if (srcfd < 0) { errno = EBADF; die("source"); }
  int fd = open_how(srcfd, src[0] ? src : ".", O_PATH | O_NOFOLLOW, IN_ROOT);   /* "": the source root itself */
  if (fd < 0) { cur_arg = src; die("open source"); }
  read_xattrs(fd, 1);
  close(fd);
}

static void meta(const char *uid, const char *gid, const char *mode, const char *atime, const char *mtime) {
  if (cur.kind == 0 || cur.followed) return;
  uid_t u = (uid_t)num(uid);
  gid_t g = (gid_t)num(gid);
  char proc[64];
  /* chown clears setuid/setgid (and security.capability), so owner first, then mode, then xattrs. */
  switch (cur.kind) {
  case 'd': case 'f': if (fchown(cur.fd, u, g) != 0) die("fchown"); break;
  case 'n': if (fchownat(cur.fd, "", u, g, AT_EMPTY_PATH) != 0) die("fchownat"); break;
  default: if (fchownat(cur.pfd, cur.name, u, g, AT_SYMLINK_NOFOLLOW) != 0) die("fchownat"); break;
  }
  if (strcmp(mode, "-") != 0) {
    mode_t m = (mode_t)strtoul(mode, NULL, 8) & 07777;
    if (cur.kind == 'd' || cur.kind == 'f') { if (fchmod(cur.fd, m) != 0) die("fchmod"); }
    else if (cur.kind == 'n') { proc_path(proc, sizeof proc, cur.fd); if (chmod(proc, m) != 0) die("chmod"); }
  }
  struct timespec ts[2];
  int a = parse_time(atime, &ts[0]);
  int b = parse_time(mtime, &ts[1]);
  if (cur.kind == 'd' && (a || b) && nheld < MAX_HELD) {
    /* Creating anything inside a directory bumps its mtime: set at the end, through this fd. Its xattrs wait too,
     * as fsutil's copyDirectory sets them after the contents: a default ACL copied now would be inherited by every
     * entry made in it next. A directory without times (COPY --parents keeps it) gets them now, as createParentDirs
     * sets them before the entry under it. */
    hold_dir(cur.fd, ts);
    cur.fd = -1;
    cur.kind = 'D';   /* still the current entry for x, through the held fd */
    cur.held = nheld - 1;
    return;
  }
  /* Any other entry's now; a directory's too past the fd budget, though what is made in it next may then inherit a
   * default ACL. */
  if (pending.len > 0) {
    switch (cur.kind) {
    case 'd': case 'f': apply_xattrs(&pending, cur.fd, 0); break;
    case 'n': apply_xattrs(&pending, cur.fd, 1); break;
    case 'l': {
      int fd = openat(cur.pfd, cur.name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) die("openat");
      apply_xattrs(&pending, fd, 1);
      close(fd);
      break;
    }
    default: break;
    }
    pending.len = 0;
  }
  if (!a && !b) return;
  if (cur.kind == 'd') {
    /* Past the fd budget the time is set now: a later child may bump it, but nothing leaves the root. */
    if (futimens(cur.fd, ts) != 0) die("futimens");
  } else if (cur.kind == 'f') {
    if (futimens(cur.fd, ts) != 0) die("futimens");
  } else if (cur.kind == 'n') {
    proc_path(proc, sizeof proc, cur.fd);
    if (utimensat(AT_FDCWD, proc, ts, 0) != 0) die("utimensat");
  } else if (cur.kind == 'l') {
    if (utimensat(cur.pfd, cur.name, ts, AT_SYMLINK_NOFOLLOW) != 0) die("utimensat");
  }
}

/* `e`: the mode of an entry the previous op did not create. */
static void mode_if_existing(const char *mode) {
  if (cur.created || cur.followed) return;
  mode_t m = (mode_t)strtoul(mode, NULL, 8) & 07777;
  int fd = cur.kind == 'd' || cur.kind == 'f' ? cur.fd : cur.kind == 'D' ? held[cur.held].fd : -1;
  if (fd < 0) return;   /* a node or a link: not what `e` is for */
  if (fchmod(fd, m) != 0) die("fchmod");
}

static int unhex(const char *hex, unsigned char *out, size_t *len) {
  size_t n = strlen(hex);
  if (n % 2) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned int byte;
    if (sscanf(hex + 2 * i, "%2x", &byte) != 1) return -1;
    out[i] = (unsigned char)byte;
  }
  *len = n / 2;
  return 0;
}

static void xattr(const char *name, const char *hex) {
  unsigned char *value = malloc(strlen(hex) / 2 + 1);
  size_t vlen;
  if (!value || unhex(hex, value, &vlen) != 0) { errno = EINVAL; die("unhex"); }
  char proc[64];
  int rc;
  switch (cur.kind) {
  case 'd': case 'f': rc = fsetxattr(cur.fd, name, value, vlen, 0); break;
  case 'D': rc = fsetxattr(held[cur.held].fd, name, value, vlen, 0); break;   /* the held directory fd, not ours to close */
  case 'n': proc_path(proc, sizeof proc, cur.fd); rc = setxattr(proc, name, value, vlen, 0); break;
  case 'l': {
    /* The symlink itself: an O_PATH|O_NOFOLLOW fd, reached through its magic link, which is not followed further. */
    int fd = openat(cur.pfd, cur.name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) die("openat");
    proc_path(proc, sizeof proc, fd);
    rc = lsetxattr(proc, name, value, vlen, 0) == 0 ? 0 : setxattr(proc, name, value, vlen, 0);
    close(fd);
    break;
  }
  default: rc = 0; break;
  }
  free(value);
  if (rc != 0) die("setxattr");
}

/* ---- entries ---- */

static void op_dir(const char *path, int follow) {
  const char *name;
  int pfd = entry_parent(path, &name);
  struct stat st;
  int created = 0, fd;
  if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno != ENOENT) die("fstatat");
    if (mkdir_placed(pfd, name, 0700) != 0) die("mkdirat");
    created = 1;
  } else if (S_ISLNK(st.st_mode) && follow) {
    int at = mkdirs(path, 0);
    if (at < 0) die("openat2");
    fd = openat(at, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) die("openat");
    close(at);
    close(pfd);
    cur_set('d', fd, -1, NULL, 0);
    cur.followed = 1;
    crossed++;
    return;
  } else if (!S_ISDIR(st.st_mode)) {
    if (policy == 'c') { errno = ENOTDIR; die("mkdir"); }
    if (rm_rf_at(pfd, name) != 0) die("remove");
    if (mkdir_placed(pfd, name, 0700) != 0) die("mkdirat");
    created = 1;
  }
  fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) die("openat");
  close(pfd);
  cur_set('d', fd, -1, NULL, created);
}

static int create_file(const char *path, int *pfd_out, const char **name) {
  int pfd = entry_parent(path, name);
  clear_for_nondir(pfd, *name);
  int fd = openat(pfd, *name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) die("openat");
  *pfd_out = pfd;
  return fd;
}

static void write_all(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) { if (errno == EINTR) continue; die("write"); }
    p += w; n -= (size_t)w;
  }
}

static void op_file(const char *path) {
  const char *name;
  int pfd;
  int fd = create_file(path, &pfd, &name);
  close(pfd);
  static unsigned char *chunk;
  static size_t chunkcap;
  for (;;) {
    unsigned char lenb[4];
    in_exact(lenb, 4);
    size_t len = (size_t)lenb[0] | (size_t)lenb[1] << 8 | (size_t)lenb[2] << 16 | (size_t)lenb[3] << 24;
    if (len == 0) break;
    if (len > chunkcap) {
      chunk = realloc(chunk, len);
      if (!chunk) die("malloc");
      chunkcap = len;
    }
    in_exact(chunk, len);
    write_all(fd, chunk, len);
  }
  cur_set('f', fd, -1, NULL, 1);
}

static void op_copy(const char *path, const char *src) {
  if (srcfd < 0) { errno = EBADF; die("source"); }
  int in = open_how(srcfd, src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, IN_ROOT);
  if (in < 0) { cur_arg = src; die("open source"); }
  struct stat st;
  if (fstat(in, &st) != 0) die("fstat");
  if (!S_ISREG(st.st_mode)) { errno = EINVAL; cur_arg = src; die("source is not a regular file"); }
  const char *name;
  int pfd;
  int fd = create_file(path, &pfd, &name);
  close(pfd);
  int use_sendfile = 0;
  for (;;) {
    ssize_t n = use_sendfile ? sendfile(fd, in, NULL, 1 << 30) : copy_file_range(in, NULL, fd, NULL, 1 << 30, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (!use_sendfile && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS)) { use_sendfile = 1; continue; }
      die(use_sendfile ? "sendfile" : "copy_file_range");
    }
    if (n == 0) break;
  }
  cur_set('f', fd, -1, NULL, 1);
  read_xattrs(in, 0);
  close(in);
}

static void op_symlink(const char *path, const char *target) {
  const char *name;
  int pfd = entry_parent(path, &name);
  clear_for_nondir(pfd, name);
  if (symlinkat(target, pfd, name) != 0) die("symlinkat");
  cur_set('l', -1, pfd, name, 1);
}

static void op_link(const char *path, const char *target) {
  const char *name;
  int pfd = entry_parent(path, &name);
  const char *tname;
  int tpfd = parent_at(basefd, target, &tname, O_PATH, base_resolve);
  if (tpfd < 0) die("openat2 link target");
  struct stat st;
  if (fstatat(tpfd, tname, &st, AT_SYMLINK_NOFOLLOW) != 0) die("link target");
  if (S_ISDIR(st.st_mode)) { errno = EPERM; die("link target"); }
  clear_for_nondir(pfd, name);
  if (linkat(tpfd, tname, pfd, name, 0) != 0) die("linkat");
  close(tpfd);
  close(pfd);
}

static void op_node(const char *path, const char *kind, const char *major, const char *minor) {
  const char *name;
  int pfd = entry_parent(path, &name);
  clear_for_nondir(pfd, name);
  mode_t type = kind[0] == 'c' ? S_IFCHR : kind[0] == 'b' ? S_IFBLK : S_IFIFO;
  if (mknodat(pfd, name, type | 0600, makedev((unsigned)num(major), (unsigned)num(minor))) != 0) die("mknodat");
  int fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) die("openat");
  close(pfd);
  cur_set('n', fd, -1, NULL, 1);
}

static void op_whiteout(const char *path) {
  const char *name;
  int pfd = entry_parent(path, &name);
  if (rm_rf_at(pfd, name) != 0) die("remove");
  /* A layer's whiteout is only made where a lower shows the name. overlayfs lists a directory that no lower has, or an
   * opaque one, straight from the upper dir, whiteouts and all, and then cannot stat them (ENOENT): `newdir/.wh.x`
   * or `d/.wh..wh..opq` + `d/.wh.x` left an `x` that `ls` showed as c????????? and COPY --from and -o type=local
   * failed on. Removing what this layer wrote is all such a whiteout means (containerd's applyNaive: os.RemoveAll). */
  if (base_union && !lower_shows(union_parent_rel, name, union_parent_vis)) {
    close(pfd);
    return;
  }
  if (mknodat(pfd, name, S_IFCHR, makedev(0, 0)) != 0) die("mknodat");
  cur_set('l', -1, pfd, name, 1);
}

/* Removes the 0/0 whiteouts directly in directory `dfd`: once it is opaque they hide nothing, and overlayfs would list
 * them (see op_whiteout). */
static void drop_whiteouts(int dfd) {
  int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) die("openat");
  DIR *d = fdopendir(fd);
  if (!d) die("fdopendir");
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_type != DT_CHR && e->d_type != DT_UNKNOWN) continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) die("fstatat");
    if (is_whiteout(&st) && unlinkat(dirfd(d), e->d_name, 0) != 0) die("unlinkat");
  }
  closedir(d);
}

static void op_opaque(const char *path) {
  union_forget();   /* an opaque directory hides lowers: parents resolved before may now resolve differently */
  int at = base_union ? union_dirs(path, NULL, NULL) : mkdirs(path, 0);
  if (at < 0) die("openat2");
  int fd = openat(at, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) die("openat");
  close(at);
  if (fsetxattr(fd, opaque_xattr, "y", 1, 0) != 0) die("setxattr");
  if (base_union) drop_whiteouts(fd);
  close(fd);
}

static void op_base(const char *path, const char *mode) {
  /* The new base is always found from the root, in-root. */
  int old = basefd;
  union_forget();
  basefd = roots[0];
  base_resolve = IN_ROOT;
  base_union = 0;
  if (mode[0] == 'u' && path[0]) { errno = EINVAL; die("union base must be the root"); }
  int at = path[0] ? mkdirs(path, 0) : open_how(basefd, "", O_PATH | O_DIRECTORY, base_resolve);
  basefd = old;
  if (at < 0) die("openat2");
  if (basefd != roots[0]) close(basefd);
  basefd = at;
  base_resolve = mode[0] == 'b' ? BENEATH : IN_ROOT;
  base_union = mode[0] == 'u';
  if (base_union) spread_layer_dirs(roots[0]);
}

/* ---- queries ---- */

static void q_stat(const char *path) {
  int fd = open_how(basefd, path, O_PATH, base_resolve);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) { reply("n"); return; }
    /* A symlink loop is no directory: COPY then asks V, which names the loop. */
    if (errno == ELOOP) { reply("o"); return; }
    die("openat2");
  }
  struct stat st;
  if (fstat(fd, &st) != 0) die("fstat");
  close(fd);
  if (S_ISDIR(st.st_mode)) reply("d");
  else if (S_ISREG(st.st_mode)) reply("f %lld", (long long)st.st_size);
  else reply("o");
}

static void q_read(const char *path, const char *max) {
  int fd = open_how(basefd, path, O_RDONLY | O_NONBLOCK, base_resolve);
  if (fd < 0) { reply("-%d", errno); return; }
  struct stat st;
  if (fstat(fd, &st) != 0) die("fstat");
  if (!S_ISREG(st.st_mode) || st.st_size > num(max)) { close(fd); reply("-%d", S_ISREG(st.st_mode) ? EFBIG : EINVAL); return; }
  char *buf = malloc((size_t)st.st_size + 1);
  if (!buf) die("malloc");
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
    if (r < 0) { if (errno == EINTR) continue; die("read"); }
    if (r == 0 || (n += (size_t)r) == (size_t)st.st_size) break;
  }
  close(fd);
  fprintf(stdout, "%zu\n", n);
  fwrite(buf, 1, n, stdout);
  if (fflush(stdout) != 0) die("write");
  free(buf);
}

/* The parent of `path` in root `rootfd` with no symlink anywhere; -1 (errno set) when there is none. */
static int nolink_parent(int rootfd, const char *path, const char **name, int flags) {
  return parent_at(rootfd, path, name, flags, NO_LINKS);
}

static int gone(int e) { return e == ENOENT || e == ENOTDIR || e == ELOOP || e == EXDEV; }

static void q_lstat(const char *idx, const char *path) {
  long long i = num(idx);
  if (i < 0 || i >= nroots) { errno = EINVAL; die("root index"); }
  struct stat st;
  int fd;
  if (path[0] == '\0') {
    if (fstat(roots[i], &st) != 0) die("fstat");
    fd = open_how(roots[i], "", O_RDONLY | O_DIRECTORY, NO_LINKS);
  } else {
    const char *name;
    int pfd = nolink_parent(roots[i], path, &name, O_PATH);
    if (pfd < 0) { if (gone(errno)) { reply("n"); return; } die("openat2"); }
    if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) { close(pfd); if (gone(errno)) { reply("n"); return; } die("fstatat"); }
    fd = S_ISDIR(st.st_mode) ? openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    close(pfd);
  }
  int empty = 0, opaque = 0;
  if (S_ISDIR(st.st_mode) && fd >= 0) {
    opaque = is_opaque(fd);
    DIR *d = fdopendir(fd);
    if (!d) die("fdopendir");
    empty = 1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) { empty = 0; break; }
    closedir(d);
  } else if (fd >= 0) close(fd);
  char t = S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : S_ISLNK(st.st_mode) ? 'l' : S_ISCHR(st.st_mode) ? 'c' : 'o';
  reply("%c %o %u %u %lld %lld %d %d", t, st.st_mode & 07777, st.st_uid, st.st_gid, (long long)st.st_size,
        (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec, empty, opaque);
}

static void q_unstub(const char *path, const char *isdir) {
  const char *name;
  int pfd = nolink_parent(roots[0], path, &name, O_RDONLY);
  if (pfd < 0) { if (gone(errno)) { reply("k"); return; } die("openat2"); }
  struct stat pst, st;
  if (fstat(pfd, &pst) != 0) die("fstat");
  if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) { close(pfd); if (gone(errno)) { reply("k"); return; } die("fstatat"); }
  int rc = 1;
  if (isdir[0] == '1' && S_ISDIR(st.st_mode)) rc = unlinkat(pfd, name, AT_REMOVEDIR);
  /* A 0/0 whiteout too: fuse-overlayfs leaves one (`.wh..opq`) in a directory it creates (worker/snapshots/mount.ts). */
  else if (isdir[0] != '1' && ((S_ISREG(st.st_mode) && st.st_size == 0) || (S_ISCHR(st.st_mode) && st.st_rdev == 0))) rc = unlinkat(pfd, name, 0);
  close(pfd);
  if (rc < 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT) die("unlinkat");
  if (rc != 0) { reply("k"); return; }
  reply("r %lld", (long long)pst.st_mtim.tv_sec * 1000000000LL + pst.st_mtim.tv_nsec);
}

static void q_mtime(const char *path, const char *ns) {
  int fd = open_how(roots[0], path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, NO_LINKS);
  if (fd < 0) { reply("-%d", errno); return; }
  struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, 0 } };
  parse_time(ns, &ts[1]);
  int rc = futimens(fd, ts);
  int e = errno;
  close(fd);
  if (rc != 0) reply("-%d", e); else reply("ok");
}

static void q_rmdir(const char *path) {
  const char *name;
  int pfd = nolink_parent(roots[0], path, &name, O_PATH);
  if (pfd < 0) { reply("-%d", errno); return; }
  int rc = unlinkat(pfd, name, AT_REMOVEDIR);
  int e = errno;
  close(pfd);
  if (rc != 0) reply("-%d", e); else reply("ok");
}

/* `r`: see the protocol. The parent is reached with no symlink: every directory the caller removes from is one it
 * listed with J, so a link there means the tree changed under it, and nothing is followed to find out where. */
static void op_remove(const char *path) {
  const char *name;
  int pfd = nolink_parent(basefd, path, &name, O_PATH);
  if (pfd < 0) die("openat2");
  if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) { errno = EINVAL; die("remove"); }
  if (rm_rf_at(pfd, name) != 0) die("remove");
  close(pfd);
}

/* `J`: see the protocol. */
static void q_list(const char *path) {
  int fd = open_how(basefd, path, O_RDONLY | O_DIRECTORY, NO_LINKS);
  if (fd < 0) die("openat2");
  DIR *d = fdopendir(fd);
  if (!d) die("fdopendir");
  char *out = NULL;
  size_t len = 0, cap = 0;
  struct dirent *e;
  while ((errno = 0, e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    struct stat st;
    /* d_type is DT_UNKNOWN on some filesystems: lstat says what the entry is. */
    int isdir = e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode));
    size_t n = strlen(e->d_name);
    if (len + n + 2 > cap) {
      cap = (len + n + 2) * 2;
      out = realloc(out, cap);
      if (!out) die("malloc");
    }
    out[len++] = isdir ? 'd' : 'o';
    memcpy(out + len, e->d_name, n + 1);
    len += n + 1;
  }
  if (errno != 0) die("readdir");
  closedir(d);
  fprintf(stdout, "%zu\n", len);
  if (len > 0) fwrite(out, 1, len, stdout);
  if (fflush(stdout) != 0) die("write");
  free(out);
}

/* `fd`'s path relative to `rootfd` (both open in this process), written into `out`; "" for the root itself. */
static void rel_to(int rootfd, int fd, char *out, size_t cap) {
  static char full[4096], rootp[4096];
  char proc[64];
  proc_path(proc, sizeof proc, fd);
  ssize_t n = readlink(proc, full, sizeof full - 1);
  if (n < 0) die("readlink");
  full[n] = '\0';
  proc_path(proc, sizeof proc, rootfd);
  ssize_t r = readlink(proc, rootp, sizeof rootp - 1);
  if (r < 0) die("readlink");
  rootp[r] = '\0';
  const char *rel;
  if (strcmp(full, rootp) == 0) rel = "";
  else if (strncmp(full, rootp, (size_t)r) == 0 && full[r] == '/') rel = full + r + 1;
  else { errno = EXDEV; die("resolve"); }
  if (strlen(rel) >= cap) { errno = ENAMETOOLONG; die("resolve"); }
  strcpy(out, rel);
}

static void reply_path(const char *rel) {
  fprintf(stdout, "%zu\n%s", strlen(rel), rel);
  if (fflush(stdout) != 0) die("write");
}

static void q_resolve(const char *path) {
  int rootfd = srcfd >= 0 ? srcfd : roots[0];
  int fd = open_how(rootfd, path, O_PATH, IN_ROOT);
  if (fd < 0) { if (errno == ELOOP || !gone(errno)) { reply("-%d", errno); return; } reply("-%d", ENOENT); return; }
  static char rel[4096];
  rel_to(rootfd, fd, rel, sizeof rel);
  close(fd);
  reply_path(rel);
}

/*
 * V: where a file written at `path` lands, as BuildKit's COPY resolves its destination (fsutil's Copy takes continuity's
 * fs.RootPath of it, which follows the last component too): an existing symlink there is written through to its target
 * inside the base, hop by hop, at most 40 hops (ELOOP after). Each hop's parent is opened in the base as every write
 * is, and the target read from that fd, so the answer is a path under the base whatever the links say. A missing parent
 * of the first path is fine (the write makes it); of a link's target it is ENOENT, as the copy would be in BuildKit.
 */
static void q_dest(const char *path) {
  static char rel[4096], target[4096];
  char *cur = strdup(path);
  if (!cur) die("malloc");
  for (int hop = 0;; hop++) {
    const char *name;
    int pfd = parent_at(basefd, cur, &name, O_PATH, base_resolve);
    if (pfd < 0 && hop == 0 && gone(errno)) { reply_path(cur); free(cur); return; }
    if (pfd < 0) { reply("-%d", gone(errno) && errno != ELOOP ? ENOENT : errno); free(cur); return; }
    rel_to(basefd, pfd, rel, sizeof rel);
    struct stat st;
    int islink = strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && *name != '\0'
      && fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
    if (!islink) {
      close(pfd);
      /* Unchanged when nothing was followed: the caller's own (clean) path. */
      if (hop == 0) { reply_path(cur); free(cur); return; }
      size_t n = strlen(rel) + strlen(name) + 2;
      char *out = malloc(n);
      if (!out) die("malloc");
      snprintf(out, n, "%s%s%s", rel, *rel ? "/" : "", name);
      reply_path(out);
      free(out);
      free(cur);
      return;
    }
    if (hop == 40) { close(pfd); reply("-%d", ELOOP); free(cur); return; }
    ssize_t t = readlinkat(pfd, name, target, sizeof target - 1);
    close(pfd);
    if (t < 0) die("readlinkat");
    target[t] = '\0';
    const char *tail = target;
    while (*tail == '/') tail++;
    size_t n = (target[0] == '/' ? 0 : strlen(rel) + 1) + strlen(tail) + 1;
    char *next = malloc(n);
    if (!next) die("malloc");
    if (target[0] == '/') snprintf(next, n, "%s", tail);
    else snprintf(next, n, "%s%s%s", rel, *rel ? "/" : "", tail);
    /* A target ending in '/' or '.' names a directory: the kernel's own walk (`Q`) sees that before this is asked. */
    for (size_t len = strlen(next); len > 0 && next[len - 1] == '/'; len--) next[len - 1] = '\0';
    free(cur);
    cur = next;
  }
}

/* ---- inherit: a file the previous result of the same COPY already holds (worker/fileops/copy-into.ts) ---- */

/*
 * A COPY that missed the cache re-copies every file under a broad source, yet most are what the previous result of the
 * same COPY wrote. `I` links such a file from that result's upper dir (--prev) into this snapshot's upper dir (--upper,
 * the overlay mounted at the root): committed snapshot dirs are never written again (a later step's overlay copies a
 * file up before changing it), so the shared inode stays what both results say it is. The TypeScript side sends I only
 * for a file whose source (inode, size, times) and written owner/mode match what the previous result recorded for this
 * path; here it is linked only when, in addition:
 *   - the parent is a real directory in the upper dir, reached with no symlink (so the merged path is the same one);
 *   - nothing has that name in the upper dir or in any lower (a cold copy would then replace or refuse something,
 *     which the C path does with the overlay's own rules);
 *   - the previous result holds a regular file there, reached with no symlink, with the source's size and mtime.
 * Anything else falls back to a copy. The name is never looked up through the overlay before it is linked, so the
 * overlay caches no negative entry that the link would make stale.
 */
static char *inh_parent;       /* the parent the fds below are for */
static int inh_upfd = -1;      /* that parent in --upper (no symlink); -1 while it is not there */
static int *inh_lowfd;         /* that parent in each --lower, by root index; -1 where a lower has none */

static void inherit_forget(void) {
  if (inh_upfd >= 0) close(inh_upfd);
  inh_upfd = -1;
  for (int i = 1; inh_lowfd && i < nroots; i++) if (inh_lowfd[i] >= 0) close(inh_lowfd[i]);
  free(inh_lowfd);
  inh_lowfd = NULL;
  free(inh_parent);
  inh_parent = NULL;
}

static void inherit_parent(const char *parent) {
  if (!inh_parent || strcmp(inh_parent, parent) != 0) {
    inherit_forget();
    inh_parent = strdup(parent);
    inh_lowfd = calloc((size_t)nroots, sizeof *inh_lowfd);
    if (!inh_parent || !inh_lowfd) die("malloc");
    for (int i = 1; i < nroots; i++) inh_lowfd[i] = open_how(roots[i], parent, O_PATH | O_DIRECTORY, NO_LINKS);
  }
  /* The copy of an earlier entry may have made it since (an overlay copy-up): absence is never cached. */
  if (inh_upfd < 0) inh_upfd = open_how(upperfd, parent, O_PATH | O_DIRECTORY, NO_LINKS);
}

static int absent_at(int dirfd, const char *name) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) return 0;
  if (errno != ENOENT) die("fstatat");
  return 1;
}

/* Links `fd` (an O_PATH fd of a regular file) as dirfd/name; 0 when it is done, -1 when a copy must do instead. */
static int link_fd(int fd, int dirfd, const char *name) {
  if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0) return 0;
  if (errno == ENOENT || errno == EPERM) {
    /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the fd's magic link is the same inode without it. */
    char proc[64];
    proc_path(proc, sizeof proc, fd);
    if (linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) == 0) return 0;
  }
  if (errno == EXDEV || errno == EMLINK || errno == ENOENT || errno == EPERM) return -1;
  die("linkat");
}

static void op_inherit(const char *path, const char *src, const char *size, const char *mtime) {
  int done = 0;
  if (upperfd >= 0 && prevfd >= 0) {
    size_t len = strlen(path);
    char *parent = malloc(len + 1);
    if (!parent) die("malloc");
    const char *name = split(path, parent, len + 1);
    if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) { errno = EINVAL; die("path"); }
    inherit_parent(parent);
    int clear = inh_upfd >= 0 && absent_at(inh_upfd, name);
    for (int i = 1; clear && i < nroots; i++) if (inh_lowfd[i] >= 0 && !absent_at(inh_lowfd[i], name)) clear = 0;
    if (clear) {
      int fd = open_how(prevfd, path, O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
      struct stat st;
      if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (long long)st.st_size == num(size)
          && (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec == num(mtime)) {
        done = link_fd(fd, inh_upfd, name) == 0;
      }
      if (fd >= 0) close(fd);
    }
    free(parent);
  }
  if (done) { linked++; return; }   /* no current entry: the M that follows is for a copy only */
  op_copy(path, src);
}

/* ---- main loop ---- */

static int open_root(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) { cur_arg = path; die("open root"); }
  if (nroots == MAX_ROOTS) { errno = E2BIG; die("roots"); }
  roots[nroots++] = fd;
  return fd;
}

/* After E: every write of the session is done and its directory times are set. Every fd of the session (the
 * roots, held directories, a source dir) is closed before the reply: the caller may unmount the root as soon as it
 * has it, and an fd still open in it would make that umount fail with EBUSY. The reply goes out before the exec (the
 * caller waits on it, not on the exec); the caller sends nothing more until it has the reply, so input left in the
 * buffer is a protocol error, not the next session. */
static void serve_again(void) {
  if (inpos != inlen) { errno = EINVAL; cur_arg = "E"; die("parse"); }
  if (close_range(3, ~0U, 0) != 0) die("close_range");
  reply("ok");
  char *again[] = { "tsbuild-fsattr", "serve", NULL };
  execv("/proc/self/exe", again);
  cur_arg = "/proc/self/exe";
  die("exec");
}

int root_main(int argc, char **argv);

int root_serve(void) {
  /* A new image holds nothing of an earlier session but stdin, stdout and stderr: make sure of it. */
  if (close_range(3, ~0U, 0) != 0) die("close_range");
  int c = in_byte();
  if (c < 0) return 0;   /* the pool let this writer go */
  inpos--;               /* the first byte of the first argument: read it again below */
  size_t argc = 2, cap = 16;
  char **argv = malloc(cap * sizeof *argv);
  if (!argv) die("malloc");
  argv[0] = "tsbuild-fsattr";
  argv[1] = "root";
  for (;;) {
    char *f = field(0);
    if (f[0] == '\0') break;
    if (argc + 2 > cap) {
      argv = realloc(argv, (cap *= 2) * sizeof *argv);
      if (!argv) die("malloc");
    }
    if (!(argv[argc++] = strdup(f))) die("malloc");
  }
  argv[argc] = NULL;
  return root_main((int)argc, argv);
}

int root_main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: tsbuild-fsattr root <root> [--src dir] [--lower dir]...\n"); return 2; }
  umask(0);
  /* Deferred directory times hold one fd each. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
  basefd = open_root(argv[2]);
  for (int i = 3; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--src") == 0) {
      srcfd = open(argv[i + 1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (srcfd < 0) { cur_arg = argv[i + 1]; die("open source root"); }
    } else if (strcmp(argv[i], "--lower") == 0) {
      open_root(argv[i + 1]);
    } else if (strcmp(argv[i], "--upper") == 0) {
      upperfd = open(argv[i + 1], O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (upperfd < 0) { cur_arg = argv[i + 1]; die("open upper dir"); }
    } else if (strcmp(argv[i], "--prev") == 0) {
      /* Pruned since the caller looked: every I then copies. */
      prevfd = open(argv[i + 1], O_PATH | O_DIRECTORY | O_CLOEXEC);
    } else if (strcmp(argv[i], "--opaque-xattr") == 0) {
      opaque_xattr = argv[i + 1];
    } else {
      fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  int again = 0;
  for (;;) {
    int op = in_byte();
    if (op < 0) break;
    if (in_byte() != 0) { errno = EINVAL; die("parse"); }
    cur_arg = "";
    switch (op) {
    case 'B': { char *p = field(0); cur_arg = p; op_base(p, field(1)); cur_reset(); break; }
    case 'P': parent_uid = (uid_t)num(field(0)); parent_gid = (gid_t)num(field(1)); parent_mode = (mode_t)strtoul(field(2), NULL, 8) & 07777; break;
    case 'K': policy = field(0)[0]; break;
    case 'D': { cur_reset(); char *p = field(0); cur_arg = p; op_dir(p, field(1)[0] == '1'); break; }
    case 'F': { cur_reset(); char *p = field(0); cur_arg = p; op_file(p); break; }
    case 'C': { cur_reset(); char *p = field(0); cur_arg = p; op_copy(p, field(1)); break; }
    case 'L': { cur_reset(); char *p = field(0); cur_arg = p; op_symlink(p, field(1)); break; }
    case 'H': { cur_reset(); char *p = field(0); cur_arg = p; op_link(p, field(1)); break; }
    case 'N': { cur_reset(); char *p = field(0), *k = field(1), *ma = field(2), *mi = field(3); cur_arg = p; op_node(p, k, ma, mi); break; }
    case 'W': { cur_reset(); char *p = field(0); cur_arg = p; op_whiteout(p); break; }
    case 'O': { cur_reset(); char *p = field(0); cur_arg = p; op_opaque(p); break; }
    case 'M': case 'm': {
      char *u = field(0), *g = field(1), *mo = field(2), *a = field(3), *mt = field(4);
      cur_arg = entry_arg != NULL ? entry_arg : "";
      if (op == 'M' || cur.created) meta(u, g, mo, a, mt);
      break;
    }
    case 'e': { char *mo = field(0); cur_arg = entry_arg != NULL ? entry_arg : ""; mode_if_existing(mo); break; }
    case 'x': { char *n = field(0), *v = field(1); cur_arg = entry_arg != NULL ? entry_arg : ""; xattr(n, v); break; }
    case 'A': { char *p = field(0); cur_arg = p; op_xattrs_from(p); break; }
    case 'Q': { char *p = field(0); cur_arg = p; q_stat(p); break; }
    case 'G': { char *p = field(0); cur_arg = p; q_read(p, field(1)); break; }
    case 'S': { char *i = field(0); char *p = field(1); cur_arg = p; q_lstat(i, p); break; }
    case 'U': { char *p = field(0); cur_arg = p; q_unstub(p, field(1)); break; }
    case 'T': { char *p = field(0); cur_arg = p; q_mtime(p, field(1)); break; }
    case 'X': { char *p = field(0); cur_arg = p; q_rmdir(p); break; }
    case 'r': { cur_reset(); char *p = field(0); cur_arg = p; op_remove(p); break; }
    case 'J': { char *p = field(0); cur_arg = p; q_list(p); break; }
    case 'Y': reply("ok"); break;
    case 'R': { char *p = field(0); cur_arg = p; q_resolve(p); break; }
    case 'V': { char *p = field(0); cur_arg = p; q_dest(p); break; }
    case 'I': {
      /* Fields are read from the input in order: never as function arguments, whose evaluation order C leaves open. */
      cur_reset();
      char *p = field(0), *src = field(1), *size = field(2), *mtime = field(3);
      cur_arg = p;
      op_inherit(p, src, size, mtime);
      break;
    }
    case 'Z': reply("%ld %ld", crossed, linked); break;
    case 'E': again = 1; break;
    default: errno = EINVAL; die("parse");
    }
    if (again) break;
    if (op != 0 && strchr("DFCLHNWOIr", op) != NULL) {
      free(entry_arg);
      entry_arg = strdup(cur_arg);
      if (entry_arg == NULL) die("strdup");
    }
  }
  cur_reset();
  inherit_forget();
  cur_arg = "";
  for (size_t i = nheld; i-- > 0;) {
    apply_xattrs(&held[i].xattrs, held[i].fd, 0);
    free(held[i].xattrs.buf);
    if (futimens(held[i].fd, held[i].ts) != 0) die("futimens");
    close(held[i].fd);
  }
  if (again) serve_again();
  return 0;
}
