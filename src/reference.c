/*
 * CPU reference optimizers: double precision, one element at a time, written
 * to be read next to PyTorch's torch.optim.SGD / Adam / AdamW (single-tensor,
 * non-foreach path). Speed is not a goal here; see cpu_backend.c for that.
 */
#include <math.h>

#include "reference.h"

static void reference_sgd(const fopt_options *o, double lr, int64_t step, size_t n,
                          double *param, const double *grad, double *buf)
{
    for (size_t i = 0; i < n; i++) {
        double g = o->maximize ? -grad[i] : grad[i];
        if (o->weight_decay != 0.0) {
            g += o->weight_decay * param[i];
        }
        if (o->momentum != 0.0) {
            if (step == 1) {
                buf[i] = g; /* PyTorch: the first buffer is the gradient itself, no dampening */
            } else {
                buf[i] = o->momentum * buf[i] + (1.0 - o->dampening) * g;
            }
            g = o->nesterov ? g + o->momentum * buf[i] : buf[i];
        }
        param[i] -= lr * g;
    }
}

static void reference_adam(const fopt_options *o, double lr, int64_t step, size_t n,
                           double *param, const double *grad, fopt_reference_state *s)
{
    const double bias_correction1 = 1.0 - pow(o->beta1, (double)step);
    const double bias_correction2 = 1.0 - pow(o->beta2, (double)step);
    const double step_size = lr / bias_correction1;
    const double bias_correction2_sqrt = sqrt(bias_correction2);
    for (size_t i = 0; i < n; i++) {
        double g = o->maximize ? -grad[i] : grad[i];
        if (o->algorithm == FOPT_ADAMW) {
            param[i] *= 1.0 - lr * o->weight_decay;
        } else if (o->weight_decay != 0.0) {
            g += o->weight_decay * param[i];
        }
        s->exp_avg[i] = o->beta1 * s->exp_avg[i] + (1.0 - o->beta1) * g;
        s->exp_avg_sq[i] = o->beta2 * s->exp_avg_sq[i] + (1.0 - o->beta2) * g * g;
        double second_moment = s->exp_avg_sq[i];
        if (o->amsgrad) {
            /* PyTorch keeps the maximum of the raw (not bias-corrected) second
             * moment, with torch.maximum: a NaN on either side gives NaN. */
            const double a = s->max_exp_avg_sq[i], b = s->exp_avg_sq[i];
            s->max_exp_avg_sq[i] = isnan(a) || isnan(b) ? NAN : fmax(a, b);
            second_moment = s->max_exp_avg_sq[i];
        }
        /* eps is added after the bias-corrected square root. */
        const double denom = sqrt(second_moment) / bias_correction2_sqrt + o->eps;
        param[i] -= step_size * s->exp_avg[i] / denom;
    }
}

double fopt_reference_initial_state(const fopt_options *options, int array)
{
    return options->algorithm == FOPT_ADAGRAD && array == 0 ? options->initial_accumulator_value : 0.0;
}

fopt_options fopt_reference_tensor_options(const fopt_options *options, size_t t)
{
    fopt_options o = *options;
    if (options->tensor_weight_decay) {
        o.weight_decay = options->tensor_weight_decay[t];
    }
    if (options->tensor_base_lr) {
        o.schedule.base_lr = options->tensor_base_lr[t];
    }
    o.tensor_weight_decay = NULL;
    o.tensor_base_lr = NULL;
    return o;
}

static void reference_adagrad(const fopt_options *o, double lr, int64_t step, size_t n, double *param,
                              const double *grad, double *state_sum)
{
    const double clr = lr / (1.0 + (double)(step - 1) * o->lr_decay);
    for (size_t i = 0; i < n; i++) {
        double g = o->maximize ? -grad[i] : grad[i];
        if (o->weight_decay != 0.0) {
            g += o->weight_decay * param[i];
        }
        state_sum[i] += g * g;
        /* eps is added after the square root, as in PyTorch. */
        param[i] -= clr * g / (sqrt(state_sum[i]) + o->eps);
    }
}

static void reference_rmsprop(const fopt_options *o, double lr, size_t n, double *param, const double *grad,
                              fopt_reference_state *s)
{
    for (size_t i = 0; i < n; i++) {
        double g = o->maximize ? -grad[i] : grad[i];
        if (o->weight_decay != 0.0) {
            g += o->weight_decay * param[i];
        }
        s->exp_avg_sq[i] = o->alpha * s->exp_avg_sq[i] + (1.0 - o->alpha) * g * g; /* square_avg */
        double avg;
        if (o->centered) {
            s->exp_avg[i] = o->alpha * s->exp_avg[i] + (1.0 - o->alpha) * g; /* grad_avg */
            avg = sqrt(s->exp_avg_sq[i] - s->exp_avg[i] * s->exp_avg[i]);
        } else {
            avg = sqrt(s->exp_avg_sq[i]);
        }
        avg += o->eps;
        if (o->momentum > 0.0) {
            s->momentum_buffer[i] = o->momentum * s->momentum_buffer[i] + g / avg;
            param[i] -= lr * s->momentum_buffer[i];
        } else {
            param[i] -= lr * g / avg;
        }
    }
}

void fopt_reference_step(const fopt_options *options, double lr, int64_t step, size_t n,
                         double *param, const double *grad, fopt_reference_state *state)
{
    if (options->algorithm == FOPT_SGD) {
        reference_sgd(options, lr, step, n, param, grad, state->momentum_buffer);
    } else if (options->algorithm == FOPT_ADAGRAD) {
        reference_adagrad(options, lr, step, n, param, grad, state->state_sum);
    } else if (options->algorithm == FOPT_RMSPROP) {
        reference_rmsprop(options, lr, n, param, grad, state);
    } else {
        reference_adam(options, lr, step, n, param, grad, state);
    }
}

int fopt_reference_unscale_clip(const fopt_options *options, double scale, size_t num_tensors,
                                const size_t *numel, double *const *grads, double *grad_norm)
{
    const float inv_scale = (float)(1.0 / scale);
    double sum_squares = 0.0;
    for (size_t t = 0; t < num_tensors; t++) {
        for (size_t i = 0; i < numel[t]; i++) {
            const double u = (float)grads[t][i] * inv_scale;
            sum_squares += u * u;
        }
    }
    if (grad_norm) {
        *grad_norm = sqrt(sum_squares);
    }
    /* Squares of fp32 values summed in double cannot overflow: the sum is
     * inf or NaN exactly when some unscaled gradient is. */
    if (options->grad_scaling && !isfinite(sum_squares)) {
        return 1;
    }
    double coef = 1.0;
    if (options->max_grad_norm > 0.0) {
        const double c = options->max_grad_norm / (sqrt(sum_squares) + 1e-6);
        coef = c >= 1.0 ? 1.0 : c; /* torch.clamp(max=1) keeps a NaN */
    }
    for (size_t t = 0; t < num_tensors; t++) {
        for (size_t i = 0; i < numel[t]; i++) {
            grads[t][i] = (double)((float)grads[t][i] * inv_scale) * coef;
        }
    }
    return 0;
}

void fopt_reference_update_scale(const fopt_options *options, int skipped, double *scale,
                                 int64_t *growth_tracker)
{
    if (skipped) {
        *scale = (float)(*scale * options->backoff_factor);
        *growth_tracker = 0;
    } else if (++*growth_tracker == options->growth_interval) {
        const float grown = (float)(*scale * options->growth_factor);
        if (isfinite(grown)) {
            *scale = grown;
        }
        *growth_tracker = 0;
    }
}
