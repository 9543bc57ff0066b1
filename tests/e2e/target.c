/* A target process for the end-to-end tests.
 *
 *   target [--plain] [--nested] [--nondumpable] READY_FILE
 *
 * Default: unshare(CLONE_NEWUSER) once. --plain: no new namespace.
 * --nested: a child namespace whose own child holds the process (the target
 * is then in a grandchild of the caller's namespace). --nondumpable:
 * prctl(PR_SET_DUMPABLE, 0) after unsharing. Writes "ok" to READY_FILE once
 * set up, then sleeps until killed (at most 120 s). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        perror(path);
        exit(3);
    }
    close(fd);
}

int main(int argc, char **argv) {
    int plain = 0, nested = 0, nondumpable = 0;
    const char *ready = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--plain")) plain = 1;
        else if (!strcmp(argv[i], "--nested")) nested = 1;
        else if (!strcmp(argv[i], "--nondumpable")) nondumpable = 1;
        else ready = argv[i];
    }
    if (!ready) return 2;
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
    int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, "ok", 2) != 2) { perror(ready); return 3; }
    close(fd);
    sleep(120);
    return 0;
}
