/*
 * train_mlp: a complete training loop in C with fusedopt.
 *
 * A two-layer perceptron (tanh hidden layer) learns to imitate a fixed random
 * "teacher" network of the same shape family on a synthetic dataset that the
 * program generates from a fixed seed. Every step does a forward pass, a
 * backward pass and one fused AdamW step; the learning rate follows a linear
 * warmup and then a cosine decay that the optimizer evaluates itself from its
 * step counter (FOPT_SCHEDULE_WARMUP_COSINE with steps_per_epoch = 1), so
 * the loop never computes a learning rate.
 *
 * The forward and backward passes below are plain C loops (the CPU backend).
 * When the library was built with CUDA and a device is usable, the same model
 * runs with cuBLAS GEMMs on the GPU (train_mlp_cuda.cu) and the optimizer
 * runs its fused CUDA kernel; --graph captures the whole step in a CUDA graph.
 *
 * The program checks its own result: the loss over the whole dataset must
 * fall by at least 10x, otherwise it exits with status 1.
 *
 *   train_mlp [--steps N] [--hidden N] [--batch N] [--lr X]
 *             [--backend cpu|cuda|auto] [--graph] [--help]
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fusedopt.h"
#include "mlp.h"

/* ------------------------------------------------------------------ */
/* Small helpers: a seeded random generator and a clock                */
/* ------------------------------------------------------------------ */

/* splitmix64: tiny, fast and good enough for initial weights and data. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1): 53 random bits, never exactly 0 (safe for log). */
static double rng_uniform(uint64_t *state)
{
    return ((double)(rng_next(state) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Standard normal by the Box-Muller transform. */
static double rng_normal(uint64_t *state)
{
    const double two_pi = 6.283185307179586;
    double u1 = rng_uniform(state), u2 = rng_uniform(state);
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* The two-layer perceptron on the CPU, in plain loops                 */
/* ------------------------------------------------------------------ */

/* Forward pass over `rows` rows of x. Writes the hidden activations h
 * [rows, hidden] and the outputs yhat [rows, out]. */
static void mlp_forward(const mlp_config *c, const mlp_params *p, const float *x, int rows, float *h,
                        float *yhat)
{
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * c->in;
        float *hr = h + (size_t)r * c->hidden;
        for (int j = 0; j < c->hidden; j++) { /* h = tanh(x W1^T + b1) */
            const float *w = p->w1 + (size_t)j * c->in;
            float z = p->b1[j];
            for (int i = 0; i < c->in; i++) {
                z += xr[i] * w[i];
            }
            hr[j] = tanhf(z);
        }
        for (int o = 0; o < c->out; o++) { /* yhat = h W2^T + b2 */
            const float *w = p->w2 + (size_t)o * c->hidden;
            float z = p->b2[o];
            for (int j = 0; j < c->hidden; j++) {
                z += hr[j] * w[j];
            }
            yhat[(size_t)r * c->out + o] = z;
        }
    }
}

/* Mean squared error of yhat against y over rows * out numbers. When dy is
 * not NULL, also writes dLoss/dyhat = 2 (yhat - y) / (rows * out). */
static double mse(const mlp_config *c, const float *yhat, const float *y, int rows, float *dy)
{
    const size_t n = (size_t)rows * c->out;
    double sum = 0.0;
    for (size_t k = 0; k < n; k++) {
        const float diff = yhat[k] - y[k];
        sum += (double)diff * diff;
        if (dy) {
            dy[k] = 2.0f * diff / (float)n;
        }
    }
    return sum / (double)n;
}

/* Backward pass: from dy [rows, out] to the gradients g (same shapes as the
 * parameters). dh [rows, hidden] is scratch space. The chain rule, layer by layer:
 *   dW2 = dy^T h          db2 = column sums of dy
 *   dh  = dy W2           dz  = dh * (1 - h^2)     (tanh' = 1 - tanh^2)
 *   dW1 = dz^T x          db1 = column sums of dz                          */
static void mlp_backward(const mlp_config *c, const mlp_params *p, const float *x, int rows, const float *h,
                         const float *dy, float *dh, mlp_params *g)
{
    memset(g->w1, 0, sizeof(float) * (size_t)c->hidden * c->in);
    memset(g->b1, 0, sizeof(float) * (size_t)c->hidden);
    memset(g->w2, 0, sizeof(float) * (size_t)c->out * c->hidden);
    memset(g->b2, 0, sizeof(float) * (size_t)c->out);
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * c->in;
        const float *hr = h + (size_t)r * c->hidden;
        const float *dyr = dy + (size_t)r * c->out;
        float *dhr = dh + (size_t)r * c->hidden;
        memset(dhr, 0, sizeof(float) * (size_t)c->hidden);
        for (int o = 0; o < c->out; o++) {
            const float *w = p->w2 + (size_t)o * c->hidden;
            float *gw = g->w2 + (size_t)o * c->hidden;
            g->b2[o] += dyr[o];
            for (int j = 0; j < c->hidden; j++) {
                gw[j] += dyr[o] * hr[j];
                dhr[j] += dyr[o] * w[j];
            }
        }
        for (int j = 0; j < c->hidden; j++) {
            const float dz = dhr[j] * (1.0f - hr[j] * hr[j]);
            float *gw = g->w1 + (size_t)j * c->in;
            g->b1[j] += dz;
            for (int i = 0; i < c->in; i++) {
                gw[i] += dz * xr[i];
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* The CPU trainer                                                     */
/* ------------------------------------------------------------------ */

typedef struct cpu_trainer {
    mlp_config cfg;
    const mlp_dataset *data;
    mlp_params *params;   /* trained in place */
    mlp_params grads;     /* one allocation, carved into four tensors */
    float *h, *yhat, *dy, *dh;
    int batches;          /* batches per pass over the dataset */
    int cursor;           /* the next batch */
    double last_loss;
} cpu_trainer;

static int cpu_step(mlp_trainer *t)
{
    cpu_trainer *s = t->ctx;
    const mlp_config *c = &s->cfg;
    const size_t row0 = (size_t)s->cursor * c->batch;
    const float *x = s->data->x + row0 * c->in;
    const float *y = s->data->y + row0 * c->out;
    s->cursor = (s->cursor + 1) % s->batches;

    mlp_forward(c, s->params, x, c->batch, s->h, s->yhat);
    s->last_loss = mse(c, s->yhat, y, c->batch, s->dy);
    mlp_backward(c, s->params, x, c->batch, s->h, s->dy, s->dh, &s->grads);
    /* The optimizer knows where the parameters and gradients live; one call
     * updates all four tensors with the lr of the current schedule step. */
    fopt_status st = fopt_step(t->opt);
    return st == FOPT_SUCCESS ? 0 : mlp_report_fopt_error("fopt_step", st, t->opt);
}

static int cpu_last_loss(mlp_trainer *t, double *loss)
{
    *loss = ((cpu_trainer *)t->ctx)->last_loss;
    return 0;
}

static int cpu_eval(mlp_trainer *t, double *loss)
{
    cpu_trainer *s = t->ctx;
    const mlp_config *c = &s->cfg;
    double sum = 0.0;
    for (int b = 0; b < s->batches; b++) {
        const size_t row0 = (size_t)b * c->batch;
        mlp_forward(c, s->params, s->data->x + row0 * c->in, c->batch, s->h, s->yhat);
        sum += mse(c, s->yhat, s->data->y + row0 * c->out, c->batch, NULL);
    }
    *loss = sum / s->batches;
    return 0;
}

static void cpu_destroy(mlp_trainer *t)
{
    cpu_trainer *s = t->ctx;
    fopt_destroy(t->opt);
    if (s) {
        free(s->grads.w1);
        free(s->h);
        free(s->yhat);
        free(s->dy);
        free(s->dh);
        free(s);
    }
}

/* Points four parameter/gradient pairs at the optimizer. */
static void describe_tensors(const mlp_config *c, const mlp_params *p, const mlp_params *g, fopt_tensor t[4])
{
    t[0] = (fopt_tensor){p->w1, g->w1, (size_t)c->hidden * c->in};
    t[1] = (fopt_tensor){p->b1, g->b1, (size_t)c->hidden};
    t[2] = (fopt_tensor){p->w2, g->w2, (size_t)c->out * c->hidden};
    t[3] = (fopt_tensor){p->b2, g->b2, (size_t)c->out};
}

static int cpu_trainer_create(mlp_trainer *t, const mlp_config *c, const mlp_dataset *data, mlp_params *params)
{
    cpu_trainer *s = calloc(1, sizeof *s);
    const size_t nw1 = (size_t)c->hidden * c->in, nw2 = (size_t)c->out * c->hidden;
    *t = (mlp_trainer){"cpu", NULL, s, cpu_step, cpu_last_loss, cpu_eval, cpu_destroy};
    if (!s || !(s->grads.w1 = malloc(sizeof(float) * (nw1 + c->hidden + nw2 + c->out))) ||
        !(s->h = malloc(sizeof(float) * (size_t)c->batch * c->hidden)) ||
        !(s->dh = malloc(sizeof(float) * (size_t)c->batch * c->hidden)) ||
        !(s->yhat = malloc(sizeof(float) * (size_t)c->batch * c->out)) ||
        !(s->dy = malloc(sizeof(float) * (size_t)c->batch * c->out))) {
        fprintf(stderr, "train_mlp: out of memory\n");
        return 1;
    }
    s->cfg = *c;
    s->data = data;
    s->params = params;
    s->batches = c->samples / c->batch;
    s->grads.b1 = s->grads.w1 + nw1;
    s->grads.w2 = s->grads.b1 + c->hidden;
    s->grads.b2 = s->grads.w2 + nw2;

    fopt_tensor tensors[4];
    describe_tensors(c, params, &s->grads, tensors);
    fopt_options options = mlp_optimizer_options(c);
    options.backend = FOPT_BACKEND_CPU;
    fopt_status st = fopt_create(&t->opt, &options, tensors, 4);
    return st == FOPT_SUCCESS ? 0 : mlp_report_fopt_error("fopt_create", st, NULL);
}

/* ------------------------------------------------------------------ */
/* Data, parameters and the optimizer settings                         */
/* ------------------------------------------------------------------ */

/* Fills p with weights ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), like PyTorch's nn.Linear. */
static void init_params(const mlp_config *c, mlp_params *p, uint64_t *rng)
{
    const double a1 = 1.0 / sqrt((double)c->in), a2 = 1.0 / sqrt((double)c->hidden);
    for (size_t k = 0; k < (size_t)c->hidden * c->in; k++) p->w1[k] = (float)(a1 * (2.0 * rng_uniform(rng) - 1.0));
    for (int k = 0; k < c->hidden; k++) p->b1[k] = (float)(a1 * (2.0 * rng_uniform(rng) - 1.0));
    for (size_t k = 0; k < (size_t)c->out * c->hidden; k++) p->w2[k] = (float)(a2 * (2.0 * rng_uniform(rng) - 1.0));
    for (int k = 0; k < c->out; k++) p->b2[k] = (float)(a2 * (2.0 * rng_uniform(rng) - 1.0));
}

static int alloc_params(const mlp_config *c, int hidden, mlp_params *p)
{
    const size_t nw1 = (size_t)hidden * c->in, nw2 = (size_t)c->out * hidden;
    p->w1 = malloc(sizeof(float) * (nw1 + hidden + nw2 + c->out));
    if (!p->w1) {
        return 1;
    }
    p->b1 = p->w1 + nw1;
    p->w2 = p->b1 + hidden;
    p->b2 = p->w2 + nw2;
    return 0;
}

/* The dataset: x ~ N(0, 1) and y = teacher(x), where the teacher is a random
 * tanh network with 32 hidden units (weights ~ N(0, 1/fan_in), scaled so that
 * y has a spread of about 1). A student with enough hidden units can fit it. */
static int make_dataset(const mlp_config *c, mlp_dataset *d, uint64_t *rng)
{
    mlp_config tc = *c;
    mlp_params teacher;
    tc.hidden = 32;
    d->x = malloc(sizeof(float) * (size_t)c->samples * c->in);
    d->y = malloc(sizeof(float) * (size_t)c->samples * c->out);
    float *h = malloc(sizeof(float) * (size_t)c->samples * tc.hidden);
    if (!d->x || !d->y || !h || alloc_params(&tc, tc.hidden, &teacher)) {
        free(h);
        return 1;
    }
    for (size_t k = 0; k < (size_t)tc.hidden * c->in; k++) teacher.w1[k] = (float)(rng_normal(rng) / sqrt(c->in));
    for (int k = 0; k < tc.hidden; k++) teacher.b1[k] = (float)(0.5 * rng_normal(rng));
    for (size_t k = 0; k < (size_t)c->out * tc.hidden; k++) teacher.w2[k] = (float)(2.0 * rng_normal(rng) / sqrt(tc.hidden));
    for (int k = 0; k < c->out; k++) teacher.b2[k] = (float)(0.5 * rng_normal(rng));
    for (size_t k = 0; k < (size_t)c->samples * c->in; k++) d->x[k] = (float)rng_normal(rng);
    mlp_forward(&tc, &teacher, d->x, c->samples, h, d->y);
    free(teacher.w1);
    free(h);
    return 0;
}

fopt_options mlp_optimizer_options(const mlp_config *c)
{
    /* Parameter groups as usual: the weights decay, the biases do not. One
     * value per tensor, in the order of the tensor list (w1, b1, w2, b2). */
    static const double tensor_weight_decay[4] = {1e-4, 0.0, 1e-4, 0.0};
    fopt_options o = fopt_default_options(FOPT_ADAMW); /* betas (0.9, 0.999), eps 1e-8 */
    o.weight_decay = 1e-4;
    o.tensor_weight_decay = tensor_weight_decay;
    o.schedule.kind = FOPT_SCHEDULE_WARMUP_COSINE;
    o.schedule.base_lr = c->lr;
    o.schedule.eta_min = c->lr / 100.0;
    o.schedule.t_max = c->steps;             /* the whole run, warmup included */
    o.schedule.warmup_steps = c->steps / 20; /* 5% warmup (0 for tiny runs: plain cosine) */
    o.schedule.warmup_start_factor = 0.1;
    o.steps_per_epoch = 1;                   /* the schedule advances every optimizer step */
    o.track_grad_norm = 1;                   /* the global gradient norm, for the progress lines */
    return o;
}

int mlp_report_fopt_error(const char *what, fopt_status status, const fopt_optimizer *opt)
{
    fprintf(stderr, "train_mlp: %s: %s: %s\n", what, fopt_status_string(status), fopt_last_error(opt));
    return 1;
}

/* ------------------------------------------------------------------ */
/* Command line                                                        */
/* ------------------------------------------------------------------ */

typedef enum { WANT_AUTO, WANT_CPU, WANT_CUDA } backend_choice;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: train_mlp [options]\n"
            "Trains a two-layer MLP on a synthetic regression task with fused AdamW\n"
            "(linear warmup + cosine schedule evaluated by the optimizer) and checks\n"
            "that the loss falls by at least 10x.\n\n"
            "  --steps N        optimizer steps (default 3000)\n"
            "  --hidden N       hidden units (default 64)\n"
            "  --batch N        rows per step (default 128)\n"
            "  --lr X           peak learning rate (default 0.01)\n"
            "  --backend NAME   cpu, cuda or auto (default auto: cuda when built with CUDA\n"
            "                   and a device is usable, else cpu)\n"
            "  --graph          CUDA: capture the whole training step in a CUDA graph\n"
            "  --help           this text\n");
}

/* Parses an integer flag value in [lo, hi]; on error prints one line, exits 2. */
static long long parse_int(const char *flag, const char *text, long long lo, long long hi)
{
    char *end = NULL;
    errno = 0;
    long long v = text ? strtoll(text, &end, 10) : 0;
    if (!text || end == text || *end != '\0' || errno || v < lo || v > hi) {
        fprintf(stderr, "train_mlp: %s needs an integer in [%lld, %lld], got '%s'\n", flag, lo, hi,
                text ? text : "(nothing)");
        exit(2);
    }
    return v;
}

static double parse_double(const char *flag, const char *text, double lo, double hi)
{
    char *end = NULL;
    errno = 0;
    double v = text ? strtod(text, &end) : 0.0;
    if (!text || end == text || *end != '\0' || errno || !(v >= lo && v <= hi)) {
        fprintf(stderr, "train_mlp: %s needs a number in [%g, %g], got '%s'\n", flag, lo, hi,
                text ? text : "(nothing)");
        exit(2);
    }
    return v;
}

static void parse_args(int argc, char **argv, mlp_config *c, backend_choice *backend)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--graph")) {
            c->graph = 1;
            continue;
        } else if (!strcmp(a, "--steps")) {
            c->steps = parse_int(a, v, 1, 100000000);
        } else if (!strcmp(a, "--hidden")) {
            c->hidden = (int)parse_int(a, v, 1, 16384);
        } else if (!strcmp(a, "--batch")) {
            c->batch = (int)parse_int(a, v, 1, 65536);
        } else if (!strcmp(a, "--lr")) {
            c->lr = parse_double(a, v, 1e-8, 10.0);
        } else if (!strcmp(a, "--backend")) {
            if (v && !strcmp(v, "cpu")) *backend = WANT_CPU;
            else if (v && !strcmp(v, "cuda")) *backend = WANT_CUDA;
            else if (v && !strcmp(v, "auto")) *backend = WANT_AUTO;
            else {
                fprintf(stderr, "train_mlp: --backend needs cpu, cuda or auto, got '%s'\n", v ? v : "(nothing)");
                exit(2);
            }
        } else {
            fprintf(stderr, "train_mlp: unknown option '%s' (try --help)\n", a);
            exit(2);
        }
        i++; /* the flag took a value */
    }
}

/* ------------------------------------------------------------------ */
/* The training loop                                                   */
/* ------------------------------------------------------------------ */

/* Chooses and builds the trainer; returns 0 on success. */
static int make_trainer(mlp_trainer *t, backend_choice want, const mlp_config *c, const mlp_dataset *data,
                        mlp_params *params)
{
#ifdef FOPT_EXAMPLE_CUDA
    if (want == WANT_CUDA || (want == WANT_AUTO && mlp_cuda_device_usable())) {
        if (!mlp_cuda_device_usable()) {
            fprintf(stderr, "train_mlp: --backend cuda: no usable CUDA device\n");
            return 1;
        }
        return mlp_cuda_trainer_create(t, c, data, params);
    }
#else
    if (want == WANT_CUDA) {
        fprintf(stderr, "train_mlp: --backend cuda: this build has no CUDA support "
                        "(fusedopt was built without CUDA or cuBLAS was not found)\n");
        return 1;
    }
#endif
    if (c->graph) {
        fprintf(stderr, "train_mlp: --graph needs the CUDA backend, but the run uses the CPU\n");
        return 1;
    }
    return cpu_trainer_create(t, c, data, params);
}

int main(int argc, char **argv)
{
    mlp_config c = {.in = 16, .hidden = 64, .out = 4, .batch = 128, .steps = 3000, .lr = 1e-2};
    backend_choice want = WANT_AUTO;
    parse_args(argc, argv, &c, &want);
    /* Whole batches only: the dataset holds about 8192 rows, at least one batch. */
    c.samples = c.batch * ((8192 + c.batch - 1) / c.batch);

    uint64_t rng = 20240501; /* fixed seed: every run sees the same data and initial weights */
    mlp_dataset data = {0};
    mlp_params params = {0};
    mlp_trainer t = {0};
    int rc = 1;
    if (make_dataset(&c, &data, &rng) || alloc_params(&c, c.hidden, &params)) {
        fprintf(stderr, "train_mlp: out of memory\n");
        goto done;
    }
    init_params(&c, &params, &rng);
    if (make_trainer(&t, want, &c, &data, &params)) {
        goto done;
    }

    const fopt_options o = mlp_optimizer_options(&c);
    const size_t nparams = (size_t)c.hidden * c.in + c.hidden + (size_t)c.out * c.hidden + c.out;
    printf("train_mlp: backend %s; MLP %d -> %d (tanh) -> %d, %zu parameters; %d samples, batch %d, %lld steps\n",
           t.name, c.in, c.hidden, c.out, nparams, c.samples, c.batch, (long long)c.steps);
    printf("optimizer: fused AdamW (weight decay %g, biases none), lr %g, linear warmup %lld steps from %g, "
           "then cosine to %g\n",
           o.weight_decay, c.lr, (long long)o.schedule.warmup_steps, c.lr * o.schedule.warmup_start_factor,
           o.schedule.eta_min);

    double first_loss, final_loss, batch_loss, lr, grad_norm;
    if (t.eval(&t, &first_loss)) {
        goto done;
    }
    printf("%8s  %12s  %12s  %12s  %10s\n", "step", "batch loss", "grad norm", "lr", "steps/s");

    const int64_t every = c.steps >= 10 ? c.steps / 10 : 1; /* about ten progress lines */
    const double t0 = now_seconds();
    double t_last = t0;
    int64_t step_last = 0;
    for (int64_t step = 1; step <= c.steps; step++) {
        if (t.step(&t)) {
            goto done;
        }
        if (step == 1 || step % every == 0 || step == c.steps) {
            /* Reading the loss, the norm and the lr waits for the device (CUDA); do it rarely. */
            fopt_status st = fopt_get_last_lr(t.opt, &lr);
            if (st != FOPT_SUCCESS) {
                rc = mlp_report_fopt_error("fopt_get_last_lr", st, t.opt);
                goto done;
            }
            if ((st = fopt_get_grad_norm(t.opt, &grad_norm)) != FOPT_SUCCESS) {
                rc = mlp_report_fopt_error("fopt_get_grad_norm", st, t.opt);
                goto done;
            }
            if (t.last_loss(&t, &batch_loss)) {
                goto done;
            }
            const double now = now_seconds();
            printf("%8lld  %12.4e  %12.4e  %12.4e  %10.0f\n", (long long)step, batch_loss, grad_norm, lr,
                   (double)(step - step_last) / (now - t_last));
            t_last = now;
            step_last = step;
        }
    }
    const double seconds = now_seconds() - t0;
    if (t.eval(&t, &final_loss)) {
        goto done;
    }

    const double fall = first_loss / final_loss;
    printf("summary: dataset loss %.4e -> %.4e (%.0fx lower) in %lld steps, %.2f s (%.0f steps/s), backend %s\n",
           first_loss, final_loss, fall, (long long)c.steps, seconds, (double)c.steps / seconds, t.name);
    if (!(fall >= 10.0)) {
        fprintf(stderr, "train_mlp: FAILED: the loss fell only %.2fx, expected at least 10x\n", fall);
        goto done;
    }
    rc = 0;
done:
    if (t.destroy) {
        t.destroy(&t);
    }
    free(params.w1);
    free(data.x);
    free(data.y);
    return rc;
}
