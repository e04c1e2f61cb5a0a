/*
 * log.c - stderr logging with journald priorities (see log.h).
 *
 * Control characters in a message are escaped here, so a newline that
 * came in with a request can never forge a second log line.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "src/log.h"

static const char	*log_prog = "gradient";
static int		 log_verbose;
static int		 log_journal;

void
log_init(const char *prog, int verbose)
{
	const char	*js;
	struct stat	 st;
	unsigned long	 dev, ino;

	log_prog = prog;
	log_verbose = verbose;
	log_journal = 0;
	if ((js = getenv("JOURNAL_STREAM")) != NULL &&
	    sscanf(js, "%lu:%lu", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long)st.st_dev == dev && (unsigned long)st.st_ino == ino)
		log_journal = 1;
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return log_verbose;
}

static void
vlog(int pri, const char *fmt, va_list ap, const char *err)
{
	char		 msg[2048], line[4096], ts[32];
	struct timespec	 now;
	struct tm	 tm;
	size_t		 i, o;
	int		 saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Escape control characters so one event is one line. */
	for (i = 0, o = 0; msg[i] != '\0' && o + 5 < sizeof(line) - 256; i++) {
		unsigned char c = (unsigned char)msg[i];

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(line + o, sizeof(line) - o,
			    "\\x%02x", c);
		else
			line[o++] = (char)c;
	}
	line[o] = '\0';
	if (log_journal) {
		if (err != NULL)
			fprintf(stderr, "<%d>%s: %s\n", pri, line, err);
		else
			fprintf(stderr, "<%d>%s\n", pri, line);
	} else {
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		if (err != NULL)
			fprintf(stderr, "%s.%03ldZ %s[%ld]: %s: %s\n", ts,
			    now.tv_nsec / 1000000, log_prog, (long)getpid(),
			    line, err);
		else
			fprintf(stderr, "%s.%03ldZ %s[%ld]: %s\n", ts,
			    now.tv_nsec / 1000000, log_prog, (long)getpid(),
			    line);
	}
	fflush(stderr);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	char	 eb[256];
	int	 saved = errno;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, strerror_r(saved, eb, sizeof(eb)));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_verbose <= 0)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	char	 eb[256];
	int	 saved = errno;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, strerror_r(saved, eb, sizeof(eb)));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
