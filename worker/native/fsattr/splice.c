/*
 * tsbuild-fsattr splice: whole files copied into given places of one output file by the kernel, for the OCI tarball
 * output. Node has no call that copies between two fds; through its buffers the 150 MB of a real-world image's
 * layers took 150-240 ms where copy_file_range takes 60 (bench/RESULTS.md, "The OCI tarball at the floor").
 *
 *   fd 3     the output, open for writing; it is written with offsets only (its file position is not used)
 *   stdin    jobs, each "SOURCE_FD\0OFFSET\0SIZE\0": SOURCE_FD an fd open for reading that the parent passed down;
 *            the source's whole content lands at OFFSET of the output, and it must hold exactly SIZE bytes
 *
 * Sources are the caller's own files (the content store's blobs, opened by it); no path is resolved here. The first
 * failure is reported on stderr as one JSON line {"op":..,"arg":"<job index>","errno":..} (a source of another size:
 * op "size", errno 0, and "size":<its size>) and the exit status is 1. Nothing is answered on success: exit 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUT_FD 3

/* `job`: the job's index (splice), 0 for exchange. */
static int failed(const char *op, size_t job) {
  fprintf(stderr, "{\"op\":\"%s\",\"arg\":\"%zu\",\"errno\":%d}\n", op, job, errno);
  return 1;
}

/* The plain way, for outputs copy_file_range refuses (another filesystem type, an old kernel). */
static ssize_t read_write(int in, off_t *in_off, off_t *out_off, size_t left) {
  static char buf[1 << 20];
  ssize_t got = pread(in, buf, left < sizeof buf ? left : sizeof buf, *in_off);
  if (got <= 0) return got;
  for (ssize_t put = 0; put < got;) {
    ssize_t n = pwrite(OUT_FD, buf + put, (size_t)(got - put), *out_off + put);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    put += n;
  }
  *in_off += got;
  *out_off += got;
  return got;
}

static int splice_one(size_t job, int in, off_t offset, off_t size, int *plain) {
  struct stat st;
  if (fstat(in, &st) != 0) return failed("fstat", job);
  if (!S_ISREG(st.st_mode)) { errno = EINVAL; return failed("source is not a regular file", job); }
  if (st.st_size != size) {
    fprintf(stderr, "{\"op\":\"size\",\"arg\":\"%zu\",\"errno\":0,\"size\":%lld}\n", job, (long long)st.st_size);
    return 1;
  }
  off_t in_off = 0, out_off = offset;
  while (in_off < size) {
    size_t left = (size_t)(size - in_off);
    ssize_t n = *plain ? read_write(in, &in_off, &out_off, left) : copy_file_range(in, &in_off, OUT_FD, &out_off, left, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (!*plain && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS)) { *plain = 1; continue; }
      return failed(*plain ? "write" : "copy_file_range", job);
    }
    if (n == 0) {
      /* Shorter than fstat said: the file was truncated while it was copied. */
      fprintf(stderr, "{\"op\":\"size\",\"arg\":\"%zu\",\"errno\":0,\"size\":%lld}\n", job, (long long)in_off);
      return 1;
    }
  }
  return 0;
}

static int number(const char *field, long long *out) {
  char *end;
  errno = 0;
  *out = strtoll(field, &end, 10);
  return errno == 0 && end != field && *end == '\0' && *out >= 0 ? 0 : -1;
}

int splice_main(void) {
  char *field = NULL;
  size_t cap = 0;
  long long job[3];
  int have = 0, plain = 0, rc = 0;
  size_t index = 0;
  ssize_t n;
  while (rc == 0 && (n = getdelim(&field, &cap, '\0', stdin)) > 0) {
    if (field[n - 1] != '\0' || number(field, &job[have]) != 0) { errno = EINVAL; rc = failed("read job", index); break; }
    if (++have < 3) continue;
    have = 0;
    rc = splice_one(index++, (int)job[0], (off_t)job[1], (off_t)job[2], &plain);
  }
  if (rc == 0 && have != 0) { errno = EINVAL; rc = failed("read job", index); }
  free(field);
  return rc;
}

/*
 * tsbuild-fsattr exchange NEW DEST: NEW (a complete output file) takes DEST's place in one step, as a rename would,
 * but through renameat2(RENAME_EXCHANGE), so that a reader sees the old file or the new one and never neither. A
 * rename over an existing file makes ext4 (auto_da_alloc) write the new file's data out before it returns: 270-440 ms
 * for a 150 MB tarball on this machine, every time an output is rebuilt to the same place. After the exchange NEW
 * names the old file, which the caller removes. DEST must be a regular file: anything else that took its place since
 * the caller looked is exchanged back, and EISDIR (a directory) or EINVAL is reported, so the caller's plain rename
 * decides as before. Then NEW, the old file, is removed by a child left to it: freeing a 150 MB file that was just
 * written took 110-170 ms here (its page cache goes with it), which the build need not wait for. Paths are the user's
 * output and its temp file beside it, never inside a root.
 */
int exchange_main(const char *new_path, const char *dest) {
  if (renameat2(AT_FDCWD, new_path, AT_FDCWD, dest, RENAME_EXCHANGE) != 0) return failed("renameat2", 0);
  struct stat st;
  int found = lstat(new_path, &st) == 0;
  if (found && S_ISREG(st.st_mode)) {
    /* The child is not bound to our parent's death (a fork clears PR_SET_PDEATHSIG): the unlink outlives the build. */
    pid_t child = fork();
    if (child == 0) _exit(unlink(new_path) == 0 ? 0 : 1);
    if (child < 0 && unlink(new_path) != 0) return failed("unlink", 0);
    return 0;
  }
  if (renameat2(AT_FDCWD, new_path, AT_FDCWD, dest, RENAME_EXCHANGE) != 0) return failed("renameat2 (back)", 0);
  errno = found && S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
  return failed("not a regular file", 0);
}
