/*
 * Shared definitions of the train_mlp example: the problem sizes, the
 * synthetic dataset, and the small "trainer" interface that the CPU version
 * (train_mlp.c, plain C loops) and the CUDA version (train_mlp_cuda.cu,
 * cuBLAS GEMMs + a few kernels) both implement.
 *
 * The model is a two-layer perceptron trained by mean squared error:
 *
 *     h    = tanh(x W1^T + b1)          x: [batch, in],  W1: [hidden, in]
 *     yhat = h W2^T + b2                h: [batch, hidden], W2: [out, hidden]
 *     loss = mean((yhat - y)^2)         over batch * out numbers
 *
 * All matrices are row-major fp32. The four parameter tensors (W1, b1, W2, b2)
 * and their gradients are handed to one fusedopt optimizer.
 */
#ifndef FOPT_EXAMPLE_MLP_H
#define FOPT_EXAMPLE_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "fusedopt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Problem sizes and training settings (filled from the command line). */
typedef struct mlp_config {
    int in, hidden, out;   /* layer widths */
    int batch;             /* rows per optimizer step */
    int samples;           /* dataset rows: a multiple of batch */
    int64_t steps;         /* optimizer steps */
    double lr;             /* peak learning rate */
    int graph;             /* CUDA only: capture one step in a CUDA graph */
} mlp_config;

/* The dataset, in host memory: x is [samples, in], y is [samples, out]. */
typedef struct mlp_dataset {
    float *x;
    float *y;
} mlp_dataset;

/* The parameters of the student network. The CPU trainer trains these
 * arrays in place; the CUDA trainer copies them to the device at start so
 * both backends begin from the same initial weights. */
typedef struct mlp_params {
    float *w1, *b1, *w2, *b2;
} mlp_params;

/*
 * One way of running the training step. Each function returns 0 on success
 * and nonzero after printing a message to stderr.
 *   step:     forward + backward on the next batch, then fopt_step.
 *   last_loss: the loss of the most recent step's batch (before its update).
 *   eval:     the loss over the whole dataset with the current parameters.
 */
typedef struct mlp_trainer {
    const char *name;            /* "cpu", "cuda" or "cuda+graph" */
    fopt_optimizer *opt;         /* the fused AdamW optimizer over W1, b1, W2, b2 */
    void *ctx;                   /* the implementation's own state */
    int (*step)(struct mlp_trainer *t);
    int (*last_loss)(struct mlp_trainer *t, double *loss);
    int (*eval)(struct mlp_trainer *t, double *loss);
    void (*destroy)(struct mlp_trainer *t);
} mlp_trainer;

/* The optimizer options both trainers use: AdamW with linear warmup and then
 * cosine annealing over the whole run, the schedule advancing every step. */
fopt_options mlp_optimizer_options(const mlp_config *cfg);

/* Prints "train_mlp: <what>: <fopt status and message>" to stderr, returns 1. */
int mlp_report_fopt_error(const char *what, fopt_status status, const fopt_optimizer *opt);

#ifdef FOPT_EXAMPLE_CUDA
/* 1 when a CUDA device is usable. */
int mlp_cuda_device_usable(void);
/* Builds the CUDA trainer; returns 0 on success. */
int mlp_cuda_trainer_create(mlp_trainer *t, const mlp_config *cfg, const mlp_dataset *data,
                            const mlp_params *init);
#endif

#ifdef __cplusplus
}
#endif

#endif /* FOPT_EXAMPLE_MLP_H */
