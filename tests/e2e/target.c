// SPDX-License-Identifier: Apache-2.0 OR MIT
/* A target process for the end-to-end tests.
 *
 *   target [--plain] [--nested] [--nondumpable] [--threaded] [--zombie] READY_FILE
 *
 * Default: unshare(CLONE_NEWUSER) once. --plain: no new namespace.
 * --nested: a child namespace whose own child holds the process (the target
 * is then in a grandchild of the caller's namespace). --nondumpable:
 * prctl(PR_SET_DUMPABLE, 0) after unsharing. --threaded: starts a second
 * thread after unsharing and writes its thread ID (instead of "ok") to
 * READY_FILE. --zombie: no namespace for this process; its one child
 * unshares and exits, and is never reaped (a zombie in a new user
 * namespace: `ps --ppid TARGET` names it). Writes "ok" to READY_FILE once
 * set up, then sleeps until killed (at most 120 s). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        perror(path);
        exit(3);
    }
    close(fd);
}

static pid_t thread_id;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t started = PTHREAD_COND_INITIALIZER;

static void *thread_main(void *unused) {
    (void)unused;
    pthread_mutex_lock(&lock);
    thread_id = gettid();
    pthread_cond_signal(&started);
    pthread_mutex_unlock(&lock);
    sleep(120);
    return NULL;
}

int main(int argc, char **argv) {
    int plain = 0, nested = 0, nondumpable = 0, threaded = 0, zombie = 0;
    const char *ready = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--plain")) plain = 1;
        else if (!strcmp(argv[i], "--nested")) nested = 1;
        else if (!strcmp(argv[i], "--nondumpable")) nondumpable = 1;
        else if (!strcmp(argv[i], "--threaded")) threaded = 1;
        else if (!strcmp(argv[i], "--zombie")) zombie = 1;
        else ready = argv[i];
    }
    if (!ready) return 2;
    if (zombie) {
        plain = 1;
        pid_t child = fork();
        if (child < 0) { perror("fork"); return 3; }
        if (child == 0) _exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 3);
        siginfo_t info;
        /* Wait for the exit without reaping (WNOWAIT keeps the zombie). */
        if (waitid(P_PID, child, &info, WEXITED | WNOWAIT) != 0) { perror("waitid"); return 3; }
        if (info.si_status != 0) { fprintf(stderr, "unshare failed in child\n"); return 3; }
    }
    if (!plain) {
        unsigned uid = getuid(), gid = getgid();
        if (unshare(CLONE_NEWUSER) != 0) { perror("unshare"); return 3; }
        if (nested) {
            char map[64];
            /* Map ourselves so a nested namespace may be created. */
            write_file("/proc/self/setgroups", "deny");
            snprintf(map, sizeof map, "%u %u 1", uid, uid);
            write_file("/proc/self/uid_map", map);
            snprintf(map, sizeof map, "%u %u 1", gid, gid);
            write_file("/proc/self/gid_map", map);
            if (unshare(CLONE_NEWUSER) != 0) { perror("unshare nested"); return 3; }
        }
    }
    if (nondumpable && prctl(PR_SET_DUMPABLE, 0) != 0) { perror("prctl"); return 3; }
    char text[32] = "ok";
    if (threaded) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, thread_main, NULL) != 0) { perror("pthread_create"); return 3; }
        pthread_mutex_lock(&lock);
        while (thread_id == 0) pthread_cond_wait(&started, &lock);
        pthread_mutex_unlock(&lock);
        snprintf(text, sizeof text, "%d", (int)thread_id);
    }
    int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) { perror(ready); return 3; }
    close(fd);
    sleep(120);
    return 0;
}
