/*
 * log.h - one line per event on stderr, in the manner of OpenSMTPD.
 *
 * log_warn appends strerror(errno); log_warnx does not.  log_debug prints
 * only when log_init was given verbose > 0.  fatal/fatalx are for start-up
 * only: a responder child never exits over a request.  When stderr belongs
 * to journald (JOURNAL_STREAM), each line is prefixed with <N>; otherwise
 * with a UTC timestamp, the program name and the pid.  errno is preserved.
 */
#ifndef GRADIENT_LOG_H
#define GRADIENT_LOG_H

void	 log_init(const char *, int);
void	 log_setverbose(int);
int	 log_getverbose(void);
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif /* GRADIENT_LOG_H */
