// The mounts every container gets (/proc, a private /dev, /sys with the step's own cgroups), the switch into the
// rootfs, and runc's default masked and read-only /proc and /sys paths.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "tsbuild-run.h"

#define PROC_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

// Creates name (an empty file or a directory) in a directory we just mounted ourselves, and opens it O_PATH.
static int create_in(int dirfd, const char *name, bool isdir, mode_t mode) {
  int rc;
  if (isdir) rc = mkdirat(dirfd, name, mode);
  else {
    rc = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
    if (rc >= 0) rc = close(rc);
  }
  if (rc != 0) fail(isdir ? "mkdirat" : "creat", name, errno);
  int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail("openat", name, errno);
  return fd;
}

static void mount_at(int fd, const char *source, const char *fstype, unsigned long flags, const char *data,
                     const char *what) {
  char p[32];
  if (mount(source, fd_path(fd, p), fstype, flags, data) != 0) fail("mount", what, errno);
  close(fd);
}

// runc's default devices (libcontainer/specconv AllowedDevices): character devices, 0666, root's.
static const struct { const char *name; unsigned int major, minor; } devices[] = {
  { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

// A device node of the container's own, made in the /dev tmpfs, as runc's createDeviceNode does. A bind mount of
// the host's node would share its inode: `RUN chmod 0600 /dev/null` (or chown, touch) changed the host's
// /dev/null for every process on the machine. In a user namespace (rootless) the kernel refuses mknod with EPERM
// and runc binds the host's node instead; there the step's root cannot change that root-owned inode.
static void make_device(int dev, size_t i) {
  const char *name = devices[i].name;
  if (mknodat(dev, name, S_IFCHR | 0666, makedev(devices[i].major, devices[i].minor)) == 0) {
    // The umask (022) took the group and other write bits; nothing but this process writes this fresh tmpfs.
    if (fchmodat(dev, name, 0666, 0) != 0) fail("fchmodat", name, errno);
    return;
  }
  if (errno != EPERM) fail("mknodat", name, errno);
  char host[32];
  snprintf(host, sizeof(host), "/dev/%s", name);
  mount_at(create_in(dev, name, false, 0666), host, NULL, MS_BIND, NULL, host);
}

// The nodes BuildKit adds for security=insecure when not in a user namespace (util/entitlements/security
// WithInsecureSpec): dmesg, FUSE and CUSE, KVM, TUN/TAP, and loop devices for `mount -o loop`. Made as runc makes a
// spec's devices (mknod, 0666, root's); the step's cgroup allows every device, as WithInsecureSpec's rule does.
static const struct { const char *name; unsigned int major, minor; } insecure_devices[] = {
  { "kmsg", 1, 11 }, { "cuse", 10, 203 }, { "fuse", 10, 229 }, { "kvm", 10, 232 }, { "net/tun", 10, 200 },
  { "loop-control", 10, 237 },
};

static void make_node(int dev, const char *name, mode_t type, unsigned int major, unsigned int minor) {
  if (mknodat(dev, name, type | 0666, makedev(major, minor)) != 0) fail("mknodat", name, errno);
  if (fchmodat(dev, name, 0666, 0) != 0) fail("fchmodat", name, errno);
}

// BuildKit's getFreeLoopID: the host's first free loop device (LOOP_CTL_GET_FREE); 0 when it cannot tell, as BuildKit
// goes on with 0 then. Nodes loop0 … loopN+7 follow, so a step has eight free ones to attach.
static int free_loop_id(void) {
  int fd = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (fd < 0) return 0;
  int id = ioctl(fd, 0x4C82 /* LOOP_CTL_GET_FREE */);
  close(fd);
  return id < 0 ? 0 : id;
}

static void make_insecure_devices(int dev) {
  if (mkdirat(dev, "net", 0755) != 0) fail("mkdirat", "net", errno);
  for (size_t i = 0; i < sizeof(insecure_devices) / sizeof(insecure_devices[0]); i++)
    make_node(dev, insecure_devices[i].name, S_IFCHR, insecure_devices[i].major, insecure_devices[i].minor);
  int last = free_loop_id() + 7;
  for (int i = 0; i <= last; i++) {
    char name[32];
    snprintf(name, sizeof(name), "loop%d", i);
    make_node(dev, name, S_IFBLK, 7, (unsigned int)i);
  }
}

// The /dev/null node mount_dev just made (O_PATH), what mask_paths binds over the masked /proc files. The path
// "/dev/null" is not taken again at that point: a RUN mount on /dev (a bind from a stage, a cache an earlier step
// filled) goes on after mount_dev, and its `null` may be a link to a /proc/sys file, which mask_paths bound read-write
// over /proc/interrupts (runc's CVE-2025-31133; with kernel.core_pattern, a program run as root on the host).
static int null_fd = -1;

static void keep_null(int dev) {
  null_fd = openat(dev, "null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (null_fd < 0) fail("openat", "/dev/null", errno);
  struct stat st;
  if (fstat(null_fd, &st) != 0) fail("fstat", "/dev/null", errno);
  if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) fail("verify", "/dev/null", ENODEV);
}

// /dev is a fresh tmpfs so nothing created in it reaches the layer.
static void mount_dev(int rootfd, const char *root, unsigned long long shm_kib, bool insecure) {
  mount_at(ensure_target(rootfd, root, "/dev", true), "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
           "mode=755,size=65536k", "/dev");
  int dev = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY);
  if (dev < 0) fail("openat2", "/dev", errno);
  for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) make_device(dev, i);
  keep_null(dev);
  if (insecure) make_insecure_devices(dev);
  mount_at(create_in(dev, "pts", true, 0755), "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
           "newinstance,ptmxmode=0666,mode=0620,gid=5", "/dev/pts");
  // shm_kib 0: a RUN mount takes /dev/shm, and replaces this one as BuildKit's dedupMounts replaces a default mount
  // of the same destination (executor/oci/mounts.go); the directory stays, as its mount point.
  int shm = create_in(dev, "shm", true, 01777);
  if (shm_kib > 0) {
    char shm_data[64];
    snprintf(shm_data, sizeof(shm_data), "mode=1777,size=%lluk", shm_kib);
    mount_at(shm, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm_data, "/dev/shm");
  } else close(shm);
  mount_at(create_in(dev, "mqueue", true, 0755), "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
           "/dev/mqueue");
  static const char *const links[][2] = {
    { "pts/ptmx", "ptmx" }, { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
    { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
  };
  for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
    if (symlinkat(links[i][0], dev, links[i][1]) != 0) fail("symlinkat", links[i][1], errno);
  close(dev);
}

// /sys/fs/cgroup as Docker's containers have it (runc's mountCgroupV1/mountCgroupV2 with a cgroup namespace). This
// process joined the step's cgroups and then unshared its cgroup namespace (main.c), so a cgroup filesystem mounted
// now has as its root the cgroup this process is in: the step's own for the controllers it has one of (memory, pids,
// cpu, devices, cpuset with a --resource cpuset), tsbuild's for the others. Only the former are mounted: in any other
// hierarchy the root would be tsbuild's own cgroup, on a systemd host the names and statistics of the host's units
// and containers. A JVM or the Go runtime reads the step's limits (memory.limit_in_bytes, memory.max) where it looks
// for them, and nothing above the step's own cgroups is in reach.
#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)
// The tmpfs holds a directory and a few links per hierarchy; a privileged step, which may write to it, gets no more.
#define CGROUP_TMPFS_DATA "mode=755,size=64k"

// runc's test for a cgroup v2 host (cgroups.IsCgroup2UnifiedMode) and, on /sys/fs/cgroup/unified, for a hybrid one.
// A path of the host's mount namespace (this one is its copy): what the host has mounted, not the rootfs.
static bool is_cgroup2(const char *path) {
  struct statfs st;
  return statfs(path, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

// Mounts on fd (closed here). False when the kernel refuses: every caller goes on without that mount.
static bool try_mount_at(int fd, const char *source, const char *fstype, unsigned long flags, const char *data) {
  char p[32];
  bool ok = mount(source, fd_path(fd, p), fstype, flags, data) == 0;
  close(fd);
  return ok;
}

// Makes the directory `name` in the cgroup tmpfs cg and mounts fstype on it; a mount the kernel refuses takes its
// directory away again, so what the step sees holds only hierarchies that are there.
static bool mount_in(int cg, const char *name, const char *fstype, unsigned long flags, const char *data) {
  // EEXIST: a name taken already (a named hierarchy called like a controller); the first one keeps it.
  if (mkdirat(cg, name, 0755) != 0) {
    if (errno == EEXIST) return false;
    fail("mkdirat", name, errno);
  }
  int fd = openat(cg, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail("openat", name, errno);
  if (try_mount_at(fd, fstype, fstype, flags, data)) return true;
  if (unlinkat(cg, name, AT_REMOVEDIR) != 0) fail("rmdir", name, errno);
  return false;
}

// True when the step joined a cgroup of its own in the v1 hierarchy of `controllers` ("cpu,cpuacct"): one of the
// spec's cgroup.procs files is /sys/fs/cgroup/<one of them>/... (the driver writes them so, `cpu` for cpu,cpuacct).
static bool has_own_cgroup(const struct spec *s, const char *controllers) {
  char parts[256];
  if ((size_t)snprintf(parts, sizeof(parts), "%s", controllers) >= sizeof(parts)) return false;
  for (char *save = NULL, *c = strtok_r(parts, ",", &save); c != NULL; c = strtok_r(NULL, ",", &save)) {
    if (strncmp(c, "name=", 5) == 0) continue;
    size_t n = strlen(c);
    for (size_t i = 0; i < s->ncgroups; i++) {
      const char *path = s->cgroups[i];
      if (strncmp(path, CGROUP_ROOT "/", sizeof(CGROUP_ROOT)) == 0 && strncmp(path + sizeof(CGROUP_ROOT), c, n) == 0 &&
          path[sizeof(CGROUP_ROOT) + n] == '/')
        return true;
    }
  }
  return false;
}

// One v1 hierarchy as /proc/self/cgroup names it ("memory", "cpu,cpuacct", "name=systemd"): mounted on a directory
// of that name ("systemd" for a named one, mounted "none,name=systemd"), with a link per controller of a combined
// one ("cpu" and "cpuacct" -> "cpu,cpuacct"), as systemd lays out the host's and runc a container's. The kernel
// mounts an existing hierarchy only when asked for exactly its controllers, which this list gives.
static bool mount_v1_hierarchy(int cg, const char *controllers, unsigned long flags) {
  bool named = strncmp(controllers, "name=", 5) == 0 && strchr(controllers, ',') == NULL;
  const char *dir = named ? controllers + 5 : controllers;
  // Hierarchy names may be "." or "..": no directory of the tmpfs may be named after one.
  if (dir[0] == '\0' || strcmp(dir, ".") == 0 || strcmp(dir, "..") == 0 || strchr(dir, '/') != NULL) return false;
  char data[256];
  if ((size_t)snprintf(data, sizeof(data), "%s%s", named ? "none," : "", controllers) >= sizeof(data)) return false;
  if (!mount_in(cg, dir, "cgroup", flags, data)) return false;
  if (named || strchr(controllers, ',') == NULL) return true;
  char parts[256];
  snprintf(parts, sizeof(parts), "%s", controllers);
  for (char *save = NULL, *c = strtok_r(parts, ",", &save); c != NULL; c = strtok_r(NULL, ",", &save)) {
    if (strncmp(c, "name=", 5) == 0) continue;
    if (symlinkat(controllers, cg, c) != 0 && errno != EEXIST) fail("symlinkat", c, errno);
  }
  return true;
}

// Every v1 hierarchy the kernel has (the "ID:controllers:path" lines of /proc/self/cgroup, but for the "0::" line of
// cgroup v2) that the step has a cgroup of its own in, each mounted in the tmpfs cg. Returns how many it mounted.
static size_t mount_v1_hierarchies(int cg, const struct spec *s, unsigned long flags) {
  FILE *f = fopen("/proc/self/cgroup", "re");
  if (f == NULL) fail("fopen", "/proc/self/cgroup", errno);
  size_t mounted = 0;
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) >= 0) {
    char *controllers = strchr(line, ':');
    char *end = controllers == NULL ? NULL : strchr(controllers + 1, ':');
    if (end == NULL || end == controllers + 1) continue;
    *end = '\0';
    if (has_own_cgroup(s, controllers + 1) && mount_v1_hierarchy(cg, controllers + 1, flags)) mounted++;
  }
  free(line);
  fclose(f);
  return mounted;
}

/**
 * Mounts the step's own cgroups on /sys/fs/cgroup of the fresh sysfs: on a cgroup v2 host cgroup2 itself, when the
 * step has a cgroup (rootless without a delegated one it has none: the root would be the user's session); on a v1
 * or hybrid host a tmpfs with each v1 hierarchy the step has a cgroup in, under its name (the hybrid host's v2
 * hierarchy, where steps get no cgroup, is not mounted).
 * nosuid,nodev,noexec and read-only as Docker mounts them; writable for a privileged step, as Docker's and
 * BuildKit's (WithWriteableCgroupfs) are. These mounts are informational, what a step reads about its own limits:
 * where the kernel refuses them (a user namespace, rootless, may lack the right to mount a hierarchy) the step goes
 * on with /sys/fs/cgroup as sysfs left it, an empty directory, as before they existed.
 */
static void mount_cgroups(int rootfd, const struct spec *s) {
  bool privileged = s->privileged;
  if (s->ncgroups == 0) return;
  unsigned long flags = CGROUP_FLAGS | (privileged ? 0 : MS_RDONLY);
  int fd = open_in_root(rootfd, CGROUP_ROOT, O_PATH | O_DIRECTORY);
  if (fd < 0) {
    if (errno == ENOENT) return;   // a kernel without cgroups: sysfs has no fs/cgroup
    fail("openat2", CGROUP_ROOT, errno);
  }
  if (is_cgroup2(CGROUP_ROOT)) {
    (void)try_mount_at(fd, "cgroup2", "cgroup2", flags, NULL);
    return;
  }
  if (!try_mount_at(fd, "tmpfs", "tmpfs", CGROUP_FLAGS, CGROUP_TMPFS_DATA)) return;
  // Opened again: the tmpfs just mounted, not the sysfs directory under it.
  int cg = open_in_root(rootfd, CGROUP_ROOT, O_PATH | O_DIRECTORY);
  if (cg < 0) fail("openat2", CGROUP_ROOT, errno);
  size_t mounted = mount_v1_hierarchies(cg, s, flags);
  char p[32];
  // Nothing mounted, or a tmpfs that would stay writable: the tmpfs goes, the hierarchies under it with it, and the
  // step sees the empty directory. MNT_DETACH: cg itself still holds the mount.
  bool keep = mounted > 0 && (privileged || mount(NULL, fd_path(cg, p), NULL,
                                                  MS_REMOUNT | MS_BIND | MS_RDONLY | CGROUP_FLAGS, NULL) == 0);
  if (!keep && umount2(fd_path(cg, p), MNT_DETACH) != 0) fail("umount2", CGROUP_ROOT, errno);
  close(cg);
}

/**
 * Mounts /proc (the new pid namespace's), /dev and /sys (read-only unless privileged, with the step's cgroups at
 * /sys/fs/cgroup) into the rootfs. sysfs can only be mounted by the owner of the current network namespace; when
 * that fails we bind the host's /sys read-only instead — the one documented fallback, which brings the host's cgroup
 * mounts along.
 */
void mount_system(int rootfd, const char *root, const struct spec *s) {
  bool privileged = s->privileged;
  unsigned long sys_flags = PROC_FLAGS | (privileged ? 0 : MS_RDONLY);
  mount_at(ensure_target(rootfd, root, "/proc", true), "proc", "proc", PROC_FLAGS, NULL, "/proc");
  mount_dev(rootfd, root, s->shm_kib, s->insecure_devices);
  int sys = ensure_target(rootfd, root, "/sys", true);
  char p[32];
  if (mount("sysfs", fd_path(sys, p), "sysfs", sys_flags, NULL) != 0) {
    if (mount("/sys", p, NULL, MS_BIND | MS_REC, NULL) != 0) fail("mount", "/sys", errno);
    int top = open_in_root(rootfd, "/sys", O_PATH);
    if (top < 0) fail("openat2", "/sys", errno);
    // The host's /sys comes with its submounts (/sys/fs/cgroup and its hierarchies, a user's delegated cgroup
    // among them): a remount would make only the top read-only, so the flags go on every mount of the tree at
    // once, as for a read-only bind (mounts.c) and runc's rootless "rbind,nosuid,noexec,nodev,ro" /sys.
    struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
                                           (privileged ? 0 : MOUNT_ATTR_RDONLY) };
    if (mount_setattr(top, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) != 0) fail("mount_setattr", "/sys", errno);
    close(top);
  } else {
    mount_cgroups(rootfd, s);
  }
  close(sys);
}

/** Makes root the container's "/" with pivot_root and detaches the old root, so no host path stays reachable. */
void enter_root(const char *root) {
  if (chdir(root) != 0) fail("chdir", root, errno);
  // pivot_root(".", ".") stacks the old root on top of the new one; unmounting "." then removes exactly it.
  if (syscall(SYS_pivot_root, ".", ".") != 0) fail("pivot_root", root, errno);
  if (umount2(".", MNT_DETACH) != 0) fail("umount2", "old root", errno);
  if (chdir("/") != 0) fail("chdir", "/", errno);
}

// runc's defaults (config.json "maskedPaths" / "readonlyPaths" as Docker generates them).
static const char *const masked[] = {
  "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
  "/sys/devices/virtual/powercap",
};
static const char *const readonly[] = {
  "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/**
 * Hides kernel interfaces a build step has no business with. A path the kernel does not have is skipped. Runs before
 * pivot_root, after the step's own mounts, as runc masks after the spec's mounts: each path is resolved inside the
 * rootfs (openat2 RESOLVE_IN_ROOT) once and mounted on through its fd, with this process's /proc (the host's, which no
 * step can mount over), so neither a target nor a source can be a path a RUN mount supplied, nor be swapped between
 * a mount and its remount (bind_tree).
 */
void mask_paths(int rootfd) {
  char a[32], b[32];
  struct stat st;
  for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
    int fd = open_in_root(rootfd, masked[i], O_PATH);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      fail("openat2", masked[i], errno);
    }
    if (fstat(fd, &st) != 0) fail("fstat", masked[i], errno);
    int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", fd_path(fd, b), "tmpfs", MS_RDONLY, "size=0")
                                 : mount(fd_path(null_fd, a), fd_path(fd, b), NULL, MS_BIND, NULL);
    if (rc != 0) fail("mount", masked[i], errno);
    close(fd);
  }
  for (size_t i = 0; i < sizeof(readonly) / sizeof(readonly[0]); i++) {
    int fd = open_in_root(rootfd, readonly[i], O_PATH);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      fail("openat2", readonly[i], errno);
    }
    bind_tree(fd, fd, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, readonly[i]);
    close(fd);
  }
  close(null_fd);
  null_fd = -1;
}
