/*
 * rlwork.c - memory-pressure helper for scripts/capture-kernel-trace.sh.
 *
 * Runs inside the capture guest (busybox initramfs), so it is built with
 * `gcc -O2 -static` and uses nothing beyond libc.  Each sub-command creates one
 * kind of reclaimable kernel or user memory:
 *
 *   rlwork hog  TOTAL_MB STEP_MB PAUSE_MS
 *       mmap and touch TOTAL_MB of anonymous memory, STEP_MB at a time, pausing
 *       PAUSE_MS after each step; exits (freeing it all) when done.  Every page
 *       gets a non-zero byte so zram cannot store it as a "same-filled" page.
 *   rlwork mk   DIR COUNT     create files 0 .. COUNT-1 (new inodes + dentries)
 *   rlwork stat DIR COUNT     stat() files 0 .. COUNT-1 (pull inodes back into the icache)
 *                             File i is DIR/dNNN/fNNNNNNN with NNN = i / 1000 and
 *                             NNNNNNN = i: 1000 files per subdirectory keep
 *                             `mkfs.ext4 -d` fast when it builds the disk image.
 *   rlwork neg  DIR COUNT     stat() DIR/neg0000000 .., names that do not exist
 *                             (negative dentries)
 *   rlwork read FILE [MAX_MB] read FILE in 1 MiB chunks (page cache), to the end or
 *                             until MAX_MB have been read
 *
 * Each sub-command prints one summary line on stderr.  Exit status: 0 on
 * success, 1 if a system call failed outright, 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FILES_PER_DIR 1000

static void usage(void)
{
    fputs("usage: rlwork hog TOTAL_MB STEP_MB PAUSE_MS\n"
          "       rlwork mk|stat|neg DIR COUNT\n"
          "       rlwork read FILE [MAX_MB]\n", stderr);
}

static long num(const char *s, const char *what)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 0) {
        fprintf(stderr, "rlwork: bad %s '%s' (want a non-negative integer)\n", what, s);
        exit(2);
    }
    return v;
}

static void pause_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

static int hog(long total_mb, long step_mb, long pause)
{
    long done = 0;

    if (step_mb == 0)
        step_mb = 1;
    while (done < total_mb) {
        size_t len = (size_t)step_mb << 20;
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED) {
            fprintf(stderr, "rlwork hog: mmap after %ld MB: %s\n", done, strerror(errno));
            return 1;
        }
        for (size_t off = 0; off < len; off += 4096)
            p[off] = (char)((off >> 12) | 1);
        done += step_mb;
        if (pause)
            pause_ms(pause);
    }
    fprintf(stderr, "rlwork hog: %ld MB touched\n", done);
    return 0;
}

static int names(const char *cmd, const char *dir, long count)
{
    char path[4096];
    struct stat st;
    long ok = 0;
    int create = !strcmp(cmd, "mk"), negative = !strcmp(cmd, "neg");

    for (long i = 0; i < count; i++) {
        if (negative)
            snprintf(path, sizeof path, "%s/neg%07ld", dir, i);
        else
            snprintf(path, sizeof path, "%s/d%03ld/f%07ld", dir, i / FILES_PER_DIR, i);
        if (create && i % FILES_PER_DIR == 0) {
            char sub[4096];

            snprintf(sub, sizeof sub, "%s/d%03ld", dir, i / FILES_PER_DIR);
            if (mkdir(sub, 0755) && errno != EEXIST) {
                fprintf(stderr, "rlwork mk: %s: %s\n", sub, strerror(errno));
                return 1;
            }
        }
        if (create) {
            int fd = open(path, O_CREAT | O_WRONLY, 0644);

            if (fd < 0) {
                fprintf(stderr, "rlwork mk: %s: %s\n", path, strerror(errno));
                return 1;
            }
            close(fd);
            ok++;
        } else if (stat(path, &st) == 0) {
            ok++;
        }
    }
    fprintf(stderr, "rlwork %s %s: %ld of %ld names %s\n", cmd, dir, ok, count,
            negative ? "existed (want 0)" : "ok");
    return 0;
}

static int readfile(const char *file, long max_mb)
{
    static char buf[1 << 20];
    long long total = 0, limit = max_mb > 0 ? (long long)max_mb << 20 : -1;
    ssize_t n = 0;
    int fd = open(file, O_RDONLY);

    if (fd < 0) {
        fprintf(stderr, "rlwork read: %s: %s\n", file, strerror(errno));
        return 1;
    }
    while ((limit < 0 || total < limit) && (n = read(fd, buf, sizeof buf)) > 0)
        total += n;
    close(fd);
    if (n < 0) {
        fprintf(stderr, "rlwork read: %s: %s\n", file, strerror(errno));
        return 1;
    }
    fprintf(stderr, "rlwork read %s: %lld MB\n", file, total >> 20);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "hog"))
        return hog(num(argv[2], "TOTAL_MB"), num(argv[3], "STEP_MB"), num(argv[4], "PAUSE_MS"));
    if (argc == 4 && (!strcmp(argv[1], "mk") || !strcmp(argv[1], "stat") || !strcmp(argv[1], "neg")))
        return names(argv[1], argv[2], num(argv[3], "COUNT"));
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "read"))
        return readfile(argv[2], argc == 4 ? num(argv[3], "MAX_MB") : 0);
    usage();
    return 2;
}
