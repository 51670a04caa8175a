/* Options and the run of the benchmarks: fopt_bench_main. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"

static void usage(const char *prog, FILE *out)
{
    fprintf(out,
            "usage: %s [--quick] [--device cpu|gpu|all] [--out DIR] [--threads N] [--min-time SECONDS]\n"
            "\n"
            "Times fused and unfused optimizer steps against the memory bandwidth measured\n"
            "in the same run and prints a table (bench/README.md explains the method).\n"
            "  --quick        AdamW on the three workloads only, short timings, no sweep\n"
            "  --device       cpu, gpu or all (default: all; gpu needs a CUDA build and a device)\n"
            "  --out DIR      also write DIR/bench.csv, DIR/table.txt and the sweep plots\n"
            "                 DIR/<device>_sweep.{dat,gp,png} (PNG when gnuplot is installed)\n"
            "  --threads N    CPU threads of the multi-threaded rows (default: the backend's heuristic)\n"
            "  --min-time S   seconds of timed steps per measurement (default 1, quick 0.25)\n",
            prog);
}

/* The 1-minute load average (other processes compete for the cores), or -1. */
static double load_average(void)
{
    double load = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &load) != 1) {
            load = -1.0;
        }
        fclose(f);
    }
    return load;
}

static int make_dirs(const char *path)
{
    char buf[1024];
    if (strlen(path) >= sizeof buf) {
        return -1;
    }
    strcpy(buf, path);
    for (char *s = buf + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                return -1;
            }
            *s = '/';
        }
    }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

static int parse(const char *prog, int argc, char **argv, bench_config *cfg)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(a, "--quick")) {
            cfg->quick = 1;
        } else if (!strcmp(a, "--device") && value) {
            cfg->cpu = !strcmp(value, "cpu") || !strcmp(value, "all");
            cfg->gpu = !strcmp(value, "gpu") || !strcmp(value, "all");
            if (!cfg->cpu && !cfg->gpu) {
                fprintf(stderr, "%s: --device: expected cpu, gpu or all, got '%s'\n", prog, value);
                return -1;
            }
            i++;
        } else if (!strcmp(a, "--out") && value) {
            cfg->out = value;
            i++;
        } else if (!strcmp(a, "--threads") && value) {
            long n = strtol(value, &end, 10);
            if (*end || n < 1 || n > 16) {
                fprintf(stderr, "%s: --threads: expected 1..16, got '%s'\n", prog, value);
                return -1;
            }
            cfg->threads = (int)n;
            i++;
        } else if (!strcmp(a, "--min-time") && value) {
            double s = strtod(value, &end);
            if (*end || !(s >= 0.0 && s <= 60.0)) {
                fprintf(stderr, "%s: --min-time: expected seconds in [0, 60], got '%s'\n", prog, value);
                return -1;
            }
            cfg->min_time = s;
            i++;
        } else {
            fprintf(stderr, "%s: %s: unknown option or missing value\n", prog, a);
            return -1;
        }
    }
    return 0;
}

int fopt_bench_main(const char *prog, int argc, char **argv)
{
    bench_config cfg = {0, 1, 1, NULL, -1.0, 5, 2000, 0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(prog, stdout);
            return 0;
        }
    }
    if (parse(prog, argc, argv, &cfg)) {
        usage(prog, stderr);
        return 2;
    }
    if (cfg.min_time < 0.0) {
        cfg.min_time = cfg.quick ? 0.25 : 1.0;
    }
    if (cfg.quick) {
        cfg.min_steps = 3;
    }
    if (cfg.out && make_dirs(cfg.out)) {
        fprintf(stderr, "%s: cannot create directory %s\n", prog, cfg.out);
        return 1;
    }
    bench_table t = {NULL, 0, 0};
    double start = bench_now();
    double load_before = load_average();
    int rc = 0;
    if (cfg.cpu) {
        bench_run_cpu(&cfg, &t);
    }
    if (cfg.gpu && bench_run_gpu(&cfg, &t) < 0 && !cfg.cpu) {
        rc = 1; /* --device gpu asked for and no GPU benchmark ran */
    }
    bench_fill_bandwidth(&t);
    bench_print_table(&t, stdout);
    printf("\nload average (1 min) before %.2f, after %.2f\n", load_before, load_average());
    printf("%zu measurements in %.1f s. GB/s counts %s; %%bw is against the bandwidth row of the\n"
           "same workload and algorithm (CPU: same thread count; GPU: best of copy and same-pattern kernels).\n",
           t.count, bench_now() - start, "the bytes an optimizer must move (AdamW 28, amsgrad 36, momentum 20, SGD 12 per param)");
    if (cfg.out) {
        char path[1200];
        snprintf(path, sizeof path, "%s/bench.csv", cfg.out);
        if (bench_write_csv(&t, path)) {
            fprintf(stderr, "%s: cannot write %s\n", prog, path);
            rc = 1;
        }
        snprintf(path, sizeof path, "%s/table.txt", cfg.out);
        FILE *f = fopen(path, "w");
        if (f) {
            bench_print_table(&t, f);
            fclose(f);
        } else {
            rc = 1;
        }
        bench_plot(&t, cfg.out, "cpu");
        bench_plot(&t, cfg.out, "gpu");
    }
    bench_table_free(&t);
    return rc;
}

#ifndef FOPT_BENCH_GPU
int bench_run_gpu(const bench_config *cfg, bench_table *t)
{
    fprintf(stderr, "fopt_bench: no GPU benchmark in this build (configure with CUDA to get one)\n");
    return -1;
}
#endif
