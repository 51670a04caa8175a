/* Result rows: bandwidth attribution, the table, the CSV and the gnuplot plot. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "bench.h"

bench_row *bench_add(bench_table *t, const char *device, const char *workload, const char *algo,
                     const char *variant, int threads, size_t numel, size_t tensors, int bytes)
{
    if (t->count == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        bench_row *rows = realloc(t->rows, cap * sizeof *rows);
        if (!rows) {
            return NULL;
        }
        t->rows = rows;
        t->cap = cap;
    }
    bench_row *r = &t->rows[t->count++];
    memset(r, 0, sizeof *r);
    strncpy(r->device, device, sizeof r->device - 1);
    strncpy(r->workload, workload, sizeof r->workload - 1);
    strncpy(r->algo, algo, sizeof r->algo - 1);
    strncpy(r->variant, variant, sizeof r->variant - 1);
    r->threads = threads;
    r->numel = numel;
    r->tensors = tensors;
    r->bytes = bytes;
    return r;
}

void bench_set_time(bench_row *r, double seconds, int steps)
{
    r->steps = steps;
    r->seconds = seconds > 0.0 ? seconds : 0.0;
    r->gbps = seconds > 0.0 ? (double)r->bytes * (double)r->numel / seconds / 1e9 : 0.0;
}

static int is_bandwidth(const bench_row *r)
{
    return !strcmp(r->variant, "bandwidth") || !strcmp(r->variant, "copy");
}

static int same_group(const bench_row *a, const bench_row *b)
{
    return !strcmp(a->device, b->device) && !strcmp(a->workload, b->workload) && !strcmp(a->algo, b->algo) &&
           a->numel == b->numel;
}

void bench_fill_bandwidth(bench_table *t)
{
    for (size_t i = 0; i < t->count; i++) {
        bench_row *r = &t->rows[i];
        double same_threads = 0.0, best = 0.0;
        for (size_t j = 0; j < t->count; j++) {
            const bench_row *q = &t->rows[j];
            if (!is_bandwidth(q) || !same_group(r, q) || q->gbps <= 0.0) {
                continue;
            }
            best = q->gbps > best ? q->gbps : best;
            if (q->threads == r->threads && q->gbps > same_threads) {
                same_threads = q->gbps;
            }
        }
        /* CPU: what the same number of cores moves; GPU: the best of copy and same-pattern. */
        r->bw_gbps = !strcmp(r->device, "cpu") && same_threads > 0.0 ? same_threads : best;
    }
}

static const char *human(size_t n, char *buf, size_t cap)
{
    if (n >= 1000000) {
        snprintf(buf, cap, "%.1fM", (double)n / 1e6);
    } else if (n >= 1000) {
        snprintf(buf, cap, "%.1fk", (double)n / 1e3);
    } else {
        snprintf(buf, cap, "%zu", n);
    }
    return buf;
}

void bench_print_table(const bench_table *t, FILE *out)
{
    fprintf(out, "%-4s %-12s %-13s %-14s %3s %8s %5s %5s %11s %8s %8s %6s  %s\n", "dev", "workload",
            "algorithm", "variant", "thr", "params", "tens", "steps", "ms/step", "GB/s", "bw GB/s", "%bw",
            "note");
    for (size_t i = 0; i < t->count; i++) {
        const bench_row *r = &t->rows[i];
        if (i > 0 && !same_group(r, &t->rows[i - 1])) {
            fputc('\n', out);
        }
        char n[32];
        char thr[16] = "-";
        if (r->threads > 0) {
            snprintf(thr, sizeof thr, "%d", r->threads);
        }
        if (r->gbps <= 0.0) {
            fprintf(out, "%-4s %-12s %-13s %-14s %3s %8s %5zu %5s %11s %8s %8s %6s  %s\n", r->device, r->workload,
                    r->algo, r->variant, thr, human(r->numel, n, sizeof n), r->tensors, "-", "-", "-", "-", "-",
                    r->note);
            continue;
        }
        double frac = r->bw_gbps > 0.0 ? 100.0 * r->gbps / r->bw_gbps : 0.0;
        fprintf(out, "%-4s %-12s %-13s %-14s %3s %8s %5zu %5d %11.4f %8.1f %8.1f %5.0f%%  %s\n", r->device,
                r->workload, r->algo, r->variant, thr, human(r->numel, n, sizeof n), r->tensors, r->steps,
                1e3 * r->seconds, r->gbps, r->bw_gbps, frac, r->note);
    }
}

int bench_write_csv(const bench_table *t, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        return -1;
    }
    fprintf(f, "device,workload,algorithm,variant,threads,numel,tensors,bytes_per_param,steps,"
               "median_ms,gbps,bandwidth_gbps,fraction,note\n");
    for (size_t i = 0; i < t->count; i++) {
        const bench_row *r = &t->rows[i];
        fprintf(f, "%s,%s,%s,%s,%d,%zu,%zu,%d,%d,%.6f,%.3f,%.3f,%.4f,\"%s\"\n", r->device, r->workload, r->algo,
                r->variant, r->threads, r->numel, r->tensors, r->bytes, r->steps, 1e3 * r->seconds, r->gbps,
                r->bw_gbps, r->bw_gbps > 0.0 ? r->gbps / r->bw_gbps : 0.0, r->note);
    }
    return fclose(f) == 0 ? 0 : -1;
}

void bench_table_free(bench_table *t)
{
    free(t->rows);
    memset(t, 0, sizeof *t);
}

/* ---- plot ------------------------------------------------------------------ */

static int is_sweep(const bench_row *r, const char *device)
{
    return !strcmp(r->device, device) && !strcmp(r->workload, "sweep") && r->gbps > 0.0;
}

static int same_series(const bench_row *a, const bench_row *b)
{
    return !strcmp(a->variant, b->variant) && a->threads == b->threads;
}

/* One data block per (variant, threads) series, rows in the table's (ascending) size order. */
static int write_sweep_data(const bench_table *t, const char *path, const char *device, char *titles,
                            char *dashes, size_t cap)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        return -1;
    }
    int series = 0;
    titles[0] = '\0';
    dashes[0] = '\0';
    for (size_t i = 0; i < t->count; i++) {
        const bench_row *r = &t->rows[i];
        int first = is_sweep(r, device);
        for (size_t j = 0; first && j < i; j++) {
            first = !(is_sweep(&t->rows[j], device) && same_series(&t->rows[j], r));
        }
        if (!first) {
            continue;
        }
        char title[48];
        if (r->threads > 0) {
            snprintf(title, sizeof title, "%s-%dt", r->variant, r->threads);
        } else {
            snprintf(title, sizeof title, "%s", r->variant);
        }
        fprintf(f, "%s# %s\n", series ? "\n\n" : "", title);
        for (size_t j = i; j < t->count; j++) {
            if (is_sweep(&t->rows[j], device) && same_series(&t->rows[j], r)) {
                fprintf(f, "%zu %.3f\n", t->rows[j].numel, t->rows[j].gbps);
            }
        }
        if (strlen(titles) + strlen(title) + 2 < cap && strlen(dashes) + 3 < cap) {
            strcat(titles, series ? " " : "");
            strcat(titles, title);
            strcat(dashes, series ? " " : "");
            strcat(dashes, is_bandwidth(r) ? "2" : "1"); /* bandwidth lines dashed */
        }
        series++;
    }
    fclose(f);
    return series;
}

int bench_plot(const bench_table *t, const char *dir, const char *device)
{
    char dat[1024], gp[1024], png[1024], titles[1024], dashes[1024], cmd[3200];
    snprintf(dat, sizeof dat, "%s/%s_sweep.dat", dir, device);
    snprintf(gp, sizeof gp, "%s/%s_sweep.gp", dir, device);
    snprintf(png, sizeof png, "%s/%s_sweep.png", dir, device);
    int series = write_sweep_data(t, dat, device, titles, dashes, sizeof titles);
    if (series <= 0) {
        remove(dat); /* no sweep rows for this device */
        return series;
    }
    FILE *f = fopen(gp, "w");
    if (!f) {
        return -1;
    }
    fprintf(f,
            "# fusedopt bench: effective GB/s against parameter count, %s, AdamW (28 bytes/param).\n"
            "# Regenerate: gnuplot %s_sweep.gp (in this directory)\n"
            "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) { set terminal pngcairo size 1100,700 } "
            "else { set terminal png size 1100,700 }\n"
            "set output '%s_sweep.png'\n"
            "set title 'fusedopt %s: AdamW step, effective GB/s vs size (dashed: bandwidth loop, same run)'\n"
            "set logscale x\nset xlabel 'parameters'\nset ylabel 'GB/s (28 bytes/param)'\n"
            "set key outside right\nset grid\nset yrange [0:*]\n"
            "titles = '%s'\n"
            "dashes = '%s'\n"
            "plot for [i=0:%d] '%s_sweep.dat' index i using 1:2 with linespoints "
            "dashtype int(word(dashes, i+1)) linewidth 2 title word(titles, i+1)\n",
            device, device, device, device, titles, dashes, series - 1, device);
    fclose(f);
    snprintf(cmd, sizeof cmd, "command -v gnuplot >/dev/null 2>&1 && cd '%s' && gnuplot '%s_sweep.gp'", dir,
             device);
    if (system(cmd) != 0) {
        fprintf(stderr, "fopt_bench: gnuplot not run (not installed?); data and script are in %s\n", dir);
        return 0;
    }
    fprintf(stderr, "fopt_bench: wrote %s\n", png);
    return series;
}
