/* The proving pool (prove_pool.h): a mutex-protected FIFO and N workers. */
#include "prove_pool.h"
#include "veil/common.h"

#include <omp.h>
#include <pthread.h>
#include <stdlib.h>

typedef struct job {
    struct job *next;
    void (*run)(void *arg);
    void *arg;
} job;

struct prove_pool {
    pthread_mutex_t lock;
    pthread_cond_t more;
    job *head, *tail;
    int pending, stopping, n, threads_each;
    pthread_t *th;
};

static void *worker(void *arg)
{
    prove_pool *p = arg;
    omp_set_num_threads(p->threads_each); /* this thread's parallel regions */
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping) pthread_cond_wait(&p->more, &p->lock);
        job *j = p->head;
        if (!j) break; /* stopping and drained */
        p->head = j->next;
        if (!p->head) p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        j->run(j->arg);
        free(j);
        pthread_mutex_lock(&p->lock);
        p->pending--;
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int prove_pool_new(int workers, int threads, prove_pool **out)
{
    *out = NULL;
    if (workers < 1 || workers > 64) return veil_fail(VEIL_EINVAL, "1 to 64 proving workers, not %d", workers);
    prove_pool *p = calloc(1, sizeof *p);
    if (p) p->th = calloc((size_t)workers, sizeof *p->th);
    if (!p || !p->th) {
        free(p);
        return veil_fail(VEIL_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->more, NULL);
    p->threads_each = threads / workers > 1 ? threads / workers : 1;
    for (int i = 0; i < workers; i++) {
        if (pthread_create(&p->th[i], NULL, worker, p)) {
            prove_pool_free(p);
            return veil_fail(VEIL_EIO, "cannot start proving worker %d", i);
        }
        p->n++;
    }
    *out = p;
    return 0;
}

int prove_pool_submit(prove_pool *p, void (*run)(void *arg), void *arg)
{
    job *j = malloc(sizeof *j);
    if (!j) return veil_fail(VEIL_ENOMEM, "out of memory");
    *j = (job){NULL, run, arg};
    pthread_mutex_lock(&p->lock);
    int stopping = p->stopping;
    if (!stopping) {
        if (p->tail) p->tail->next = j;
        else p->head = j;
        p->tail = j;
        p->pending++;
        pthread_cond_signal(&p->more);
    }
    pthread_mutex_unlock(&p->lock);
    if (stopping) free(j);
    return stopping ? veil_fail(VEIL_ECLOSED, "the proving pool is stopping") : 0;
}

int prove_pool_pending(prove_pool *p)
{
    pthread_mutex_lock(&p->lock);
    int n = p->pending;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void prove_pool_free(prove_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->more);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n; i++) pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->more);
    free(p->th);
    free(p);
}
