/*
 * The checkpoint file format (version 2), shared by src/checkpoint.c, the
 * tests and the fuzz targets. All integers and floats are little-endian.
 *
 *   offset  size  field
 *   0       8     magic "FOPTCKPT"
 *   8       4     u32 format version (FOPT_CKPT_VERSION)
 *   12      4     u32 flags (0)
 *   16      8     u64 size of the whole file in bytes
 *   24      ...   the sections, in this order: OPTS, CNTR, TENS, STAT
 *   end-4   4     u32 CRC-32 of every byte before it
 *
 * A section is: 4-byte tag, u32 reserved (0), u64 payload length L, L bytes
 * of payload, u32 CRC-32 of the payload.
 *
 *   OPTS  u32 count, then per option: u8 name length N (1..63), N name bytes,
 *         u8 type ('i': i64 value, 'd': f64 value), 8 value bytes. Names as
 *         in fopt_options ("beta1", "schedule.t_max"); see fopt_ckpt_options.
 *   CNTR  i64 step, i64 epoch, f64 last_lr (lr of the most recent step),
 *         f64 loss scale, i64 growth tracker (1 and 0 without grad_scaling)
 *   TENS  u64 tensor count T, u32 state array count A, u32 reserved (0),
 *         T x (u64 numel, f64 weight decay of the tensor: its
 *         options.tensor_weight_decay entry, else options.weight_decay,
 *         f64 base lr of the tensor: its options.tensor_base_lr entry,
 *         else options.schedule.base_lr)
 *   STAT  A x T slices of f32: array 0 of tensor 0, of tensor 1, ...,
 *         then array 1, ... (each slice numel floats, no padding)
 */
#ifndef FOPT_CHECKPOINT_FORMAT_H
#define FOPT_CHECKPOINT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "fusedopt.h"

#define FOPT_CKPT_MAGIC "FOPTCKPT"
/* Version 2: TENS records each tensor's weight decay and base lr (version 1 had numel only). */
#define FOPT_CKPT_VERSION 2u
#define FOPT_CKPT_TENSOR_BYTES 24u /* a tensor's TENS entry: numel, weight decay, base lr */
#define FOPT_CKPT_HEADER_BYTES 24u
#define FOPT_CKPT_SECTION_BYTES 20u /* tag, reserved, length, crc: the bytes around a payload */
#define FOPT_CKPT_MAX_OPTIONS 48
#define FOPT_CKPT_MAX_NAME 63
#define FOPT_CKPT_COUNTER_BYTES 40u

/* One serialized option: an int64 or a double under its fopt_options name. */
typedef struct fopt_ckpt_option {
    const char *name;
    char type; /* 'i' or 'd' */
    int64_t i;
    double d;
} fopt_ckpt_option;

/* Fills `out` (FOPT_CKPT_MAX_OPTIONS entries) with the options a checkpoint
 * records and a load must match; returns the count. The algorithm is first.
 * New fopt_options fields that change the update belong here. */
size_t fopt_ckpt_options(const fopt_options *options, fopt_ckpt_option *out);

/* Little-endian encoding into / decoding from byte buffers. */
void fopt_put_u32(unsigned char *p, uint32_t v);
void fopt_put_u64(unsigned char *p, uint64_t v);
void fopt_put_f64(unsigned char *p, double v);
uint32_t fopt_get_u32(const unsigned char *p);
uint64_t fopt_get_u64(const unsigned char *p);
double fopt_get_f64(const unsigned char *p);
/* n floats between host order and little-endian bytes (a copy on LE hosts). */
void fopt_floats_to_le(unsigned char *dst, const float *src, size_t n);
void fopt_floats_from_le(float *dst, const unsigned char *src, size_t n);

#endif
