/* A fixed pool of worker threads for the slow half of critical requests
 * (zkDPS proofs): a node answers a request's rows on the connection thread
 * at once and queues the proof here, so the connection keeps serving while
 * proofs run, and at most `workers` proofs compete for the cores (each
 * worker runs its OpenMP regions on threads / workers threads).  Jobs run
 * in submission order. */
#ifndef VEIL_NET_PROVE_POOL_H
#define VEIL_NET_PROVE_POOL_H

typedef struct prove_pool prove_pool;

/* workers >= 1; threads = OpenMP threads shared by the workers. */
int prove_pool_new(int workers, int threads, prove_pool **out);
/* Queue run(arg); it runs on a worker. VEIL_ENOMEM, or VEIL_ECLOSED once
 * stopping (then run is not called and the caller keeps arg). */
int prove_pool_submit(prove_pool *p, void (*run)(void *arg), void *arg);
/* Jobs queued or running. */
int prove_pool_pending(prove_pool *p);
/* Finish every queued job, join the workers, free. */
void prove_pool_free(prove_pool *p);

#endif
