/*
 * fopt_save: writes the optimizer's options, counters and state to a
 * checkpoint file (format: checkpoint_format.h), atomically: the bytes go to
 * a temporary file in the same directory, which is flushed, fsync'ed and
 * renamed over the destination; on any failure it is removed and an older
 * file at `path` stays as it was.
 */
#define _GNU_SOURCE /* mkstemp, fsync, dirname-free path handling */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint_format.h"
#include "internal.h"

/* Streams bytes to a file, keeping the CRC of everything written. */
typedef struct writer {
    FILE *file;
    uint32_t file_crc;
    int error; /* errno of the first failed write, 0 if none */
} writer;

static void put(writer *w, const void *bytes, size_t n)
{
    if (n == 0 || w->error) {
        return;
    }
    if (fwrite(bytes, 1, n, w->file) != n) {
        w->error = errno ? errno : EIO;
    }
    w->file_crc = fopt_crc32(w->file_crc, bytes, n);
}

static void put_section_head(writer *w, const char *tag, uint64_t length)
{
    unsigned char head[16];
    memcpy(head, tag, 4);
    fopt_put_u32(head + 4, 0);
    fopt_put_u64(head + 8, length);
    put(w, head, sizeof head);
}

static void put_crc(writer *w, uint32_t crc)
{
    unsigned char b[4];
    fopt_put_u32(b, crc);
    put(w, b, 4);
}

/* A whole small section from a buffer. */
static void put_section(writer *w, const char *tag, const unsigned char *payload, size_t length)
{
    put_section_head(w, tag, length);
    put(w, payload, length);
    put_crc(w, fopt_crc32(0, payload, length));
}

static size_t encode_options(const fopt_options *o, unsigned char *buf)
{
    fopt_ckpt_option list[FOPT_CKPT_MAX_OPTIONS];
    size_t count = fopt_ckpt_options(o, list);
    size_t n = 4;
    fopt_put_u32(buf, (uint32_t)count);
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(list[i].name);
        buf[n++] = (unsigned char)len;
        memcpy(buf + n, list[i].name, len);
        n += len;
        buf[n++] = (unsigned char)list[i].type;
        if (list[i].type == 'i') {
            fopt_put_u64(buf + n, (uint64_t)list[i].i);
        } else {
            fopt_put_f64(buf + n, list[i].d);
        }
        n += 8;
    }
    return n;
}

/* The STAT section: every tensor's slice of every state array, through a
 * host buffer of the largest tensor's size. */
static fopt_status put_state(fopt_optimizer *opt, writer *w, int arrays, size_t max_numel)
{
    const uint64_t length = (uint64_t)arrays * opt->total_numel * sizeof(float);
    float *host = malloc((max_numel ? max_numel : 1) * sizeof(float));
    unsigned char *bytes = malloc((max_numel ? max_numel : 1) * sizeof(float));
    if (!host || !bytes) {
        free(host);
        free(bytes);
        return fopt_fail(opt, FOPT_ERROR_OUT_OF_MEMORY, "out of host memory for a checkpoint buffer");
    }
    fopt_status status = FOPT_SUCCESS;
    uint32_t crc = 0;
    put_section_head(w, "STAT", length);
    for (int a = 0; a < arrays && status == FOPT_SUCCESS; a++) {
        for (size_t t = 0; t < opt->num_tensors && status == FOPT_SUCCESS; t++) {
            const size_t n = opt->tensors[t].numel;
            if ((status = opt->ops->copy_state(opt, a, t, host, 1)) != FOPT_SUCCESS) {
                break; /* the file is removed; nothing unread goes into it */
            }
            fopt_floats_to_le(bytes, host, n);
            put(w, bytes, n * sizeof(float));
            crc = fopt_crc32(crc, bytes, n * sizeof(float));
        }
    }
    put_crc(w, crc);
    free(host);
    free(bytes);
    return status;
}

/* Writes the whole checkpoint to an open file; IO errors land in w->error. */
static fopt_status write_checkpoint(fopt_optimizer *opt, writer *w)
{
    int64_t step, epoch;
    double last_lr;
    fopt_status status = opt->ops->read_counters(opt, &step, &epoch, &last_lr);
    if (status != FOPT_SUCCESS) {
        return status;
    }
    unsigned char opts[4 + FOPT_CKPT_MAX_OPTIONS * (1 + FOPT_CKPT_MAX_NAME + 1 + 8)];
    const size_t opts_len = encode_options(&opt->options, opts);
    double scale = 1.0;
    int64_t growth_tracker = 0;
    if (opt->options.grad_scaling && (status = opt->ops->read_scaler(opt, &scale, &growth_tracker)) != FOPT_SUCCESS) {
        return status;
    }
    unsigned char counters[FOPT_CKPT_COUNTER_BYTES];
    fopt_put_u64(counters, (uint64_t)step);
    fopt_put_u64(counters + 8, (uint64_t)epoch);
    fopt_put_f64(counters + 16, last_lr);
    fopt_put_f64(counters + 24, scale);
    fopt_put_u64(counters + 32, (uint64_t)growth_tracker);
    const int arrays = fopt_state_arrays(&opt->options);
    const size_t tens_len = 16 + FOPT_CKPT_TENSOR_BYTES * opt->num_tensors;
    unsigned char *tens = malloc(tens_len);
    if (!tens) {
        return fopt_fail(opt, FOPT_ERROR_OUT_OF_MEMORY, "out of host memory for a checkpoint buffer");
    }
    size_t max_numel = 0;
    fopt_put_u64(tens, opt->num_tensors);
    fopt_put_u32(tens + 8, (uint32_t)arrays);
    fopt_put_u32(tens + 12, 0);
    for (size_t t = 0; t < opt->num_tensors; t++) {
        unsigned char *entry = tens + 16 + FOPT_CKPT_TENSOR_BYTES * t;
        fopt_put_u64(entry, opt->tensors[t].numel);
        fopt_put_f64(entry + 8, fopt_tensor_weight_decay(&opt->options, t));
        fopt_put_f64(entry + 16, fopt_tensor_base_lr(&opt->options, t));
        max_numel = opt->tensors[t].numel > max_numel ? opt->tensors[t].numel : max_numel;
    }
    const uint64_t state_len = (uint64_t)arrays * opt->total_numel * sizeof(float);
    const uint64_t file_size = FOPT_CKPT_HEADER_BYTES + 4 * FOPT_CKPT_SECTION_BYTES + opts_len + sizeof counters +
                               tens_len + state_len + 4;
    unsigned char header[FOPT_CKPT_HEADER_BYTES];
    memcpy(header, FOPT_CKPT_MAGIC, 8);
    fopt_put_u32(header + 8, FOPT_CKPT_VERSION);
    fopt_put_u32(header + 12, 0);
    fopt_put_u64(header + 16, file_size);
    put(w, header, sizeof header);
    put_section(w, "OPTS", opts, opts_len);
    put_section(w, "CNTR", counters, sizeof counters);
    put_section(w, "TENS", tens, tens_len);
    free(tens);
    status = put_state(opt, w, arrays, max_numel);
    put_crc(w, w->file_crc);
    return status;
}

/* fsync of the directory holding `path`, so the rename itself is durable.
 * Best effort: some file systems do not support it. */
static void sync_directory(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) {
        return;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

fopt_status fopt_save(fopt_optimizer *opt, const char *path)
{
    if (!opt) {
        return fopt_fail(NULL, FOPT_ERROR_NULL_POINTER, "opt is NULL");
    }
    fopt_clear_error(opt);
    if (!path || !*path) {
        return fopt_fail(opt, path ? FOPT_ERROR_IO : FOPT_ERROR_NULL_POINTER, "path is %s", path ? "empty" : "NULL");
    }
    const size_t len = strlen(path);
    char *tmp = malloc(len + sizeof ".tmp.XXXXXX");
    if (!tmp) {
        return fopt_fail(opt, FOPT_ERROR_OUT_OF_MEMORY, "out of host memory for a file name");
    }
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return fopt_fail(opt, FOPT_ERROR_IO, "cannot create a temporary file for '%s': %s", path, strerror(e));
    }
    writer w = {fdopen(fd, "wb"), 0, 0};
    fopt_status status = FOPT_SUCCESS;
    const char *what = "write";
    if (!w.file) {
        w.error = errno;
        close(fd);
    } else {
        status = write_checkpoint(opt, &w);
        if (!w.error && fflush(w.file) != 0) {
            w.error = errno;
        } else if (!w.error && fsync(fileno(w.file)) != 0) {
            w.error = errno, what = "fsync";
        }
        if (fclose(w.file) != 0 && !w.error) {
            w.error = errno, what = "close";
        }
    }
    if (status == FOPT_SUCCESS && !w.error && rename(tmp, path) != 0) {
        w.error = errno, what = "rename the temporary file to";
    }
    if (status == FOPT_SUCCESS && w.error) {
        status = fopt_fail(opt, FOPT_ERROR_IO, "cannot %s '%s': %s", what, path, strerror(w.error));
    }
    if (status != FOPT_SUCCESS) {
        (void)unlink(tmp);
    } else {
        sync_directory(path);
    }
    free(tmp);
    return status;
}
