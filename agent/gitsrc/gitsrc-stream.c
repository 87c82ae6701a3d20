/* gitsrc-stream.c - the plain TCP stream libgit2 connects through, with a
 * connect timeout and an idle timeout.
 *
 * libgit2 1.5 has no network timeout (GIT_OPT_SET_SERVER_TIMEOUT came in
 * 1.7): a Git server that accepts the connection and then stalls holds the
 * worker that asked it forever.  git_socket_stream_new() uses the stream
 * registered as GIT_STREAM_STANDARD, and it is what every transport of 1.5
 * opens its TCP connection with:
 *  - http:// reads and writes through it;
 *  - https:// too: the TLS stream (mbedTLS in Debian's build, OpenSSL
 *    elsewhere) makes its transport with git_socket_stream_new() and reads
 *    and writes it through git_stream_read/write;
 *  - ssh:// only connects through it: libssh2 then reads the socket itself
 *    (see struct gitsrc_stream), so an SSH server that stalls after the
 *    connection is not bounded here.
 * A server preparing a large pack sends progress or keepalives, so an idle
 * timeout (no byte either way) does not cut a slow but live transfer. */
#include "gitsrc/gitsrc-private.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/stream.h>

#include "gs-alloc.h"

#define CONNECT_TIMEOUT_S 30
#define IDLE_TIMEOUT_S 120
#define MAX_TIMEOUT_S 86400

/* What a read or write returns when the idle timeout fires: mbedTLS's
 * MBEDTLS_ERR_SSL_TIMEOUT.  For https:// Debian's libgit2 puts mbedTLS on
 * top of this stream, and it replaces our message with its own text for
 * the code it got: "UNKNOWN ERROR CODE (0001)" for -1, "The operation timed
 * out" for this one (gitsrc.c then restores ours).  Plain http:// passes
 * any negative value up unchanged and keeps our message.  (A libgit2 built
 * with OpenSSL still times out, but says "SSL error: syscall failure".) */
#define STREAM_ETIMEDOUT (-0x6800)

/* The first four members are libgit2 1.5's git_socket_stream, in its
 * order: the SSH transport casts the stream git_socket_stream_new() gave
 * it to that type and hands ->s to libssh2.  Keep them first and keep the
 * socket blocking between our calls, as libssh2 expects it. */
struct gitsrc_stream {
	git_stream parent;
	char *host;
	char *port;
	int s;
};

/* Set once by register_once(), read-only afterwards. */
static struct {
	int connect_s, idle_s;
	int rc;
} stream_cfg;
static pthread_once_t stream_once = PTHREAD_ONCE_INIT;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* poll() one event until deadline (ms, CLOCK_MONOTONIC), across EINTR.
 * 1 when ready (or in error: the next call says which), 0 on timeout,
 * -1 with errno. */
static int wait_for(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		long long left = deadline - now_ms();
		int r;

		if (left < 0)
			left = 0;
		r = poll(&p, 1, left > 1000000000 ? 1000000000 : (int)left);
		if (r >= 0)
			return r > 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Non-blocking connect, then wait up to deadline.  0, or -1 with errno
 * (ETIMEDOUT when the deadline passed). */
static int connect_one(int s, const struct addrinfo *ai, long long deadline)
{
	int flags = fcntl(s, F_GETFL, 0), soerr = 0, r;
	socklen_t len = sizeof(soerr);

	if (flags < 0 || fcntl(s, F_SETFL, flags | O_NONBLOCK) < 0)
		return -1;
	if (connect(s, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS)
			return -1;
		r = wait_for(s, POLLOUT, deadline);
		if (r < 0)
			return -1;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			return -1;
		if (soerr) {
			errno = soerr;
			return -1;
		}
	}
	/* blocking again: libssh2 reads this socket itself (see the struct) */
	return fcntl(s, F_SETFL, flags);
}

static int stream_connect(git_stream *stream)
{
	struct gitsrc_stream *st = (struct gitsrc_stream *)stream;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *info = NULL, *ai;
	long long deadline = now_ms() + (long long)stream_cfg.connect_s * 1000;
	int r, last_errno = 0;
	char msg[512];

	r = getaddrinfo(st->host, st->port, &hints, &info);
	if (r) {
		snprintf(msg, sizeof(msg), "cannot resolve '%s': %s", st->host, gai_strerror(r));
		git_error_set_str(GIT_ERROR_NET, msg);
		return -1;
	}
	/* every address, within one deadline for all of them */
	for (ai = info; ai; ai = ai->ai_next) {
		int s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);

		if (s < 0) {
			last_errno = errno;
			continue;
		}
		if (connect_one(s, ai, deadline) == 0) {
			st->s = s;
			break;
		}
		last_errno = errno;
		close(s);
		if (last_errno == ETIMEDOUT)
			break;
	}
	freeaddrinfo(info);
	if (st->s >= 0)
		return 0;
	if (last_errno == ETIMEDOUT)
		snprintf(msg, sizeof(msg), "cannot connect to %s port %s: no answer in %d s",
			 st->host, st->port, stream_cfg.connect_s);
	else
		snprintf(msg, sizeof(msg), "cannot connect to %s port %s: %s", st->host, st->port,
			 strerror(last_errno ? last_errno : EHOSTUNREACH));
	git_error_set_str(GIT_ERROR_NET, msg);
	return -1;
}

static ssize_t stalled(struct gitsrc_stream *st, const char *dir)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "no data for %d s %s %s port %s (the server stalled)",
		 stream_cfg.idle_s, dir, st->host, st->port);
	git_error_set_str(GIT_ERROR_NET, msg);
	return STREAM_ETIMEDOUT;
}

static ssize_t io_failed(struct gitsrc_stream *st, const char *what)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "cannot %s %s port %s: %s", what, st->host, st->port,
		 strerror(errno));
	git_error_set_str(GIT_ERROR_NET, msg);
	return -1;
}

static ssize_t stream_read(git_stream *stream, void *data, size_t len)
{
	struct gitsrc_stream *st = (struct gitsrc_stream *)stream;
	long long deadline = now_ms() + (long long)stream_cfg.idle_s * 1000;

	for (;;) {
		ssize_t n;
		int r = wait_for(st->s, POLLIN, deadline);

		if (r < 0)
			return io_failed(st, "read from");
		if (r == 0)
			return stalled(st, "from");
		n = recv(st->s, data, len, MSG_DONTWAIT);
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EINTR)
			return io_failed(st, "read from");
	}
}

static ssize_t stream_write(git_stream *stream, const char *data, size_t len, int flags)
{
	struct gitsrc_stream *st = (struct gitsrc_stream *)stream;
	long long deadline = now_ms() + (long long)stream_cfg.idle_s * 1000;

	(void)flags; /* always 0 (libgit2's own stream asserts it) */
	for (;;) {
		ssize_t n;
		int r = wait_for(st->s, POLLOUT, deadline);

		if (r < 0)
			return io_failed(st, "write to");
		if (r == 0)
			return stalled(st, "accepted by");
		/* a partial write is fine: libgit2 loops (git_stream__write_full) */
		n = send(st->s, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EINTR)
			return io_failed(st, "write to");
	}
}

static int stream_close(git_stream *stream)
{
	struct gitsrc_stream *st = (struct gitsrc_stream *)stream;
	int r = 0;

	if (st->s >= 0)
		r = close(st->s);
	st->s = -1;
	return r;
}

static void stream_free(git_stream *stream)
{
	struct gitsrc_stream *st = (struct gitsrc_stream *)stream;

	if (st->s >= 0)
		close(st->s);
	free(st->host);
	free(st->port);
	free(st);
}

static int stream_new(git_stream **out, const char *host, const char *port)
{
	struct gitsrc_stream *st = gs_calloc(1, sizeof(*st));

	st->parent.version = GIT_STREAM_VERSION;
	st->parent.connect = stream_connect;
	st->parent.read = stream_read;
	st->parent.write = stream_write;
	st->parent.close = stream_close;
	st->parent.free = stream_free;
	st->host = gs_strdup(host);
	st->port = gs_strdup(port);
	st->s = -1;
	*out = &st->parent;
	return 0;
}

/* GITSYNC_GIT_IO_TIMEOUT: whole seconds, 1..86400; anything else keeps the
 * default (a library does not log; docs/cli.md says so). */
static int timeout_from_env(void)
{
	const char *v = getenv("GITSYNC_GIT_IO_TIMEOUT");
	char *end;
	long n;

	if (!v || !*v)
		return IDLE_TIMEOUT_S;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < 1 || n > MAX_TIMEOUT_S)
		return IDLE_TIMEOUT_S;
	return (int)n;
}

static void register_once(void)
{
	static git_stream_registration reg = {
		.version = GIT_STREAM_VERSION,
		.init = stream_new,
	};

	stream_cfg.idle_s = timeout_from_env();
	stream_cfg.connect_s =
		stream_cfg.idle_s < CONNECT_TIMEOUT_S ? stream_cfg.idle_s : CONNECT_TIMEOUT_S;
	/* libgit2 copies the registration; it outlives git_libgit2_shutdown() */
	stream_cfg.rc = git_stream_register(GIT_STREAM_STANDARD, &reg);
}

int gitsrc_stream_register(struct gs_error *err)
{
	pthread_once(&stream_once, register_once);
	if (stream_cfg.rc < 0)
		return gs_error_set(err, GS_ERR, "cannot register the Git network stream (libgit2)");
	return GS_OK;
}

int gitsrc_stream_idle_timeout(void)
{
	return stream_cfg.idle_s;
}
