/*
 * fopt_load: reads a checkpoint (format: checkpoint_format.h) into host
 * memory, validates all of it (magic, version, sizes, checksums, options,
 * tensor shapes) and only then copies the state and counters into the
 * optimizer. A file that fails validation changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint_format.h"
#include "internal.h"

/* A located section payload inside the file buffer. */
typedef struct section {
    const unsigned char *data;
    uint64_t length;
} section;

static fopt_status read_file(fopt_optimizer *opt, const char *path, unsigned char **out, size_t *size)
{
    /* O_NONBLOCK: a FIFO at `path` must not block the open; it is refused below. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return fopt_fail(opt, FOPT_ERROR_IO, "cannot open '%s': %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fopt_fail(opt, FOPT_ERROR_IO, "cannot stat '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return fopt_fail(opt, FOPT_ERROR_IO, "cannot read '%s': not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return fopt_fail(opt, FOPT_ERROR_OUT_OF_MEMORY, "out of host memory to read '%s' (%zu bytes)", path, n);
    }
    size_t done = 0;
    while (done < n) {
        ssize_t r = read(fd, buf + done, n - done);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            int e = r < 0 ? errno : 0;
            free(buf);
            close(fd);
            return fopt_fail(opt, FOPT_ERROR_IO, "cannot read '%s': %s", path, e ? strerror(e) : "file shrank");
        }
        done += (size_t)r;
    }
    close(fd);
    *out = buf;
    *size = n;
    return FOPT_SUCCESS;
}

/* Header, section framing and both kinds of checksum. */
static fopt_status check_framing(fopt_optimizer *opt, const unsigned char *buf, size_t size, section sec[4])
{
    static const char *const tags[4] = {"OPTS", "CNTR", "TENS", "STAT"};
    const size_t minimum = FOPT_CKPT_HEADER_BYTES + 4 * FOPT_CKPT_SECTION_BYTES + 4;
    if (size < 8 || memcmp(buf, FOPT_CKPT_MAGIC, 8) != 0) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "bad magic: not a fusedopt checkpoint");
    }
    if (size < 12) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "truncated: %zu bytes, no format version", size);
    }
    const uint32_t version = fopt_get_u32(buf + 8);
    if (version != FOPT_CKPT_VERSION) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_VERSION,
                         "checkpoint format version %u; this library reads version %u", version, FOPT_CKPT_VERSION);
    }
    if (size < minimum) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "truncated: %zu bytes, a checkpoint has at least %zu",
                         size, minimum);
    }
    const uint64_t declared = fopt_get_u64(buf + 16);
    if (declared != size) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "size mismatch: the header says %llu bytes, the file has %zu%s",
                         (unsigned long long)declared, size, declared > size ? " (truncated)" : "");
    }
    if (fopt_get_u32(buf + size - 4) != fopt_crc32(0, buf, size - 4)) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "file checksum (CRC-32) mismatch");
    }
    if (fopt_get_u32(buf + 12) != 0) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "unknown header flags 0x%x", fopt_get_u32(buf + 12));
    }
    size_t pos = FOPT_CKPT_HEADER_BYTES;
    for (int i = 0; i < 4; i++) {
        const size_t left = size - 4 - pos;
        if (left < FOPT_CKPT_SECTION_BYTES || memcmp(buf + pos, tags[i], 4) != 0) {
            return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "section %s missing at offset %zu", tags[i], pos);
        }
        const uint64_t length = fopt_get_u64(buf + pos + 8);
        if (fopt_get_u32(buf + pos + 4) != 0 || length > left - FOPT_CKPT_SECTION_BYTES) {
            return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "section %s: bad header (length %llu, %zu bytes left)",
                             tags[i], (unsigned long long)length, left);
        }
        sec[i].data = buf + pos + 16;
        sec[i].length = length;
        if (fopt_get_u32(sec[i].data + length) != fopt_crc32(0, sec[i].data, (size_t)length)) {
            return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "section %s: checksum (CRC-32) mismatch", tags[i]);
        }
        pos += FOPT_CKPT_SECTION_BYTES + (size_t)length;
    }
    if (pos != size - 4) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "%zu unexpected bytes after the last section",
                         size - 4 - pos);
    }
    return FOPT_SUCCESS;
}

/* The OPTS entries must tile the payload exactly. */
static fopt_status check_option_framing(fopt_optimizer *opt, section s)
{
    if (s.length < 4) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "section OPTS: %llu bytes, too short",
                         (unsigned long long)s.length);
    }
    const uint32_t count = fopt_get_u32(s.data);
    uint64_t pos = 4;
    for (uint32_t i = 0; i < count; i++) {
        const size_t len = pos < s.length ? s.data[pos] : 0;
        if (len == 0 || len > FOPT_CKPT_MAX_NAME || s.length - pos < 1 + len + 9) {
            return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "section OPTS: bad entry %u", i);
        }
        const char type = (char)s.data[pos + 1 + len];
        if (type != 'i' && type != 'd') {
            return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "section OPTS: entry %u has unknown type", i);
        }
        pos += 1 + len + 9;
    }
    if (pos != s.length) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "section OPTS: %llu bytes after the last option",
                         (unsigned long long)(s.length - pos));
    }
    return FOPT_SUCCESS;
}

/* One option of the file (framing already checked), by name; 1 if found. */
static int file_option(section s, const char *name, char *type, const unsigned char **value)
{
    const uint32_t count = fopt_get_u32(s.data);
    size_t pos = 4;
    for (uint32_t i = 0; i < count; i++) {
        const size_t len = s.data[pos];
        const unsigned char *entry = s.data + pos + 1;
        if (len == strlen(name) && memcmp(entry, name, len) == 0) {
            *type = (char)entry[len];
            *value = entry + len + 1;
            return 1;
        }
        pos += 1 + len + 9;
    }
    return 0;
}

/* Every option the live optimizer records must be in the file, equal. */
static fopt_status check_options(fopt_optimizer *opt, section s)
{
    fopt_ckpt_option live[FOPT_CKPT_MAX_OPTIONS];
    const size_t count = fopt_ckpt_options(&opt->options, live);
    fopt_status status = check_option_framing(opt, s);
    if (status != FOPT_SUCCESS) {
        return status;
    }
    if (fopt_get_u32(s.data) != count) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_MISMATCH, "the checkpoint records %u options, this library %zu",
                         fopt_get_u32(s.data), count);
    }
    for (size_t i = 0; i < count; i++) {
        char type = 0;
        const unsigned char *v = NULL;
        if (!file_option(s, live[i].name, &type, &v)) {
            return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_MISMATCH, "the checkpoint lacks option %s", live[i].name);
        }
        if (type != live[i].type) {
            return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "section OPTS: option %s has type '%c'",
                             live[i].name, type);
        }
        if (type == 'i' && (int64_t)fopt_get_u64(v) != live[i].i) {
            return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_MISMATCH, "options.%s is %lld in the checkpoint, %lld here",
                             live[i].name, (long long)fopt_get_u64(v), (long long)live[i].i);
        }
        if (type == 'd') {
            unsigned char mine[8];
            fopt_put_f64(mine, live[i].d);
            if (memcmp(mine, v, 8) != 0) {
                return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_MISMATCH, "options.%s is %.17g in the checkpoint, %.17g here",
                                 live[i].name, fopt_get_f64(v), live[i].d);
            }
        }
    }
    return FOPT_SUCCESS;
}

/* The CNTR section: counters, the lr of the most recent step, the scaler. */
typedef struct counters {
    int64_t step, epoch;
    double last_lr;
    double scale;
    int64_t growth_tracker;
} counters;

/* Counters and tensor table; fills *c. */
static fopt_status check_counters_and_tensors(fopt_optimizer *opt, section cntr, section tens, counters *c)
{
    if (cntr.length != FOPT_CKPT_COUNTER_BYTES) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "section CNTR: %llu bytes, expected %u",
                         (unsigned long long)cntr.length, FOPT_CKPT_COUNTER_BYTES);
    }
    c->step = (int64_t)fopt_get_u64(cntr.data);
    c->epoch = (int64_t)fopt_get_u64(cntr.data + 8);
    c->last_lr = fopt_get_f64(cntr.data + 16);
    c->scale = fopt_get_f64(cntr.data + 24);
    c->growth_tracker = (int64_t)fopt_get_u64(cntr.data + 32);
    if (c->step < 0 || c->step > FOPT_MAX_COUNTER || c->epoch < 0 || c->epoch > FOPT_MAX_COUNTER ||
        !(c->last_lr >= 0.0 && c->last_lr <= 1e300)) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "section CNTR: invalid step %lld, epoch %lld or lr %g",
                         (long long)c->step, (long long)c->epoch, c->last_lr);
    }
    /* A loss scale is a positive finite fp32 value (saved exactly); the
     * growth tracker is reset whenever it reaches growth_interval. */
    const int64_t interval = opt->options.grad_scaling ? opt->options.growth_interval : INT64_MAX;
    if (!(c->scale > 0.0 && c->scale <= 3.4028234663852886e38 && (double)(float)c->scale == c->scale) ||
        c->growth_tracker < 0 || c->growth_tracker >= interval) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT,
                         "section CNTR: invalid loss scale %g or growth tracker %lld", c->scale,
                         (long long)c->growth_tracker);
    }
    if (tens.length < 16 || (tens.length - 16) % FOPT_CKPT_TENSOR_BYTES != 0 || fopt_get_u32(tens.data + 12) != 0 ||
        fopt_get_u64(tens.data) != (tens.length - 16) / FOPT_CKPT_TENSOR_BYTES) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "section TENS: inconsistent length %llu",
                         (unsigned long long)tens.length);
    }
    const uint64_t count = fopt_get_u64(tens.data);
    if (count != opt->num_tensors) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_MISMATCH, "the checkpoint has %llu tensors, this optimizer %zu",
                         (unsigned long long)count, opt->num_tensors);
    }
    const uint32_t arrays = fopt_get_u32(tens.data + 8);
    if (arrays != (uint32_t)fopt_state_arrays(&opt->options)) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_MISMATCH,
                         "the checkpoint has %u state arrays per tensor, this optimizer %d", arrays,
                         fopt_state_arrays(&opt->options));
    }
    for (size_t t = 0; t < opt->num_tensors; t++) {
        const unsigned char *entry = tens.data + 16 + FOPT_CKPT_TENSOR_BYTES * t;
        const uint64_t numel = fopt_get_u64(entry);
        if (numel != opt->tensors[t].numel) {
            return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_MISMATCH,
                             "tensor %zu has %llu elements in the checkpoint, %zu here", t,
                             (unsigned long long)numel, opt->tensors[t].numel);
        }
        const double recorded[2] = {fopt_get_f64(entry + 8), fopt_get_f64(entry + 16)};
        const double here[2] = {fopt_tensor_weight_decay(&opt->options, t), fopt_tensor_base_lr(&opt->options, t)};
        static const char *const names[2] = {"weight_decay", "base lr"};
        for (int k = 0; k < 2; k++) {
            if (memcmp(&recorded[k], &here[k], sizeof here[k]) != 0) {
                return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_MISMATCH,
                                 "tensor %zu has %s %.17g in the checkpoint, %.17g here", t, names[k], recorded[k],
                                 here[k]);
            }
        }
    }
    return FOPT_SUCCESS;
}

/* Copies the validated STAT payload into the backend, then the counters and the scaler. */
static fopt_status apply(fopt_optimizer *opt, section stat, const counters *c)
{
    const int arrays = fopt_state_arrays(&opt->options);
    size_t max_numel = 1;
    for (size_t t = 0; t < opt->num_tensors; t++) {
        max_numel = opt->tensors[t].numel > max_numel ? opt->tensors[t].numel : max_numel;
    }
    float *host = malloc(max_numel * sizeof(float));
    if (!host) {
        return fopt_fail(opt, FOPT_ERROR_OUT_OF_MEMORY, "out of host memory for a checkpoint buffer");
    }
    fopt_status status = FOPT_SUCCESS;
    const unsigned char *p = stat.data;
    for (int a = 0; a < arrays && status == FOPT_SUCCESS; a++) {
        for (size_t t = 0; t < opt->num_tensors && status == FOPT_SUCCESS; t++) {
            const size_t n = opt->tensors[t].numel;
            fopt_floats_from_le(host, p, n);
            p += n * sizeof(float);
            status = opt->ops->copy_state(opt, a, t, host, 0);
        }
    }
    free(host);
    if (status == FOPT_SUCCESS) {
        status = opt->ops->set_counters(opt, c->step, c->epoch, c->last_lr);
    }
    if (status == FOPT_SUCCESS && opt->options.grad_scaling) {
        status = opt->ops->write_scaler(opt, c->scale, c->growth_tracker);
    }
    return status;
}

static fopt_status load_buffer(fopt_optimizer *opt, const unsigned char *buf, size_t size)
{
    section sec[4];
    counters c = {0, 0, 0.0, 1.0, 0};
    fopt_status status;
    if ((status = check_framing(opt, buf, size, sec)) != FOPT_SUCCESS ||
        (status = check_options(opt, sec[0])) != FOPT_SUCCESS ||
        (status = check_counters_and_tensors(opt, sec[1], sec[2], &c)) != FOPT_SUCCESS) {
        return status;
    }
    const uint64_t expected = (uint64_t)fopt_state_arrays(&opt->options) * opt->total_numel * sizeof(float);
    if (sec[3].length != expected) {
        return fopt_fail(opt, FOPT_ERROR_CHECKPOINT_CORRUPT, "section STAT: %llu bytes, the tensors need %llu",
                         (unsigned long long)sec[3].length, (unsigned long long)expected);
    }
    return apply(opt, sec[3], &c);
}

fopt_status fopt_load(fopt_optimizer *opt, const char *path)
{
    if (!opt) {
        return fopt_fail(NULL, FOPT_ERROR_NULL_POINTER, "opt is NULL");
    }
    fopt_clear_error(opt);
    if (!path) {
        return fopt_fail(opt, FOPT_ERROR_NULL_POINTER, "path is NULL");
    }
    unsigned char *buf = NULL;
    size_t size = 0;
    fopt_status status = read_file(opt, path, &buf, &size);
    if (status == FOPT_SUCCESS) {
        status = load_buffer(opt, buf, size);
        if (status != FOPT_SUCCESS && status != FOPT_ERROR_OUT_OF_MEMORY && status != FOPT_ERROR_CUDA) {
            char message[FOPT_MESSAGE_SIZE];
            memcpy(message, opt->last_error, sizeof message);
            fopt_fail(opt, status, "'%s': %s", path, message);
        }
    }
    free(buf);
    return status;
}
