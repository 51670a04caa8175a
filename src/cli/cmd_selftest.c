/* `fusedopt selftest`: runs every optimizer configuration (algorithm x
 * options) on the active backend against the CPU reference and prints one
 * line per configuration with the largest absolute and relative errors.
 * Exits 0 only if every configuration passes.
 *
 * Each run: four tensors (1, 3, 4097 and 65537 elements; the last three
 * with param or grad one or three floats off 16-byte alignment), fresh
 * random gradients every step, a cosine schedule with steps_per_epoch.
 * Pass: |x - ref| <= ATOL + RTOL * |ref| for every parameter; fp32 against
 * the double reference gathers a few roundings of 2^-24 per step, so for
 * <= 20 steps 2e-5 relative leaves a margin, while one wrong element is off
 * by ~lr. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef FOPT_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

#include "args.h"
#include "commands.h"
#include "fusedopt.h"
#include "internal.h"
#include "reference.h"

#define PROG "fusedopt selftest"
#define NUM_TENSORS 4
#define ATOL 2e-6
#define RTOL 2e-5
/* Relative errors are taken against max(|ref|, REL_FLOOR): near 0 only the
 * absolute error means something. */
#define REL_FLOOR 1e-2

static const size_t tensor_sizes[NUM_TENSORS] = {1, 3, 4097, 65537};
static const size_t param_shift[NUM_TENSORS] = {0, 1, 0, 3};
static const size_t grad_shift[NUM_TENSORS] = {0, 0, 1, 3};

/* Where the parameters and gradients live: host memory or CUDA device memory. */
static int on_device;

static void *mem_alloc(size_t bytes)
{
#ifdef FOPT_WITH_CUDA
    if (on_device) {
        void *p = NULL;
        return cudaMalloc(&p, bytes) == cudaSuccess ? p : NULL;
    }
#endif
    return malloc(bytes);
}

static void mem_free(void *p)
{
#ifdef FOPT_WITH_CUDA
    if (on_device) {
        (void)cudaFree(p);
        return;
    }
#endif
    free(p);
}

/* Copies between host memory and a parameter or gradient buffer. */
static int mem_copy(void *dst, const void *src, size_t bytes, int to_buffer)
{
#ifdef FOPT_WITH_CUDA
    if (on_device) {
        return cudaMemcpy(dst, src, bytes, to_buffer ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost) ==
                       cudaSuccess
                   ? 0
                   : -1;
    }
#endif
    (void)to_buffer;
    memcpy(dst, src, bytes);
    return 0;
}

/* One tensor of a run: its buffers (base allocation and shifted pointers),
 * host staging and the reference's double copies. */
typedef struct tensor_run {
    size_t n;
    void *param_base, *grad_base;
    float *param, *grad;
    float *host;
    double *ref_param, *ref_grad;
    double *ref_state[4];
} tensor_run;

static unsigned long long rng_state;

static float next_uniform(void) /* in [-1, 1) */
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static void tensor_free(tensor_run *t)
{
    mem_free(t->param_base);
    mem_free(t->grad_base);
    free(t->host);
    free(t->ref_param);
    free(t->ref_grad);
    for (int k = 0; k < 4; k++) {
        free(t->ref_state[k]);
    }
}

/* Allocates everything and uploads random parameters; 0 on success. */
static int tensor_init(tensor_run *t, size_t i, const fopt_options *o)
{
    memset(t, 0, sizeof *t);
    t->n = tensor_sizes[i];
    t->param_base = mem_alloc((t->n + 4) * sizeof(float));
    t->grad_base = mem_alloc((t->n + 4) * sizeof(float));
    t->host = malloc(t->n * sizeof(float));
    t->ref_param = malloc(t->n * sizeof(double));
    t->ref_grad = malloc(t->n * sizeof(double));
    int ok = t->param_base && t->grad_base && t->host && t->ref_param && t->ref_grad;
    for (int k = 0; k < 4; k++) {
        t->ref_state[k] = malloc((t->n ? t->n : 1) * sizeof(double));
        ok = ok && t->ref_state[k];
        for (size_t j = 0; ok && j < t->n; j++) {
            t->ref_state[k][j] = fopt_reference_initial_state(o, k);
        }
    }
    if (!ok) {
        return -1;
    }
    t->param = (float *)t->param_base + param_shift[i];
    t->grad = (float *)t->grad_base + grad_shift[i];
    for (size_t j = 0; j < t->n; j++) {
        t->host[j] = next_uniform();
        t->ref_param[j] = t->host[j];
    }
    return mem_copy(t->param, t->host, t->n * sizeof(float), 1);
}

/* Fresh gradients into the buffer and the reference; 0 on success. */
static int tensor_new_grad(tensor_run *t)
{
    for (size_t j = 0; j < t->n; j++) {
        t->host[j] = next_uniform();
        t->ref_grad[j] = t->host[j];
    }
    return mem_copy(t->grad, t->host, t->n * sizeof(float), 1);
}

/* Folds the tensor's errors into max_abs / max_rel; returns how many
 * elements are out of tolerance, or -1 if the copy failed. */
static long tensor_compare(tensor_run *t, double *max_abs, double *max_rel)
{
    if (mem_copy(t->host, t->param, t->n * sizeof(float), 0) != 0) {
        return -1;
    }
    long bad = 0;
    for (size_t j = 0; j < t->n; j++) {
        const double want = t->ref_param[j];
        const double err = fabs((double)t->host[j] - want);
        *max_abs = fmax(*max_abs, err);
        *max_rel = fmax(*max_rel, err / fmax(fabs(want), REL_FLOOR));
        bad += !(err <= ATOL + RTOL * fabs(want));
    }
    return bad;
}

/* Runs `steps` steps of `o` next to the reference; returns the number of
 * parameters out of tolerance, or -1 with a message on stderr. */
static long run_config(const fopt_options *o, int64_t steps, double *max_abs, double *max_rel)
{
    tensor_run t[NUM_TENSORS];
    fopt_tensor tensors[NUM_TENSORS];
    fopt_optimizer *opt = NULL;
    long bad = -1;
    size_t ready = 0;
    const char *failed = "out of memory";
    rng_state = 12345;
    for (; ready < NUM_TENSORS; ready++) {
        if (tensor_init(&t[ready], ready, o) != 0) {
            tensor_free(&t[ready]);
            goto done;
        }
        tensors[ready] = (fopt_tensor){t[ready].param, t[ready].grad, t[ready].n};
    }
    if (fopt_create(&opt, o, tensors, NUM_TENSORS) != FOPT_SUCCESS) {
        failed = fopt_last_error(NULL);
        goto done;
    }
    int64_t epoch = 0;
    for (int64_t k = 1; k <= steps; k++) {
        for (size_t i = 0; i < NUM_TENSORS; i++) {
            fopt_reference_state st = {{t[i].ref_state[0]}, t[i].ref_state[1], t[i].ref_state[2],
                                       t[i].ref_state[3]};
            if (tensor_new_grad(&t[i]) != 0) {
                failed = "gradient upload failed";
                goto done;
            }
            const fopt_options tensor_options = fopt_reference_tensor_options(o, i);
            double lr = 0;
            fopt_schedule_lr(&tensor_options.schedule, epoch, &lr);
            fopt_reference_step(&tensor_options, lr, k, t[i].n, t[i].ref_param, t[i].ref_grad, &st);
        }
        if (fopt_step(opt) != FOPT_SUCCESS) {
            failed = fopt_last_error(opt);
            goto done;
        }
        epoch += k % o->steps_per_epoch == 0;
    }
    bad = 0;
    for (size_t i = 0; i < NUM_TENSORS && bad >= 0; i++) {
        const long b = tensor_compare(&t[i], max_abs, max_rel);
        bad = b < 0 ? -1 : bad + b;
    }
    failed = "parameter download failed";
done:
    if (bad < 0) {
        fprintf(stderr, PROG ": %s\n", failed);
    }
    fopt_destroy(opt);
    for (size_t i = 0; i < ready; i++) {
        tensor_free(&t[i]);
    }
    return bad;
}

/* Runs and prints one configuration; returns 1 if it passed. */
static int check_config(const fopt_options *o, const char *name, int64_t steps)
{
    double max_abs = 0, max_rel = 0;
    const long bad = run_config(o, steps, &max_abs, &max_rel);
    printf("%-4s %-72s max_abs %.2e  max_rel %.2e", bad == 0 ? "PASS" : "FAIL", name, max_abs, max_rel);
    if (bad > 0) {
        printf("  (%ld elements out of tolerance)", bad);
    }
    printf("%s\n", bad < 0 ? "  (run failed)" : "");
    return bad == 0;
}

static fopt_options base_options(fopt_algorithm algorithm, fopt_backend backend, double lr)
{
    fopt_options o = fopt_default_options(algorithm);
    o.backend = backend;
    o.schedule.kind = FOPT_SCHEDULE_COSINE;
    o.schedule.base_lr = lr;
    o.schedule.eta_min = lr / 10;
    o.schedule.t_max = 4;
    o.steps_per_epoch = 3;
    return o;
}

/* A configuration maker: fills configuration `variant` of its family into
 * *o and its name; returns 0 for a combination fopt_create refuses. */
typedef int (*config_maker)(int variant, fopt_backend backend, fopt_options *o, char *name, size_t size);

/* Every SGD combination of momentum, dampening, nesterov, weight decay and
 * maximize that fopt_create accepts (32 variants). */
static int sgd_config(int bits, fopt_backend backend, fopt_options *o, char *name, size_t size)
{
    *o = base_options(FOPT_SGD, backend, 0.05);
    o->momentum = bits & 1 ? 0.9 : 0.0;
    o->dampening = bits & 2 ? 0.3 : 0.0;
    o->nesterov = (bits & 4) != 0;
    o->weight_decay = bits & 8 ? 0.05 : 0.0;
    o->maximize = (bits & 16) != 0;
    snprintf(name, size, "sgd momentum=%g dampening=%g nesterov=%d weight_decay=%g maximize=%d", o->momentum,
             o->dampening, o->nesterov, o->weight_decay, o->maximize);
    return !(o->nesterov && (o->momentum == 0.0 || o->dampening != 0.0));
}

/* Adam and AdamW with every combination of amsgrad, weight decay and maximize (16). */
static int adam_config(int bits, fopt_backend backend, fopt_options *o, char *name, size_t size)
{
    const fopt_algorithm algorithm = bits & 1 ? FOPT_ADAMW : FOPT_ADAM;
    *o = base_options(algorithm, backend, 0.01);
    o->amsgrad = (bits & 2) != 0;
    o->weight_decay = bits & 4 ? 0.05 : 0.0;
    o->maximize = (bits & 8) != 0;
    snprintf(name, size, "%s amsgrad=%d weight_decay=%g maximize=%d", algorithm == FOPT_ADAMW ? "adamw" : "adam",
             o->amsgrad, o->weight_decay, o->maximize);
    return 1;
}

/* Adagrad with every combination of lr_decay, weight decay, a nonzero
 * initial accumulator and maximize (16). */
static int adagrad_config(int bits, fopt_backend backend, fopt_options *o, char *name, size_t size)
{
    *o = base_options(FOPT_ADAGRAD, backend, 0.05);
    o->lr_decay = bits & 1 ? 0.05 : 0.0;
    o->weight_decay = bits & 2 ? 0.05 : 0.0;
    o->initial_accumulator_value = bits & 4 ? 0.1 : 0.0;
    o->maximize = (bits & 8) != 0;
    snprintf(name, size, "adagrad lr_decay=%g weight_decay=%g initial_accumulator=%g maximize=%d", o->lr_decay,
             o->weight_decay, o->initial_accumulator_value, o->maximize);
    return 1;
}

/* RMSprop with every combination of momentum, centered, weight decay and maximize (16). */
static int rmsprop_config(int bits, fopt_backend backend, fopt_options *o, char *name, size_t size)
{
    *o = base_options(FOPT_RMSPROP, backend, 0.001);
    o->momentum = bits & 1 ? 0.9 : 0.0;
    o->centered = (bits & 2) != 0;
    o->weight_decay = bits & 4 ? 0.05 : 0.0;
    o->maximize = (bits & 8) != 0;
    snprintf(name, size, "rmsprop momentum=%g centered=%d weight_decay=%g maximize=%d", o->momentum, o->centered,
             o->weight_decay, o->maximize);
    return 1;
}

/* SGD with momentum, Adam and AdamW with parameter groups: a weight decay
 * per tensor (some without decay), then also a base lr per tensor (6). */
static int group_config(int variant, fopt_backend backend, fopt_options *o, char *name, size_t size)
{
    static const double decays[NUM_TENSORS] = {0.1, 0.0, 0.05, 0.0};
    /* lr * {1, 2, 0.5, 0} for the SGD (0.05) and Adam (0.01) base lrs */
    static const double sgd_lrs[NUM_TENSORS] = {0.05, 0.1, 0.025, 0.0};
    static const double adam_lrs[NUM_TENSORS] = {0.01, 0.02, 0.005, 0.0};
    static const fopt_algorithm algorithms[3] = {FOPT_SGD, FOPT_ADAM, FOPT_ADAMW};
    const fopt_algorithm algorithm = algorithms[variant % 3];
    const int sgd = algorithm == FOPT_SGD;
    *o = base_options(algorithm, backend, sgd ? 0.05 : 0.01);
    o->momentum = sgd ? 0.9 : 0.0;
    o->tensor_weight_decay = decays;
    o->tensor_base_lr = variant < 3 ? NULL : sgd ? sgd_lrs : adam_lrs;
    snprintf(name, size, "%s groups: weight_decay={%g,%g,%g,%g}%s",
             sgd ? "sgd momentum=0.9" : algorithm == FOPT_ADAM ? "adam" : "adamw", decays[0], decays[1], decays[2],
             decays[3], variant >= 3 ? " lr=lr*{1,2,0.5,0}" : "");
    return 1;
}

/* Runs every configuration of every family; returns the number of failures. */
static int run_all_configs(fopt_backend backend, int64_t steps, int *count)
{
    static const struct {
        config_maker make;
        int variants;
    } families[] = {
        {sgd_config, 32}, {adam_config, 16}, {adagrad_config, 16}, {rmsprop_config, 16}, {group_config, 6},
    };
    int failures = 0;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        for (int v = 0; v < families[f].variants; v++) {
            fopt_options o;
            char name[128];
            if (families[f].make(v, backend, &o, name, sizeof name)) {
                failures += !check_config(&o, name, steps);
                *count += 1;
            }
        }
    }
    return failures;
}

/* Picks the backend: CUDA when asked or, for auto, when this build has it
 * and a device is usable. Returns -1 with a message if CUDA is unavailable. */
static int choose_backend(int requested, fopt_backend *backend)
{
#ifdef FOPT_WITH_CUDA
    const int cuda = fopt_cuda_usable();
    const char *why = "no CUDA device is usable";
#else
    const int cuda = 0;
    const char *why = "this build of fusedopt has no CUDA support";
#endif
    if (requested == 2 && !cuda) {
        fopt_args_error(PROG, "--backend", "cuda: %s", why);
        return -1;
    }
    *backend = requested == 1 || !cuda ? FOPT_BACKEND_CPU : FOPT_BACKEND_CUDA;
    on_device = *backend == FOPT_BACKEND_CUDA;
    if (requested == 0 && !cuda) {
        printf("backend: cpu (%s)\n", why);
    } else {
        printf("backend: %s\n", on_device ? "cuda" : "cpu");
    }
    return 0;
}

static void usage(FILE *out)
{
    fputs("usage: fusedopt selftest [--backend auto|cpu|cuda] [--steps N]\n", out);
}

static const char *const backend_names[] = {"auto", "cpu", "cuda", NULL};

int fopt_cmd_selftest(int argc, char **argv)
{
    int requested = 0, help = 0;
    int64_t steps = 20;
    fopt_arg args[] = {
        {.name = "--backend", .type = FOPT_ARG_CHOICE, .dest = &requested, .choices = backend_names},
        {.name = "--steps", .type = FOPT_ARG_INT64, .dest = &steps, .imin = 1, .imax = 20},
        {.name = "--help", .type = FOPT_ARG_FLAG, .dest = &help},
        {.name = "-h", .type = FOPT_ARG_FLAG, .dest = &help},
    };
    if (fopt_args_parse(PROG, argc, argv, args, sizeof args / sizeof args[0]) != 0) {
        usage(stderr);
        return 2;
    }
    if (help) {
        usage(stdout);
        puts("\nRuns every optimizer configuration (SGD, Adam, AdamW, Adagrad, RMSprop x their\n"
             "options, and parameter groups) on the backend against the CPU reference; one\n"
             "line per configuration. --backend auto (default) uses CUDA when this build has\n"
             "it and a device is usable. --steps is at most 20, the horizon the tolerance is\n"
             "sized for.");
        return 0;
    }
    fopt_backend backend;
    if (choose_backend(requested, &backend) != 0) {
        return 1;
    }
    int count = 0;
    const int failures = run_all_configs(backend, steps, &count);
    printf("%d of %d configurations passed (tolerance |x - ref| <= %g + %g * |ref|, %lld steps)\n",
           count - failures, count, ATOL, RTOL, (long long)steps);
    return failures == 0 ? 0 : 1;
}
