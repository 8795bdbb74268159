/* What a sweep over a plant's devices costs by how its state is laid out: N records of
 * SIZE bytes walked in memory order, as the sweep of scans done ahead walks the PLCs, each
 * visit reading and writing one word in each of LINES of its lines (in a fixed scattered
 * order, as a scan reads its fields), 200 passes. Prints nanoseconds per record visited.
 * A PLC today is about 1,136 bytes of which a settled scan touches about ten lines; the
 * question this answers is what the same ten lines cost when the record is smaller, and
 * what fewer lines cost (see docs/src/performance.md, "What a large plant's sweep costs").
 *
 *   cc -O2 -o sweep benches/scale/sweep.c && ./sweep N SIZE LINES [N SIZE LINES ...]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define LINE 64
#define PASSES 200

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#define MAX_LINES 64

/* `lines` is at least 1 and at most MAX_LINES and `size / LINE` (main checks). */
static double sweep(size_t n, size_t size, size_t lines) {
    size_t per = size / LINE;
    /* Which lines of a record a visit touches: spread over the record, visited out of
     * address order (the last ones first), as a scan reads mode and wiring at the end of
     * the PLC before its memory and program at the start. */
    size_t order[MAX_LINES];
    for (size_t k = 0; k < lines; k++) order[k] = (per - 1 - k * per / lines) % per;
    uint64_t *mem = aligned_alloc(LINE, n * size);
    if (!mem) {
        fprintf(stderr, "sweep: cannot allocate %zu bytes\n", n * size);
        exit(1);
    }
    for (size_t i = 0; i < n * size / 8; i++) mem[i] = i;
    uint64_t acc = 0;
    double start = seconds();
    for (int p = 0; p < PASSES; p++) {
        for (size_t r = 0; r < n; r++) {
            uint64_t *rec = mem + r * size / 8;
            for (size_t k = 0; k < lines; k++) {
                uint64_t *w = rec + order[k] * LINE / 8;
                acc += *w;
                *w = acc;
            }
        }
    }
    double ns = (seconds() - start) * 1e9 / ((double)n * PASSES);
    if (acc == 42) printf("!");
    free(mem);
    return ns;
}

int main(int argc, char **argv) {
    if (argc < 4 || (argc - 1) % 3 != 0) {
        fprintf(stderr, "usage: sweep N SIZE LINES [N SIZE LINES ...]\n");
        return 2;
    }
    printf("%10s %6s %6s %14s %10s\n", "records", "bytes", "lines", "ns per record", "MB walked");
    for (int a = 1; a + 2 < argc; a += 3) {
        size_t n = strtoul(argv[a], 0, 10), size = strtoul(argv[a + 1], 0, 10);
        size_t lines = strtoul(argv[a + 2], 0, 10);
        size = (size + LINE - 1) / LINE * LINE;
        if (n == 0 || size == 0 || lines == 0) {
            fprintf(stderr, "sweep: N, SIZE and LINES must be at least 1 (got %s %s %s)\n",
                    argv[a], argv[a + 1], argv[a + 2]);
            return 2;
        }
        /* A record has no more lines to touch than it is long. */
        if (lines > size / LINE) lines = size / LINE;
        if (lines > MAX_LINES) lines = MAX_LINES;
        double ns = sweep(n, size, lines);
        printf("%10zu %6zu %6zu %14.1f %10.1f\n", n, size, lines, ns, n * (double)lines * LINE / 1e6);
    }
    return 0;
}
