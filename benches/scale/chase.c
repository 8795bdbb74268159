/* The latency of a load that misses, by the size of the memory a program walks: a chain of
 * pointers, one per 64-byte line, in a random order over N bytes, followed for 20 million
 * steps. Each load waits for the one before it, so the time per step is the latency of the
 * level of the memory hierarchy that holds N bytes (no prefetcher can guess the next line).
 * What a plant's state costs once it outgrows a cache level: see docs/src/performance.md,
 * "A link in one cache line; the memory a large plant outgrows".
 *
 *   cc -O2 -o chase benches/scale/chase.c && ./chase [KiB ...]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define LINE 64
#define STEPS 20000000UL

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* xorshift64: a fixed shuffle, the same order at every run. */
static uint64_t next_random(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static double chase(size_t bytes) {
    size_t lines = bytes / LINE;
    char *mem = aligned_alloc(LINE, lines * LINE);
    size_t *order = malloc(lines * sizeof *order);
    if (mem == NULL || order == NULL) {
        fprintf(stderr, "chase: out of memory for %zu bytes\n", bytes);
        exit(1);
    }
    for (size_t i = 0; i < lines; i++)
        order[i] = i;
    uint64_t x = 88172645463325252ULL;
    for (size_t i = lines - 1; i > 0; i--) {
        size_t j = next_random(&x) % (i + 1);
        size_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    /* Each line holds the address of the next line in the shuffled order: one cycle. */
    for (size_t i = 0; i < lines; i++)
        *(void **)(mem + order[i] * LINE) = mem + order[(i + 1) % lines] * LINE;
    void **p = (void **)(mem + order[0] * LINE);
    for (size_t i = 0; i < lines; i++) /* once round, to fault the pages in */
        p = *p;
    double start = seconds();
    for (size_t i = 0; i < STEPS; i++)
        p = *p;
    double ns = (seconds() - start) / (double)STEPS * 1e9;
    if (p == NULL) /* keeps the walk from being optimised away */
        puts("");
    free(order);
    free(mem);
    return ns;
}

int main(int argc, char **argv) {
    static const size_t fallback[] = {256, 1024, 2048, 4096, 8192, 12288, 16384, 24576, 32768, 65536, 262144};
    size_t n = argc > 1 ? (size_t)(argc - 1) : sizeof fallback / sizeof fallback[0];
    printf("%10s %12s\n", "KIB", "NS_PER_LOAD");
    for (size_t i = 0; i < n; i++) {
        size_t kib = argc > 1 ? strtoull(argv[i + 1], NULL, 10) : fallback[i];
        if (kib < 1) {
            fprintf(stderr, "chase: sizes are in KiB, at least 1: %s\n", argv[i + 1]);
            return 2;
        }
        printf("%10zu %12.1f\n", kib, chase(kib * 1024));
    }
    return 0;
}
