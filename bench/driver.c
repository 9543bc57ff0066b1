// SPDX-License-Identifier: Apache-2.0 OR MIT
/*
 * newidmap benchmark driver. Built by bench/run.sh with `cc -O2 -static`
 * (static and small on purpose: see "ru_maxrss" below) and run as the
 * unprivileged fixture user inside the benchmark's private mount namespace.
 *
 *   driver lat  KIND LINES ROUNDS TAG OURS SHADOW FLOOR
 *   driver tput KIND LINES NPAR SECONDS ROUNDS TAG OURS SHADOW FLOOR
 *   driver ref  ROUNDS NAME=PATH...
 *
 * KIND is uid or gid; LINES is 1, 2 or 340; a helper path of "-" skips it.
 * The caller's subordinate range must start at SUB_START (10000) with
 * SUB_COUNT (65536) IDs (bench/run.sh writes the fixtures that way).
 *
 * Latency: per round, every helper is called once, in an order that
 * alternates between rounds. Each call gets a fresh target: a forked child
 * that did unshare(CLONE_NEWUSER) and waits on a pipe. Only the helper is
 * timed: CLOCK_MONOTONIC around posix_spawn() (glibc: clone(CLONE_VM |
 * CLONE_VFORK) + execve) and wait4(). The target is created before the
 * clock starts; the map is read back from /proc/CHILD/{uid,gid}_map and
 * compared after it stops. The floor gets a target too (its map must stay
 * empty), so the untimed work is the same for every helper.
 * Output, one line per call (TSV):
 *   lat TAG HELPER ROUND POSITION NANOSECONDS MAXRSS_KIB MINOR_FAULTS
 *
 * Throughput: NPAR worker processes each loop {create target, spawn helper,
 * wait, verify map, reap target} for SECONDS; rounds alternate the helper
 * order. Output, one line per helper and round:
 *   tput TAG HELPER ROUND NPAR CALLS SECONDS_ELAPSED
 *
 * Start-up references: programs that do nothing (the floor, a dynamically
 * linked C no-op, a Rust no-op built like the helpers) spawned in rotating
 * order with the same 2-line argv and a fresh target each, to show what
 * dynamic loading and a language runtime cost before a helper's own work.
 * Output, one line per call:
 *   ref NAME ROUND NANOSECONDS MAXRSS_KIB MINOR_FAULTS
 *
 * ru_maxrss: the kernel counts the pre-exec address space too (exec_mmap
 * records the old mm's high-water RSS), and with a vfork-style spawn that is
 * this driver's. The driver is therefore static and allocation-free in the
 * timed path; the floor helper's figure shows the resulting baseline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SUB_START 10000u
#define SUB_COUNT 65536u
#define MAX_LINES 340
#define NHELPERS 3

static const char *helper_names[NHELPERS] = {"ours", "shadow", "floor"};
static const char *helper_paths[NHELPERS];
static const char *kind;          /* "uid" or "gid" */
static unsigned own_id;
static int nlines;
static unsigned exp_inner[MAX_LINES], exp_outer[MAX_LINES], exp_count[MAX_LINES];
static char *argvbuf[2 + 3 * MAX_LINES + 1];
static char numbuf[3 * MAX_LINES][16];
static char pidarg[16];
static char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};

static void die(const char *what)
{
    fprintf(stderr, "driver: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void fail(const char *msg)
{
    fprintf(stderr, "driver: %s\n", msg);
    exit(3);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The request: 1 line maps the caller's own ID; 2 lines add the usual
 * 65536 subordinate IDs; 340 lines add 339 one-ID lines with short numbers
 * so that the map fits the kernel's 4095-byte write. */
static void build_request(void)
{
    int n = 0;
    exp_inner[n] = 0; exp_outer[n] = own_id; exp_count[n] = 1; n++;
    if (nlines == 2) {
        exp_inner[n] = 1; exp_outer[n] = SUB_START; exp_count[n] = SUB_COUNT; n++;
    } else if (nlines == MAX_LINES) {
        for (unsigned i = 1; i < MAX_LINES; i++) {
            exp_inner[n] = i; exp_outer[n] = SUB_START + i; exp_count[n] = 1; n++;
        }
    } else if (nlines != 1) {
        fail("LINES must be 1, 2 or 340");
    }
    int a = 0;
    argvbuf[a++] = strcmp(kind, "uid") == 0 ? "newuidmap" : "newgidmap";
    argvbuf[a++] = pidarg;
    for (int i = 0; i < n; i++) {
        unsigned v[3] = {exp_inner[i], exp_outer[i], exp_count[i]};
        for (int j = 0; j < 3; j++) {
            snprintf(numbuf[3 * i + j], sizeof numbuf[0], "%u", v[j]);
            argvbuf[a++] = numbuf[3 * i + j];
        }
    }
    argvbuf[a] = NULL;
}

struct target {
    pid_t pid;
    int go;   /* write end: closing it lets the target exit */
};

static struct target make_target(void)
{
    int ready[2], go[2];
    if (pipe2(ready, O_CLOEXEC) || pipe2(go, O_CLOEXEC))
        die("pipe");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        close(ready[0]);
        close(go[1]);
        char c = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1)
            _exit(1);
        while (read(go[0], &c, 1) < 0 && errno == EINTR) {
        }
        _exit(0);
    }
    close(ready[1]);
    close(go[0]);
    char c = 0;
    ssize_t r;
    while ((r = read(ready[0], &c, 1)) < 0 && errno == EINTR) {
    }
    close(ready[0]);
    if (r != 1 || c != 'y')
        fail("target: unshare(CLONE_NEWUSER) failed");
    struct target t = {pid, go[1]};
    return t;
}

static void end_target(struct target t)
{
    close(t.go);
    int st;
    while (waitpid(t.pid, &st, 0) < 0)
        if (errno != EINTR)
            die("waitpid target");
}

/* Reads the map back; the floor must leave it empty. */
static void verify(pid_t pid, int helper)
{
    char path[64], buf[16384];
    snprintf(path, sizeof path, "/proc/%d/%s_map", (int)pid, kind);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die(path);
    size_t len = 0;
    ssize_t r;
    while ((r = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += r;
    close(fd);
    buf[len] = 0;
    int want = helper == 2 ? 0 : nlines;
    int n = 0;
    char *p = buf;
    unsigned a, b, c;
    int used;
    while (sscanf(p, "%u %u %u%n", &a, &b, &c, &used) == 3) {
        if (n >= want || a != exp_inner[n] || b != exp_outer[n] || c != exp_count[n]) {
            fprintf(stderr, "driver: %s: unexpected map from %s:\n%s", path,
                    helper_names[helper], buf);
            exit(4);
        }
        n++;
        p += used;
    }
    if (n != want) {
        fprintf(stderr, "driver: %s: %d of %d lines after %s:\n%s", path, n, want,
                helper_names[helper], buf);
        exit(4);
    }
}

/* One call of PATH against TARGET: returns nanoseconds, stores ru_maxrss
 * (KiB) and minor faults; a failed call ends the run. */
static long long spawn_timed(const char *name, const char *path, pid_t target, long *maxrss,
                             long *minflt)
{
    snprintf(pidarg, sizeof pidarg, "%d", (int)target);
    pid_t pid;
    struct rusage ru;
    int st;
    long long t0 = now_ns();
    int err = posix_spawn(&pid, path, NULL, NULL, argvbuf, envp);
    if (err) {
        errno = err;
        die(path);
    }
    while (wait4(pid, &st, 0, &ru) < 0)
        if (errno != EINTR)
            die("wait4");
    long long t1 = now_ns();
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "driver: %s (%s) failed, status %#x\n", name, path, st);
        exit(5);
    }
    *maxrss = ru.ru_maxrss;
    *minflt = ru.ru_minflt;
    return t1 - t0;
}

static long long call_helper(int helper, pid_t target, long *maxrss, long *minflt)
{
    return spawn_timed(helper_names[helper], helper_paths[helper], target, maxrss, minflt);
}

/* Round r's order: rotations alternating with reversed rotations, so each
 * helper goes first, middle and last equally often. */
static void order_for_round(int r, int *order)
{
    int rot = (r / 2) % NHELPERS;
    for (int i = 0; i < NHELPERS; i++)
        order[i] = (i + rot) % NHELPERS;
    if (r % 2) {
        for (int i = 0; i < NHELPERS / 2; i++) {
            int t = order[i];
            order[i] = order[NHELPERS - 1 - i];
            order[NHELPERS - 1 - i] = t;
        }
    }
}

static int latency(int rounds, const char *tag)
{
    for (int r = 0; r < rounds; r++) {
        int order[NHELPERS];
        order_for_round(r, order);
        for (int pos = 0; pos < NHELPERS; pos++) {
            int h = order[pos];
            if (!helper_paths[h])
                continue;
            struct target t = make_target();
            long rss, flt;
            long long ns = call_helper(h, t.pid, &rss, &flt);
            verify(t.pid, h);
            end_target(t);
            printf("lat\t%s\t%s\t%d\t%d\t%lld\t%ld\t%ld\n", tag, helper_names[h], r, pos, ns, rss,
                   flt);
        }
        fflush(stdout);
    }
    return 0;
}

static void worker(int helper, double deadline, int startfd, int resfd)
{
    char c;
    if (read(startfd, &c, 1) < 0)
        _exit(1);
    long calls = 0;
    while (now() < deadline) {
        struct target t = make_target();
        long rss, flt;
        call_helper(helper, t.pid, &rss, &flt);
        verify(t.pid, helper);
        end_target(t);
        calls++;
    }
    double end = now();
    char line[64];
    int n = snprintf(line, sizeof line, "%ld %.9f\n", calls, end);
    if (write(resfd, line, n) != n)
        _exit(1);
    _exit(0);
}

static int throughput(int npar, double seconds, int rounds, const char *tag)
{
    for (int r = 0; r < rounds; r++) {
        int order[NHELPERS];
        order_for_round(r, order);
        for (int pos = 0; pos < NHELPERS; pos++) {
            int h = order[pos];
            if (!helper_paths[h])
                continue;
            int start[2], res[2];
            if (pipe2(start, O_CLOEXEC) || pipe2(res, O_CLOEXEC))
                die("pipe");
            /* Workers start together; the deadline is set after they exist. */
            double t0 = now() + 0.05;
            double deadline = t0 + seconds;
            for (int w = 0; w < npar; w++) {
                pid_t p = fork();
                if (p < 0)
                    die("fork");
                if (p == 0) {
                    close(start[1]);
                    close(res[0]);
                    worker(h, deadline, start[0], res[1]);
                }
            }
            close(start[0]);
            close(res[1]);
            while (now() < t0)
                usleep(1000);
            double begin = now();
            close(start[1]); /* EOF: go */
            FILE *f = fdopen(res[0], "r");
            long total = 0;
            double last = begin;
            long calls;
            double end;
            int got = 0;
            while (fscanf(f, "%ld %lf", &calls, &end) == 2) {
                total += calls;
                if (end > last)
                    last = end;
                got++;
            }
            fclose(f);
            int st, bad = 0;
            for (int w = 0; w < npar; w++) {
                if (wait(&st) < 0)
                    die("wait worker");
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                    bad = 1;
            }
            if (bad || got != npar)
                fail("a throughput worker failed");
            printf("tput\t%s\t%s\t%d\t%d\t%ld\t%.6f\n", tag, helper_names[h], r, npar, total,
                   last - begin);
            fflush(stdout);
        }
    }
    return 0;
}

static int reference(int rounds, int n, char **specs)
{
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < n; k++) {
            int i = (r % 2) ? n - 1 - (k + r / 2) % n : (k + r / 2) % n;
            char *eq = strchr(specs[i], '=');
            if (!eq)
                fail("ref: NAME=PATH expected");
            struct target t = make_target();
            long rss, flt;
            *eq = '\0';
            long long ns = spawn_timed(specs[i], eq + 1, t.pid, &rss, &flt);
            *eq = '=';
            end_target(t);
            printf("ref\t%.*s\t%d\t%lld\t%ld\t%ld\n", (int)(eq - specs[i]), specs[i], r, ns, rss,
                   flt);
        }
        fflush(stdout);
    }
    return 0;
}

static void set_helpers(char **paths)
{
    for (int i = 0; i < NHELPERS; i++)
        helper_paths[i] = strcmp(paths[i], "-") == 0 ? NULL : paths[i];
}

int main(int argc, char **argv)
{
    if (argc < 2)
        fail("usage: driver lat|tput ...");
    if (geteuid() == 0)
        fail("run me as the unprivileged fixture user, not root");
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(argv[1], "lat") == 0 && argc == 9) {
        kind = argv[2];
        nlines = atoi(argv[3]);
        int rounds = atoi(argv[4]);
        set_helpers(argv + 6);
        own_id = strcmp(kind, "uid") == 0 ? getuid() : getgid();
        build_request();
        return latency(rounds, argv[5]);
    }
    if (strcmp(argv[1], "tput") == 0 && argc == 11) {
        kind = argv[2];
        nlines = atoi(argv[3]);
        int npar = atoi(argv[4]);
        double seconds = atof(argv[5]);
        int rounds = atoi(argv[6]);
        set_helpers(argv + 8);
        own_id = strcmp(kind, "uid") == 0 ? getuid() : getgid();
        build_request();
        return throughput(npar, seconds, rounds, argv[7]);
    }
    if (strcmp(argv[1], "ref") == 0 && argc >= 4) {
        kind = "uid";
        nlines = 2;
        own_id = getuid();
        build_request();
        return reference(atoi(argv[2]), argc - 3, argv + 3);
    }
    fail("usage: driver lat KIND LINES ROUNDS TAG OURS SHADOW FLOOR | "
         "driver tput KIND LINES NPAR SECONDS ROUNDS TAG OURS SHADOW FLOOR | "
         "driver ref ROUNDS NAME=PATH...");
    return 2;
}
