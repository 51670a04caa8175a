/*
 * CPU backend: fp32 parameters, gradients and state in host memory, updated
 * in place. Per-step scalars (learning rate, bias corrections) are computed
 * once in double, the element loops run in fp32 like the CUDA kernels.
 */
#include <math.h>
#include <stdlib.h>

#include "internal.h"
#include "schedule_eval.h"

typedef struct cpu_state {
    float *arrays[3]; /* state arrays of total_numel floats, see fopt_state_arrays */
    int64_t step;
    int64_t epoch;
    double last_lr;
} cpu_state;

typedef struct step_scalars {
    float lr;
    float weight_decay;
    float momentum;
    float dampening_complement; /* 1 - dampening */
    float beta1, beta2;
    float step_size;            /* lr / (1 - beta1^k) */
    float bias_correction2_sqrt;
    float eps;
    float decoupled_decay;      /* AdamW: 1 - lr * weight_decay */
    int first_step;
} step_scalars;

static void sgd_tensor(const fopt_options *o, const step_scalars *c, size_t n,
                       float *restrict p, const float *restrict grad, float *restrict buf)
{
    const float sign = o->maximize ? -1.0f : 1.0f;
    for (size_t i = 0; i < n; i++) {
        float g = sign * grad[i] + c->weight_decay * p[i];
        if (buf) {
            buf[i] = c->first_step ? g : c->momentum * buf[i] + c->dampening_complement * g;
            g = o->nesterov ? g + c->momentum * buf[i] : buf[i];
        }
        p[i] -= c->lr * g;
    }
}

static void adam_tensor(const fopt_options *o, const step_scalars *c, size_t n, float *restrict p,
                        const float *restrict grad, float *restrict m, float *restrict v,
                        float *restrict vmax)
{
    const float sign = o->maximize ? -1.0f : 1.0f;
    const int adamw = o->algorithm == FOPT_ADAMW;
    for (size_t i = 0; i < n; i++) {
        float g = sign * grad[i];
        float param = p[i];
        if (adamw) {
            param *= c->decoupled_decay;
        } else {
            g += c->weight_decay * param;
        }
        m[i] = c->beta1 * m[i] + (1.0f - c->beta1) * g;
        v[i] = c->beta2 * v[i] + (1.0f - c->beta2) * g * g;
        float second = v[i];
        if (vmax) {
            vmax[i] = fmaxf(vmax[i], second);
            second = vmax[i];
        }
        const float denom = sqrtf(second) / c->bias_correction2_sqrt + c->eps;
        p[i] = param - c->step_size * m[i] / denom;
    }
}

static step_scalars make_scalars(const fopt_options *o, double lr, int64_t k)
{
    step_scalars c;
    c.lr = (float)lr;
    c.weight_decay = (float)o->weight_decay;
    c.momentum = (float)o->momentum;
    c.dampening_complement = (float)(1.0 - o->dampening);
    c.beta1 = (float)o->beta1;
    c.beta2 = (float)o->beta2;
    c.step_size = (float)(lr / (1.0 - pow(o->beta1, (double)k)));
    c.bias_correction2_sqrt = (float)sqrt(1.0 - pow(o->beta2, (double)k));
    c.eps = (float)o->eps;
    c.decoupled_decay = (float)(1.0 - lr * o->weight_decay);
    c.first_step = k == 1;
    return c;
}

static fopt_status cpu_create(fopt_optimizer *opt)
{
    cpu_state *s = calloc(1, sizeof *s);
    if (!s) {
        return fopt_fail(opt, FOPT_ERROR_OUT_OF_MEMORY, "out of host memory for the CPU backend");
    }
    int count = fopt_state_arrays(&opt->options);
    for (int a = 0; a < count; a++) {
        s->arrays[a] = calloc(opt->total_numel ? opt->total_numel : 1, sizeof(float));
        if (!s->arrays[a]) {
            for (int b = 0; b < a; b++) {
                free(s->arrays[b]);
            }
            free(s);
            return fopt_fail(opt, FOPT_ERROR_OUT_OF_MEMORY,
                             "out of host memory for %zu optimizer state elements", opt->total_numel);
        }
    }
    s->last_lr = fopt_schedule_eval(&opt->options.schedule, 0);
    opt->backend_state = s;
    return FOPT_SUCCESS;
}

static void cpu_destroy(fopt_optimizer *opt)
{
    cpu_state *s = opt->backend_state;
    if (!s) {
        return;
    }
    for (int a = 0; a < 3; a++) {
        free(s->arrays[a]);
    }
    free(s);
}

static float *state_at(const cpu_state *s, int array, size_t offset)
{
    return s->arrays[array] ? s->arrays[array] + offset : NULL;
}

static fopt_status cpu_step(fopt_optimizer *opt)
{
    cpu_state *s = opt->backend_state;
    const fopt_options *o = &opt->options;
    const int64_t k = s->step + 1;
    const double lr = fopt_schedule_eval(&o->schedule, s->epoch);
    const step_scalars c = make_scalars(o, lr, k);
    for (size_t t = 0; t < opt->num_tensors; t++) {
        const fopt_tensor *x = &opt->tensors[t];
        const size_t off = opt->offsets[t];
        if (o->algorithm == FOPT_SGD) {
            sgd_tensor(o, &c, x->numel, x->param, x->grad, state_at(s, 0, off));
        } else {
            adam_tensor(o, &c, x->numel, x->param, x->grad, state_at(s, 0, off), state_at(s, 1, off),
                        state_at(s, 2, off));
        }
    }
    s->step = k;
    s->last_lr = lr;
    if (o->steps_per_epoch > 0 && k % o->steps_per_epoch == 0) {
        s->epoch += 1;
    }
    return FOPT_SUCCESS;
}

static fopt_status cpu_add_epochs(fopt_optimizer *opt, int64_t delta)
{
    cpu_state *s = opt->backend_state;
    s->epoch += delta;
    return FOPT_SUCCESS;
}

static fopt_status cpu_set_epoch(fopt_optimizer *opt, int64_t epoch)
{
    cpu_state *s = opt->backend_state;
    s->epoch = epoch;
    return FOPT_SUCCESS;
}

static fopt_status cpu_read_counters(fopt_optimizer *opt, int64_t *step, int64_t *epoch, double *last_lr)
{
    const cpu_state *s = opt->backend_state;
    *step = s->step;
    *epoch = s->epoch;
    *last_lr = s->last_lr;
    return FOPT_SUCCESS;
}

const fopt_backend_ops fopt_cpu_backend_ops = {
    cpu_create, cpu_destroy, cpu_step, cpu_add_epochs, cpu_set_epoch, cpu_read_counters,
};
