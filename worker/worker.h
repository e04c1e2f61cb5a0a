/*
 * worker.h - the pieces of gradient-worker: the queue protocol and the
 * evaluation job.
 *
 * The daemon (main.c) claims evaluations with queue_claim() and runs each
 * in a child process (evaluate.c) with a database connection of its own;
 * it renews the leases of its running jobs while they run.  A job whose
 * lease has run out (its worker died) is claimed again by whoever asks
 * next.  Every write that ends a job checks that this worker still holds
 * the lease, so a job that was taken over cannot be finished twice.
 */
#ifndef GRADIENT_WORKER_H
#define GRADIENT_WORKER_H

#include "src/conf.h"
#include "src/db.h"

#define QUEUE_CHANNEL	"gradient_evaluation"
#define ABORT_CHANNEL	"gradient_abort"

/*
 * queue.c.  A claim is held under a token unique to that claim (worker
 * and a counter), so that even the same worker claiming an evaluation a
 * second time cannot finish it twice.  Token lists are PostgreSQL array
 * literals.
 */
int	 queue_listen(struct gr_db *);
/* Claim one evaluation under token: 1 with its id (37 bytes), 0, -1. */
int	 queue_claim(struct gr_db *, const char *, long long, char *);
/* Extend the leases of the claims in the token list. */
int	 queue_renew(struct gr_db *, const char *, long long);
/* Put the claims in the token list back in the queue (clean shutdown). */
int	 queue_release(struct gr_db *, const char *);
/* A job ended; if its evaluation is still ours, queue or fail it. */
int	 queue_ended(struct gr_db *, const char *, const char *);

/* evaluate.c: run one claimed evaluation; the process exit status. */
int	 evaluate_run(const struct gr_config *, const char *, const char *);

#endif /* GRADIENT_WORKER_H */
