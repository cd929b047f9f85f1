/* The proving pool of the node (src/net/prove_pool.h): jobs run once each,
 * in submission order on one worker, concurrently on several; freeing the
 * pool finishes what was queued; bad worker counts are refused. */
#include "harness.h"

#include "net/prove_pool.h"
#include "veil/common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int order[64], n_done;
static atomic_int running, peak;

static void job(void *arg)
{
    int now = atomic_fetch_add(&running, 1) + 1;
    int p = atomic_load(&peak);
    while (now > p && !atomic_compare_exchange_weak(&peak, &p, now)) {}
    usleep(20000); /* long enough for a second worker to start its own */
    pthread_mutex_lock(&lock);
    order[n_done++] = (int)(intptr_t)arg;
    pthread_mutex_unlock(&lock);
    atomic_fetch_sub(&running, 1);
}

static void run(int workers, int jobs)
{
    prove_pool *p;
    n_done = 0;
    atomic_store(&peak, 0);
    CHECK(prove_pool_new(workers, 2, &p) == 0);
    for (int i = 0; i < jobs; i++) CHECK(prove_pool_submit(p, job, (void *)(intptr_t)i) == 0);
    CHECK(prove_pool_pending(p) >= 0 && prove_pool_pending(p) <= jobs);
    prove_pool_free(p); /* finishes every queued job */
    CHECK(n_done == jobs);
}

int main(void)
{
    run(1, 8);
    int in_order = 1;
    for (int i = 0; i < 8; i++) in_order &= order[i] == i;
    CHECK(in_order);              /* one worker: submission order */
    CHECK(atomic_load(&peak) == 1); /* and never two at once */
    run(2, 8);
    CHECK(atomic_load(&peak) == 2); /* two workers prove at the same time */
    prove_pool *p;
    CHECK(prove_pool_new(0, 2, &p) == VEIL_EINVAL);
    CHECK(prove_pool_new(65, 2, &p) == VEIL_EINVAL);
    return test_done();
}
