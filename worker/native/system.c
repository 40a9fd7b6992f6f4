// The mounts every container gets (/proc, a private /dev, /sys), the switch into the rootfs, and runc's default
// masked and read-only /proc and /sys paths.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
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

// /dev is a fresh tmpfs so nothing created in it reaches the layer.
static void mount_dev(int rootfd, const char *root, unsigned long long shm_kib, bool insecure) {
  mount_at(ensure_target(rootfd, root, "/dev", true), "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
           "mode=755,size=65536k", "/dev");
  int dev = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY);
  if (dev < 0) fail("openat2", "/dev", errno);
  for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) make_device(dev, i);
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

/**
 * Mounts /proc (the new pid namespace's), /dev and /sys (read-only unless privileged) into the rootfs. sysfs can only be mounted by
 * the owner of the current network namespace; when that fails we bind the host's /sys read-only instead — the one
 * documented fallback.
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

/** Hides kernel interfaces a build step has no business with. A path the kernel does not have is skipped. */
void mask_paths(void) {
  struct stat st;
  for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]); i++) {
    if (stat(masked[i], &st) != 0) {
      if (errno == ENOENT) continue;
      fail("stat", masked[i], errno);
    }
    int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", masked[i], "tmpfs", MS_RDONLY, "size=0")
                                 : mount("/dev/null", masked[i], NULL, MS_BIND, NULL);
    if (rc != 0) fail("mount", masked[i], errno);
  }
  for (size_t i = 0; i < sizeof(readonly) / sizeof(readonly[0]); i++) {
    if (mount(readonly[i], readonly[i], NULL, MS_BIND | MS_REC, NULL) != 0) {
      if (errno == ENOENT) continue;
      fail("mount", readonly[i], errno);
    }
    if (mount(NULL, readonly[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | PROC_FLAGS, NULL) != 0)
      fail("remount", readonly[i], errno);
  }
}
