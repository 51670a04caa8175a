/* Checkpoint format helpers: CRC-32, little-endian codecs, the option list. */
#include <pthread.h>
#include <string.h>

#include "checkpoint_format.h"
#include "internal.h"

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/* The byte-wise table of the reflected polynomial 0xEDB88320. */
static void crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        crc_table[n] = c;
    }
}

uint32_t fopt_crc32(uint32_t crc, const void *data, size_t size)
{
    const unsigned char *p = data;
    pthread_once(&crc_once, crc_init);
    crc = ~crc;
    for (size_t i = 0; i < size; i++) {
        crc = crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    }
    return ~crc;
}

void fopt_put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

void fopt_put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

void fopt_put_f64(unsigned char *p, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    fopt_put_u64(p, bits);
}

uint32_t fopt_get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        v |= (uint32_t)p[i] << (8 * i);
    }
    return v;
}

uint64_t fopt_get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

double fopt_get_f64(const unsigned char *p)
{
    uint64_t bits = fopt_get_u64(p);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

void fopt_floats_to_le(unsigned char *dst, const float *src, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &src[i], 4);
        fopt_put_u32(dst + 4 * i, bits);
    }
#else
    memcpy(dst, src, n * sizeof(float));
#endif
}

void fopt_floats_from_le(float *dst, const unsigned char *src, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = fopt_get_u32(src + 4 * i);
        memcpy(&dst[i], &bits, 4);
    }
#else
    memcpy(dst, src, n * sizeof(float));
#endif
}

static void add_i(fopt_ckpt_option *out, size_t *n, const char *name, int64_t v)
{
    out[*n] = (fopt_ckpt_option){name, 'i', v, 0.0};
    *n += 1;
}

static void add_d(fopt_ckpt_option *out, size_t *n, const char *name, double v)
{
    out[*n] = (fopt_ckpt_option){name, 'd', 0, v};
    *n += 1;
}

size_t fopt_ckpt_options(const fopt_options *o, fopt_ckpt_option *out)
{
    size_t n = 0;
    const fopt_schedule *s = &o->schedule;
    add_i(out, &n, "algorithm", o->algorithm);
    add_i(out, &n, "amsgrad", o->amsgrad != 0);
    add_i(out, &n, "param_dtype", o->param_dtype);
    add_i(out, &n, "grad_dtype", o->grad_dtype);
    add_d(out, &n, "momentum", o->momentum);
    add_d(out, &n, "weight_decay", o->weight_decay);
    add_i(out, &n, "maximize", o->maximize != 0);
    add_d(out, &n, "dampening", o->dampening);
    add_i(out, &n, "nesterov", o->nesterov != 0);
    add_d(out, &n, "beta1", o->beta1);
    add_d(out, &n, "beta2", o->beta2);
    add_d(out, &n, "eps", o->eps);
    add_d(out, &n, "lr_decay", o->lr_decay);
    add_d(out, &n, "initial_accumulator_value", o->initial_accumulator_value);
    add_d(out, &n, "alpha", o->alpha);
    add_i(out, &n, "centered", o->centered != 0);
    add_i(out, &n, "steps_per_epoch", o->steps_per_epoch);
    add_i(out, &n, "schedule.kind", s->kind);
    add_d(out, &n, "schedule.base_lr", s->base_lr);
    add_d(out, &n, "schedule.eta_min", s->eta_min);
    add_i(out, &n, "schedule.t_max", s->t_max);
    add_i(out, &n, "schedule.t_0", s->t_0);
    add_i(out, &n, "schedule.t_mult", s->t_mult);
    add_d(out, &n, "schedule.restart_decay", s->restart_decay);
    add_i(out, &n, "schedule.warmup_steps", s->warmup_steps);
    add_d(out, &n, "schedule.warmup_start_factor", s->warmup_start_factor);
    add_i(out, &n, "schedule.step_size", s->step_size);
    add_d(out, &n, "schedule.gamma", s->gamma);
    add_i(out, &n, "grad_scaling", o->grad_scaling != 0);
    add_d(out, &n, "init_scale", o->init_scale);
    add_d(out, &n, "growth_factor", o->growth_factor);
    add_d(out, &n, "backoff_factor", o->backoff_factor);
    add_i(out, &n, "growth_interval", o->growth_interval);
    add_d(out, &n, "max_grad_norm", o->max_grad_norm);
    add_i(out, &n, "stochastic_rounding", o->stochastic_rounding != 0);
    add_i(out, &n, "stochastic_rounding_seed", (int64_t)o->stochastic_rounding_seed);
    return n;
}
