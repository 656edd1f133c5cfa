/*
 * jcni-client: the executable a container runtime runs as a jcni CNI plugin.
 *
 * One binary, installed under each plugin's name (jcni-bridge, jcni-host-local, ...): the
 * plugin is argv[0]'s basename without the "jcni-" prefix. It reads stdin (at most
 * MAX_STDIN + 1 bytes, like the JVM path), sends the whole environment and those bytes to the
 * resident daemon (`jcni daemon`) over a Unix socket, writes the reply's stderr and stdout and
 * exits with the reply's code.
 *
 * Fallback only while the daemon cannot have acted. If the daemon cannot be reached (any connect
 * error: ENOENT, ECONNREFUSED, EACCES ..., or no connection within CONNECT_TIMEOUT_S), or the
 * request cannot be sent whole within SEND_TIMEOUT_S (the daemon never starts a request it has
 * not read whole), or the daemon closes the connection with the request still unread (the
 * kernel reports that as ECONNRESET), or it answers "not served", it execs the standalone JVM path described by the sidecar file `<dir>/.<name>.exec` written by
 * `jcni install`, with the stdin bytes already read replayed through a memfd: the JVM sees
 * exactly the bytes this process saw.
 *
 * Once the whole request was read by the daemon, it may have acted: a connection that ends
 * without a whole reply, or no reply within REPLY_TIMEOUT_S, is a CNI error (code 11, try
 * again later), never a second run of the request through the JVM.
 *
 * Wire protocol (all integers unsigned 32-bit big-endian; io.jcni.daemon.Protocol is the other end):
 *   request:  "JCQ1" | len name | count | count x (len "KEY=VALUE") | len stdin
 *   reply:    "JCR1" | code (signed; -1 = not served here, run standalone) | len stdout | len stderr
 *             | stdout | stderr
 *
 * Sidecar file: one item a line, "socket PATH" (optional), "argv ARG" (the command line, in
 * order: java, JVM flags, -cp, class path, main class) and "version-reply JSON" (optional: the
 * plugin's VERSION answer with "@V@" where the request's cniVersion goes). Lines starting with
 * '#' are comments.
 *
 * VERSION is answered here, with no daemon and no JVM, when the request is the one libcni sends
 * ({"cniVersion":"X"} exactly, X made of letters, digits, '.', '-', '+' and '_') and the sidecar
 * has the reply: runtimes such as podman ask every plugin for VERSION before each use. Any other
 * VERSION request goes the usual way, so the answer is always the plugin's own.
 * Socket path: $JCNI_SOCKET, else the sidecar's socket line, else /run/jcni/jcni.sock.
 *
 * libc only; build: cc -O2 -Wall -Wextra -Werror -o jcni-client jcni-client.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_STDIN (1 << 20)          /* io.jcni.cni.Skeleton.MAX_STDIN */
#define STDIN_LIMIT (MAX_STDIN + 1)  /* one more than allowed: enough to know it is too big */
#define MAX_OUTPUT (64 << 20)        /* bound on each of the reply's stdout and stderr */
#define MAX_CONF 65536
#define MAX_ARGS 254
#define DEFAULT_SOCKET "/run/jcni/jcni.sock"
#define NOT_SERVED (-1)
#define CONNECT_TIMEOUT_S 5   /* SO_SNDTIMEO bounds connect(2) on a Unix socket too */
#define SEND_TIMEOUT_S 10     /* the daemon allows 10 s for the whole request */
#define REPLY_TIMEOUT_S 300   /* > the daemon's longest request: two delegate runs of 60 s, lock waits */
#define FALLBACK (-2)         /* the daemon has not acted: run the standalone path */
#define LOST (-3)             /* the daemon may have acted: report an error */

extern char **environ;

/* write(2) until done: retries partial writes and EINTR. MSG_NOSIGNAL on sockets: a dead peer is EPIPE, not SIGPIPE. */
static int write_all(int fd, const void *buf, size_t len, int is_socket) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = is_socket ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* read(2) exactly len bytes; -1 on error or EOF before len (errno 0 for EOF). */
static int read_exact(int fd, void *buf, size_t len) {
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) errno = 0;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_u32(int fd, uint32_t v) {
    uint32_t be = htonl(v);
    return write_all(fd, &be, 4, 1);
}

static int send_bytes(int fd, const void *p, size_t len) {
    return send_u32(fd, (uint32_t)len) || write_all(fd, p, len, 1) ? -1 : 0;
}

static int read_u32(int fd, uint32_t *v) {
    uint32_t be;
    if (read_exact(fd, &be, 4)) return -1;
    *v = ntohl(be);
    return 0;
}

/* The sidecar file, parsed: argv for execv (NULL-terminated) and an optional socket path. */
static char conf_buf[MAX_CONF + 1];
static char *conf_argv[MAX_ARGS + 2];
static const char *conf_socket;
static const char *conf_version_reply;

static void read_conf(const char *path) {
    FILE *f = fopen(path, "re");
    if (!f) return;
    size_t n = fread(conf_buf, 1, MAX_CONF, f);
    fclose(f);
    conf_buf[n] = '\0';
    int argc = 0;
    for (char *line = conf_buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        if (strncmp(line, "argv ", 5) == 0 && argc < MAX_ARGS) conf_argv[argc++] = line + 5;
        else if (strncmp(line, "socket ", 7) == 0) conf_socket = line + 7;
        else if (strncmp(line, "version-reply ", 14) == 0) conf_version_reply = line + 14;
    }
    conf_argv[argc] = NULL;
}

static int set_timeout(int fd, int opt, int seconds) {
    struct timeval tv = {.tv_sec = seconds};
    return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/* Asks the daemon. Returns the exit code to use, FALLBACK (the JVM path) or LOST (an error). */
static int ask_daemon(const char *sock_path, const char *plugin, const char *in, size_t in_len) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(sock_path) >= sizeof(addr.sun_path)) return FALLBACK;
    strcpy(addr.sun_path, sock_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return FALLBACK;
    if (set_timeout(fd, SO_SNDTIMEO, CONNECT_TIMEOUT_S) || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0
        || set_timeout(fd, SO_SNDTIMEO, SEND_TIMEOUT_S) || set_timeout(fd, SO_RCVTIMEO, REPLY_TIMEOUT_S))
        goto fallback;

    size_t count = 0;
    for (char **e = environ; *e; e++) count++;
    /* a send that fails or times out: the daemon does not have the whole request, so it never starts it */
    if (write_all(fd, "JCQ1", 4, 1) || send_bytes(fd, plugin, strlen(plugin)) || send_u32(fd, (uint32_t)count))
        goto fallback;
    for (char **e = environ; *e; e++)
        if (send_bytes(fd, *e, strlen(*e))) goto fallback;
    if (send_bytes(fd, in, in_len)) goto fallback;

    char magic[4];
    uint32_t code, out_len, err_len;
    if (read_exact(fd, magic, 4)) {
        /* ECONNRESET: closed with our request unread (queued at shutdown, or too slow): nothing was done */
        if (errno == ECONNRESET) goto fallback;
        goto lost;
    }
    if (memcmp(magic, "JCR1", 4) || read_u32(fd, &code) || read_u32(fd, &out_len) || read_u32(fd, &err_len)
        || out_len > MAX_OUTPUT || err_len > MAX_OUTPUT)
        goto lost;
    if ((int32_t)code == NOT_SERVED) goto fallback;
    char *out = malloc((size_t)out_len + err_len + 1);
    if (!out) goto lost;
    if (read_exact(fd, out, (size_t)out_len + err_len)) {
        free(out);
        goto lost;
    }
    close(fd);
    /* the JVM path prints stderr (logs) first, then stdout */
    write_all(2, out + out_len, err_len, 0);
    write_all(1, out, out_len, 0);
    free(out);
    return (int)(code & 0xff);

fallback:
    close(fd);
    return FALLBACK;
lost:
    fprintf(stderr, "jcni-client: no whole reply from the jcni daemon at %s (%s) after it had the request\n", sock_path,
            errno == EAGAIN ? "timed out" : errno ? strerror(errno) : "connection closed");
    close(fd);
    return LOST;
}

/*
 * VERSION from the sidecar's reply when stdin is exactly {"cniVersion":"X"}. Returns 1 when it
 * answered, 2 when it could not write the answer, 0 when the request must go to the plugin.
 */
static int answer_version(const char *in, size_t in_len) {
    static const char head[] = "{\"cniVersion\":\"", tail[] = "\"}";
    const char *mark = conf_version_reply ? strstr(conf_version_reply, "@V@") : NULL;
    const char *cmd = getenv("CNI_COMMAND");
    if (!mark || !cmd || strcmp(cmd, "VERSION") != 0) return 0;
    size_t h = sizeof(head) - 1, t = sizeof(tail) - 1;
    if (in_len <= h + t || in_len - h - t > 32 || memcmp(in, head, h) != 0 || memcmp(in + in_len - t, tail, t) != 0) return 0;
    size_t vlen = in_len - h - t;
    for (size_t i = 0; i < vlen; i++) {
        char c = in[h + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == '+' || c == '_'))
            return 0;
    }
    const char *after = mark + 3;
    if (write_all(1, conf_version_reply, (size_t)(mark - conf_version_reply), 0) || write_all(1, in + h, vlen, 0)
        || write_all(1, after, strlen(after), 0) || write_all(1, "\n", 1, 0))
        return 2;
    return 1;
}

/* The standalone JVM path: stdin replayed from a memfd, then execv. Returns only on failure. */
static void exec_standalone(const char *conf_path, const char *in, size_t in_len, int replay, char **extra) {
    if (!conf_argv[0]) {
        fprintf(stderr, "jcni-client: the daemon is not reachable and %s has no standalone command (run jcni install)\n",
                conf_path);
        return;
    }
    if (replay) {
        int mfd = memfd_create("jcni-stdin", 0);
        if (mfd < 0 || write_all(mfd, in, in_len, 0) || lseek(mfd, 0, SEEK_SET) < 0 || dup2(mfd, 0) < 0) {
            perror("jcni-client: cannot replay stdin");
            return;
        }
        if (mfd != 0) close(mfd);
    }
    char *args[MAX_ARGS + 64];
    int argc = 0;
    for (char **a = conf_argv; *a; a++) args[argc++] = *a;
    for (char **a = extra; *a && argc < MAX_ARGS + 63; a++) args[argc++] = *a; /* the runtime's arguments, as "$@" did */
    args[argc] = NULL;
    execv(args[0], args);
    fprintf(stderr, "jcni-client: cannot exec %s: %s\n", args[0], strerror(errno));
}

int main(int argc, char **argv) {
    (void)argc;
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    const char *plugin = strncmp(name, "jcni-", 5) == 0 ? name + 5 : name;

    /* the sidecar lives next to the binary: <dir of /proc/self/exe>/.<name>.exec */
    char self[4096], conf_path[4096 + 300];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (sl < 0) sl = 0;
    self[sl] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    if (strlen(name) > 255) name = "jcni-client";
    snprintf(conf_path, sizeof(conf_path), "%s/.%s.exec", slash ? self : ".", name);
    read_conf(conf_path);

    /* stdin, bounded exactly as PluginMain.readBounded */
    char *in = malloc(STDIN_LIMIT);
    if (!in) {
        perror("jcni-client");
        return 1;
    }
    size_t in_len = 0;
    int read_error = 0;
    while (in_len < STDIN_LIMIT) {
        ssize_t n = read(0, in + in_len, STDIN_LIMIT - in_len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) read_error = 1;
        if (n <= 0) break;
        in_len += (size_t)n;
    }

    int answered = read_error ? 0 : answer_version(in, in_len);
    if (answered) return answered == 1 ? 0 : 1;
    if (!read_error) {
        const char *sock = getenv("JCNI_SOCKET");
        if (!sock || !*sock) sock = conf_socket ? conf_socket : DEFAULT_SOCKET;
        int code = ask_daemon(sock, plugin, in, in_len);
        if (code >= 0) return code;
        if (code == LOST) {
            /* the daemon may have done part of it: running it again here could act twice; the runtime retries */
            static const char lost[] = "{\n    \"cniVersion\": \"1.1.0\",\n    \"code\": 11,\n"
                                       "    \"msg\": \"jcni daemon connection lost after the request was sent; try again\"\n}\n";
            write_all(1, lost, sizeof(lost) - 1, 0);
            return 1;
        }
    }
    /* after a read error the JVM path meets it on the real stdin (unless some bytes were already consumed) */
    int replay = !read_error || in_len > 0;
    exec_standalone(conf_path, in, in_len, replay, argv + 1);
    /* no standalone path either: a CNI error the runtime can show (code 11: try again later) */
    static const char msg[] = "{\n    \"cniVersion\": \"1.1.0\",\n    \"code\": 11,\n"
                              "    \"msg\": \"jcni daemon not reachable and no standalone path\"\n}\n";
    write_all(1, msg, sizeof(msg) - 1, 0);
    return 1;
}
