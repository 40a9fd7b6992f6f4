// The device allow-list on cgroup v2, where there is no devices controller: a BPF_CGROUP_DEVICE program attached
// to the step's cgroup, as runc's libcontainer/cgroups/devices/devicefilter.go builds it. The kernel runs it on
// every open/mknod of a device node by a process in the cgroup; it returns 1 (allow) or 0 (EPERM).
//
// Only exercised on cgroup v2 hosts: on v1 (and hybrid) hosts the driver writes devices.deny/devices.allow.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tsbuild-run.h"

#define MAX_INSNS (8 + 8 * MAX_DEVICE_RULES)

struct prog { struct bpf_insn insn[MAX_INSNS]; int n; };

static void emit(struct prog *p, __u8 code, __u8 dst, __u8 src, __s16 off, __s32 imm) {
  if (p->n >= MAX_INSNS) fail("bpf", "device program too long", E2BIG);
  p->insn[p->n++] = (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
}

static int access_bits(const char *access) {
  int bits = 0;
  for (const char *c = access; *c != '\0'; c++) {
    if (*c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
    else if (*c == 'r') bits |= BPF_DEVCG_ACC_READ;
    else if (*c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
    else fail("spec", "device.access", EINVAL);
  }
  return bits;
}

// One allow rule: a block of conditional jumps to the next block, then "return 1". The jump offsets are only
// known once the block is complete, so they are patched at its end.
static void emit_rule(struct prog *p, const struct device_rule *r) {
  int start = p->n;
  int bits = access_bits(r->access);
  const int all = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
  if (r->type != 'a') emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
  if (bits != all) {
    emit(p, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);       // r1 = requested access
    emit(p, BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_1, 0, 0, all & ~bits);     // any bit the rule does not grant?
    emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_1, 0, 0, 0);
  }
  if (r->major >= 0) emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, r->major);
  if (r->minor >= 0) emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, r->minor);
  emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
  emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  for (int i = start; i < p->n - 2; i++)
    if (BPF_CLASS(p->insn[i].code) == BPF_JMP && BPF_OP(p->insn[i].code) == BPF_JNE) p->insn[i].off = (__s16)(p->n - i - 1);
}

static void build(struct prog *p, const struct spec *s) {
  p->n = 0;
  // struct bpf_cgroup_dev_ctx { u32 access_type; /* (access << 16) | type */ u32 major; u32 minor; }
  emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);
  emit(p, BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);              // r2 = type
  emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0);
  emit(p, BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);                  // r3 = access
  emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0);              // r4 = major
  emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0);              // r5 = minor
  for (size_t i = 0; i < s->ndevices; i++) emit_rule(p, &s->devices[i]);
  emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);                   // nothing matched: deny
  emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/** Loads the spec's device allow-list as a BPF program and attaches it to the spec's cgroup v2 directory. */
void attach_device_filter(const struct spec *s) {
  static struct prog p;
  build(&p, s);
  union bpf_attr load;
  memset(&load, 0, sizeof(load));
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = (__u64)(unsigned long)p.insn;
  load.insn_cnt = (__u32)p.n;
  load.license = (__u64)(unsigned long)"Apache";
  int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
  if (prog < 0) {
    // Load again with the verifier's log only to explain the refusal (a log that does not fit fails with ENOSPC,
    // so it is not asked for on the first try).
    int err = errno;
    static char log[65536];
    load.log_buf = (__u64)(unsigned long)log;
    load.log_size = sizeof(log);
    load.log_level = 1;
    if (syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load)) < 0 && log[0] != '\0') fail("bpf", log, err);
    fail("bpf", "BPF_PROG_LOAD", err);
  }
  int cg = open(s->devcgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) fail("open", s->devcgroup, errno);
  union bpf_attr attach;
  memset(&attach, 0, sizeof(attach));
  attach.target_fd = (__u32)cg;
  attach.attach_bpf_fd = (__u32)prog;
  attach.attach_type = BPF_CGROUP_DEVICE;
  // ALLOW_MULTI: an ancestor's program (systemd's, say) still runs too; the kernel allows only what all allow.
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof(attach)) != 0) fail("bpf", "BPF_PROG_ATTACH", errno);
  close(cg);
  close(prog); // the attachment holds the program until the cgroup is removed
}
