/*
 * libFuzzer target: bytes as a checkpoint file for fopt_load on a small CPU
 * optimizer. A failed load must change nothing (counters, last lr, state);
 * anything else aborts.
 *
 * The first input byte picks a mode: odd = after it the bytes get a correct
 * size field and correct CRCs (section and file) before loading, so the
 * fuzzer reaches the option, counter and tensor checks behind the checksums;
 * even = the bytes are loaded as they are.
 *
 * FOPT_FUZZ_WRITE_SEED=PATH: write a valid checkpoint of this optimizer to
 * PATH at start-up (how tests/fuzz/corpus/fuzz_checkpoint was made).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint_format.h"
#include "internal.h"

#define MAX_STATE_FLOATS (3 * 8)

static float params[8], grads[8];
static fopt_optimizer *opt;
static char path[64];

typedef struct snapshot {
    int64_t step, epoch;
    double last_lr;
    float state[MAX_STATE_FLOATS];
} snapshot;

static void take(snapshot *s)
{
    memset(s, 0, sizeof *s);
    if (opt->ops->read_counters(opt, &s->step, &s->epoch, &s->last_lr) != FOPT_SUCCESS) {
        abort();
    }
    float *out = s->state;
    for (int a = 0; a < fopt_state_arrays(&opt->options); a++) {
        for (size_t t = 0; t < opt->num_tensors; t++) {
            if (opt->ops->copy_state(opt, a, t, out, 1) != FOPT_SUCCESS) {
                abort();
            }
            out += opt->tensors[t].numel;
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fopt_options o = fopt_default_options(FOPT_ADAM);
    o.backend = FOPT_BACKEND_CPU;
    o.amsgrad = 1;
    o.schedule.kind = FOPT_SCHEDULE_WARMUP_COSINE;
    o.schedule.base_lr = 0.01;
    o.schedule.t_max = 10;
    o.schedule.warmup_steps = 2;
    o.steps_per_epoch = 1;
    static const double weight_decays[3] = {0.01, 0.0, 0.0};
    static const double base_lrs[3] = {0.01, 0.02, 0.005};
    o.tensor_weight_decay = weight_decays;
    o.tensor_base_lr = base_lrs;
    const fopt_tensor tensors[3] = {{params, grads, 3}, {params + 3, grads + 3, 0}, {params + 3, grads + 3, 5}};
    for (int i = 0; i < 8; i++) {
        params[i] = (float)i * 0.25f - 1.0f;
        grads[i] = 0.5f - (float)i * 0.125f;
    }
    if (fopt_create(&opt, &o, tensors, 3) != FOPT_SUCCESS || fopt_step(opt) != FOPT_SUCCESS ||
        fopt_step(opt) != FOPT_SUCCESS) {
        abort();
    }
    snprintf(path, sizeof path, "/tmp/fopt_fuzz_ckpt_%ld", (long)getpid());
    const char *seed = getenv("FOPT_FUZZ_WRITE_SEED");
    if (seed && fopt_save(opt, seed) != FOPT_SUCCESS) {
        abort();
    }
    return 0;
}

/* Makes the size field and every in-bounds CRC correct. */
static void fix_up(unsigned char *b, size_t n)
{
    if (n < FOPT_CKPT_HEADER_BYTES + 4) {
        return;
    }
    fopt_put_u64(b + 16, n);
    size_t pos = FOPT_CKPT_HEADER_BYTES;
    while (n - 4 - pos >= FOPT_CKPT_SECTION_BYTES && pos < n - 4) {
        const uint64_t len = fopt_get_u64(b + pos + 8);
        if (len > n - 4 - pos - FOPT_CKPT_SECTION_BYTES) {
            break;
        }
        fopt_put_u32(b + pos + 16 + len, fopt_crc32(0, b + pos + 16, (size_t)len));
        pos += FOPT_CKPT_SECTION_BYTES + (size_t)len;
    }
    fopt_put_u32(b + n - 4, fopt_crc32(0, b, n - 4));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    unsigned char *bytes = malloc(size);
    if (!bytes) {
        return 0;
    }
    memcpy(bytes, data + 1, size - 1);
    if (data[0] & 1) {
        fix_up(bytes, size - 1);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, size - 1, f) != size - 1 || fclose(f) != 0) {
        abort();
    }
    free(bytes);
    snapshot before, after;
    take(&before);
    const fopt_status status = fopt_load(opt, path);
    if (status != FOPT_SUCCESS) {
        take(&after);
        if (memcmp(&before, &after, sizeof before) != 0 || fopt_last_error(opt)[0] == '\0') {
            abort();
        }
    }
    unlink(path);
    return 0;
}
