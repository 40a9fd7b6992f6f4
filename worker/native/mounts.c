// Overlay and container mounts. Every path inside the container is resolved with openat2(RESOLVE_IN_ROOT), so a
// symlink in the image (say /run -> /host/path) can never make a mount land outside the rootfs; mounts then go
// through the /proc/self/fd/N magic link of the resolved fd, as runc does.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tsbuild-run.h"

/** "/proc/self/fd/N" for fd, in buf. */
const char *fd_path(int fd, char buf[32]) {
  snprintf(buf, 32, "/proc/self/fd/%d", fd);
  return buf;
}

struct text { char *data; size_t len; size_t cap; };

static void text_put(struct text *t, const char *s, bool escape) {
  for (; *s != '\0'; s++) {
    if (t->len + 3 > t->cap) {
      t->cap = t->cap == 0 ? 4096 : t->cap * 2;
      t->data = realloc(t->data, t->cap);
      if (t->data == NULL) fail("realloc", "overlay", ENOMEM);
    }
    // overlayfs splits options on ',' and lowerdir on ':'; a backslash escapes either.
    if (escape && (*s == ',' || *s == ':' || *s == '\\')) t->data[t->len++] = '\\';
    t->data[t->len++] = *s;
  }
  t->data[t->len] = '\0';
}

static const char *rel(const char *path, size_t skip) {
  return skip == 0 ? path : (path[skip] == '\0' ? "." : path + skip + 1);
}

static void mount_overlay_with(const struct overlay *o, bool userxattr, bool volatile_upper);

static void build_options(struct text *t, const struct overlay *o, size_t skip, bool userxattr, bool volatile_upper) {
  t->len = 0;
  text_put(t, "lowerdir=", false);
  for (size_t i = 0; i < o->nlower; i++) {
    if (i > 0) text_put(t, ":", false);
    text_put(t, rel(o->lowers[i], skip), true);
  }
  if (o->upper[0] != '\0') {
    text_put(t, ",upperdir=", false);
    text_put(t, rel(o->upper, skip), true);
    text_put(t, ",workdir=", false);
    text_put(t, rel(o->work, skip), true);
    // A step's upper dir is fresh and mounted once: without `volatile` the teardown of the step's mount namespace
    // syncs the whole host filesystem (everyone's dirty pages) at every step; the worker syncs once per build.
    if (volatile_upper) text_put(t, ",volatile", false);
  }
  // In a user namespace trusted.overlay.* is out of reach: the snapshots' opaque markers are user.overlay.*.
  if (userxattr) text_put(t, ",userxattr", false);
}

// Length of the longest directory prefix shared by every layer path ("/a/b" for "/a/b/1/fs" and "/a/b/2/fs").
static size_t common_dir(const struct overlay *o) {
  const char *first = o->lowers[0];
  size_t n = strlen(first);
  const char *all[3] = { o->upper, o->work, NULL };
  for (size_t i = 0; i < o->nlower + 2; i++) {
    const char *p = i < o->nlower ? o->lowers[i] : all[i - o->nlower];
    if (p[0] == '\0') continue;
    size_t k = 0;
    while (k < n && p[k] == first[k]) k++;
    n = k;
  }
  while (n > 0 && first[n] != '/' && first[n] != '\0') n--;
  return n;
}

/**
 * Mounts the rootfs and the staged overlays. With `premounted` the driver mounted them with fuse-overlayfs before
 * starting us (worker/snapshots/mount.ts): they came with this mount namespace, and the rootfs is bound onto itself
 * so that what is mounted under it and pivoted into is a mount of this namespace alone.
 */
void mount_layers(const struct spec *s) {
  if (s->premounted) {
    if (mount(s->rootfs.dst, s->rootfs.dst, NULL, MS_BIND | MS_REC, NULL) != 0) fail("mount", s->rootfs.dst, errno);
    return;
  }
  mount_overlay(&s->rootfs, s->userxattr);
  for (size_t i = 0; i < s->noverlays; i++) mount_overlay(&s->overlays[i], s->userxattr);
}

/**
 * Mounts an overlay. The legacy mount(2) data is limited to one page; when a long lower chain does not fit, chdir
 * into the layers' common parent and pass relative paths, as containerd does.
 */
void mount_overlay(const struct overlay *o, bool userxattr) {
  mount_overlay_with(o, userxattr, true);
}

static void mount_overlay_with(const struct overlay *o, bool userxattr, bool volatile_upper) {
  struct text t = { 0 };
  build_options(&t, o, 0, userxattr, volatile_upper);
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  if (t.len >= page) {
    size_t skip = common_dir(o);
    if (skip == 0) fail("mount", "overlay options exceed a page and the layers share no parent", E2BIG);
    char *dir = strndup(o->lowers[0], skip);
    if (dir == NULL) fail("strndup", "overlay", ENOMEM);
    if (chdir(dir) != 0) fail("chdir", dir, errno);
    build_options(&t, o, skip, userxattr, volatile_upper);
    if (t.len >= page) fail("mount", "overlay options exceed a page even with relative paths", E2BIG);
    free(dir);
  }
  if (mount("overlay", o->dst, "overlay", 0, t.data) != 0) {
    // Kernels before 5.10 do not know `volatile`: the same mount without it.
    if (errno == EINVAL && volatile_upper && o->upper[0] != '\0') {
      free(t.data);
      if (chdir("/") != 0) fail("chdir", "/", errno);
      mount_overlay_with(o, userxattr, false);
      return;
    }
    fail("mount", o->dst, errno);
  }
  if (chdir("/") != 0) fail("chdir", "/", errno);
  free(t.data);
}

/** openat2 with RESOLVE_IN_ROOT: `path` is looked up as if rootfd were "/". Returns -1 with errno on failure. */
int open_in_root(int rootfd, const char *path, int flags) {
  struct open_how how = { .flags = (unsigned long long)(flags | O_CLOEXEC), .mode = 0,
                          .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

static void report_stub(int parentfd, const char *base, const char *root, bool isdir, const struct timespec *before) {
  struct stat st;
  if (fstat(parentfd, &st) != 0) fail("fstat", base, errno);
  int fd = openat(parentfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail("openat", base, errno);
  char link[32], real[PATH_MAX];
  ssize_t n = readlink(fd_path(fd, link), real, sizeof(real) - 1);
  if (n < 0) fail("readlink", base, errno);
  real[n] = '\0';
  size_t rootlen = strlen(root);
  if (strncmp(real, root, rootlen) != 0 || real[rootlen] != '/') fail("stub", real, EXDEV);
  status_stub(real + rootlen, isdir, before, &st.st_mtim);
  close(fd);
}

/**
 * Opens (O_PATH) the mount target `target` inside the rootfs, creating it and its missing parents (directories,
 * or an empty file for the last component when !isdir). Everything created is reported as a stub.
 */
int ensure_target(int rootfd, const char *root, const char *target, bool isdir) {
  int fd = open_in_root(rootfd, target, O_PATH);
  if (fd >= 0) return fd;
  if (errno != ENOENT) fail("openat2", target, errno);
  char parent[PATH_MAX];
  if (strlen(target) >= sizeof(parent)) fail("ensure_target", target, ENAMETOOLONG);
  strcpy(parent, target);
  char *slash = strrchr(parent, '/');
  if (slash == NULL || slash[1] == '\0') fail("ensure_target", target, EINVAL);
  char base[NAME_MAX + 1];
  if (strlen(slash + 1) > NAME_MAX) fail("ensure_target", target, ENAMETOOLONG);
  strcpy(base, slash + 1);
  if (slash == parent) slash[1] = '\0';
  else *slash = '\0';
  int pfd = ensure_target(rootfd, root, parent, true);
  struct stat st;
  if (fstat(pfd, &st) != 0) fail("fstat", parent, errno);
  int rc;
  if (isdir) rc = mkdirat(pfd, base, 0755);
  else {
    rc = openat(pfd, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (rc >= 0) rc = close(rc);
  }
  if (rc != 0 && errno != EEXIST) fail(isdir ? "mkdirat" : "creat", target, errno);
  if (rc == 0) report_stub(pfd, base, root, isdir, &st.st_mtim);
  close(pfd);
  fd = open_in_root(rootfd, target, O_PATH);
  if (fd < 0) fail("openat2", target, errno);
  return fd;
}

/**
 * Binds the tree at src (recursively) onto dst, both fds, with `attr_set` on every mount of the new tree. The tree
 * is cloned detached (open_tree), gets its attributes there, and only then is attached (move_mount): nothing is
 * looked up by path after the mount. Re-opening the target by its path to set read-only on it let a step that shares
 * a cache mount with this one swap a directory on that path for a link to "/" in between: the attributes went to
 * the mount the link led to (/proc) and the "read-only" bind of a host directory (the build context, a committed
 * snapshot) stayed writable, suid and dev. runc attaches its bind mounts from a mount fd the same way.
 */
void bind_tree(int src, int dst, unsigned long long attr_set, const char *what) {
  int tree = open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  if (tree < 0) fail("open_tree", what, errno);
  struct mount_attr attr = { .attr_set = attr_set };
  if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) != 0) fail("mount_setattr", what, errno);
  if (move_mount(tree, "", dst, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) fail("move_mount", what, errno);
  close(tree);
}

// A bind whose source is resolved inside the directory srcroot (an fd the caller keeps). The new mount and every
// mount under it (the source's submounts come along, as with MS_REC) get nosuid,nodev, and rdonly when asked: a
// plain MS_REMOUNT|MS_RDONLY only changes the top mount and would leave submounts of the source writable (runc's
// "rro" closes the same gap with mount_setattr(AT_RECURSIVE)).
static void mount_bind_fd(int rootfd, const char *root, const struct mount_entry *m, int srcroot) {
  int src = open_in_root(srcroot, m->src_path, O_PATH);
  if (src < 0) fail("openat2", m->src_path, errno);
  struct stat st;
  if (fstat(src, &st) != 0) fail("fstat", m->src_path, errno);
  int dst = ensure_target(rootfd, root, m->target, S_ISDIR(st.st_mode));
  bind_tree(src, dst, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (m->readonly ? MOUNT_ATTR_RDONLY : 0) | (m->noexec ? MOUNT_ATTR_NOEXEC : 0),
            m->target);
  close(dst);
  close(src);
}

static void mount_bind(int rootfd, const char *root, const struct mount_entry *m) {
  int srcroot = open(m->src_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (srcroot < 0) fail("open", m->src_root, errno);
  mount_bind_fd(rootfd, root, m, srcroot);
  close(srcroot);
}

// The scratch tmpfs: small (the /etc files, a mount point and the step's secrets), only root may enter it, gone
// with the namespace. Its size is SCRATCH_KIB plus room for every secret, each up to MAX_SECRET_BYTES.
#define SCRATCH_KIB 16384
#define SCRATCH_DATA "mode=0700,size=%zuk,nr_inodes=4096"

/**
 * Mounts the step's private tmpfs on s->scratch (this mount namespace only: / is private by now) and, when the
 * rootfs has no dst of its own, makes scratch/root its mount point. What is created here never touches a disk and
 * needs no clean-up: pivot_root leaves the scratch tmpfs in the old root, which is detached.
 */
void mount_scratch(struct spec *s) {
  if (s->scratch == NULL) return;
  size_t kib = SCRATCH_KIB;
  for (size_t i = 0; i < s->nmounts; i++)
    if (s->mounts[i].kind == M_SECRET) kib += (s->mounts[i].len + 4095) / 4096 * 4;   /* tmpfs counts whole pages */
  char data[64];
  snprintf(data, sizeof(data), SCRATCH_DATA, kib);
  if (mount("tmpfs", s->scratch, "tmpfs", MS_NOSUID | MS_NODEV, data) != 0) fail("mount", s->scratch, errno);
  s->scratch_fd = open(s->scratch, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (s->scratch_fd < 0) fail("open", s->scratch, errno);
  if (s->rootfs.dst[0] != '\0') return;
  if (mkdirat(s->scratch_fd, "root", 0755) != 0) fail("mkdirat", "scratch/root", errno);
  size_t len = strlen(s->scratch) + sizeof("/root");
  char *dst = malloc(len);
  if (dst == NULL) fail("malloc", "scratch", ENOMEM);
  snprintf(dst, len, "%s/root", s->scratch);
  s->rootfs.dst = dst;
}

// Creates scratch/<name> (a tmpfs this process just made: nothing of the build's in it) holding len bytes of data,
// owned uid:gid (-1: the helper's own) with `mode` (set on the open fd: the umask must not decide it), and binds it
// onto m->target.
static void mount_scratch_file(int rootfd, const char *root, const struct mount_entry *m, int scratchfd, const char *name,
                               size_t len, uid_t uid, gid_t gid, mode_t mode, bool readonly, bool noexec) {
  int fd = openat(scratchfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) fail("openat", m->target, errno);
  if (fchown(fd, uid, gid) != 0) fail("fchown", m->target, errno);
  if (fchmod(fd, mode) != 0) fail("fchmod", m->target, errno);
  for (size_t off = 0; off < len;) {
    ssize_t w = write(fd, m->data + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) fail("write", m->target, errno);
    off += (size_t)w;
  }
  close(fd);
  struct mount_entry bind = { .kind = M_BIND, .src_path = name, .target = m->target, .readonly = readonly, .noexec = noexec };
  mount_bind_fd(rootfd, root, &bind, scratchfd);
}

// An M_FILE (/etc/hosts and friends): root's, 0644, bound read-write like a read-write bind mount.
static void mount_file(int rootfd, const char *root, const struct mount_entry *m, int scratchfd, size_t index) {
  char name[32];
  snprintf(name, sizeof(name), "file-%zu", index);
  mount_scratch_file(rootfd, root, m, scratchfd, name, strlen(m->data), (uid_t)-1, (gid_t)-1, 0644, false, false);
}

// An M_SECRET, as BuildKit's secretMountInstance.Mount (solver/llbsolver/mounts/mount.go) makes one: the value in
// a tmpfs, never on a disk, chowned and chmodded (mode & 0777) as the mount asks, bound ro,nosuid,nodev,noexec.
// Ours is the step's scratch tmpfs, private to this mount namespace and gone with it even on SIGKILL.
static void mount_secret(int rootfd, const char *root, const struct mount_entry *m, int scratchfd, size_t index) {
  char name[32];
  snprintf(name, sizeof(name), "secret-%zu", index);
  mount_scratch_file(rootfd, root, m, scratchfd, name, m->len, m->uid, m->gid, m->mode & 0777, true, true);
}

/** Applies one spec mount inside the rootfs (not yet pivoted into); `index` numbers it in the spec. */
void mount_entry(int rootfd, const char *root, const struct mount_entry *m, int scratchfd, size_t index) {
  if (m->kind == M_BIND) {
    mount_bind(rootfd, root, m);
    return;
  }
  if (m->kind == M_FILE) {
    mount_file(rootfd, root, m, scratchfd, index);
    return;
  }
  if (m->kind == M_SECRET) {
    mount_secret(rootfd, root, m, scratchfd, index);
    return;
  }
  int dst = ensure_target(rootfd, root, m->target, true);
  char b[32];
  if (mount("tmpfs", fd_path(dst, b), "tmpfs", MS_NOSUID | MS_NODEV, m->data) != 0) fail("mount", m->target, errno);
  close(dst);
}
