/* Status strings, per-handle and thread-local error messages, version. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static _Thread_local char thread_message[FOPT_MESSAGE_SIZE];

int fopt_version(void)
{
    return FOPT_VERSION;
}

const char *fopt_status_string(fopt_status status)
{
    switch (status) {
    case FOPT_SUCCESS: return "FOPT_SUCCESS: no error";
    case FOPT_ERROR_NULL_POINTER: return "FOPT_ERROR_NULL_POINTER: a required pointer is NULL";
    case FOPT_ERROR_INVALID_SIZE: return "FOPT_ERROR_INVALID_SIZE: invalid tensor count or size";
    case FOPT_ERROR_INVALID_ENUM: return "FOPT_ERROR_INVALID_ENUM: unknown enumeration value";
    case FOPT_ERROR_INVALID_HYPERPARAMETER: return "FOPT_ERROR_INVALID_HYPERPARAMETER: invalid hyperparameter";
    case FOPT_ERROR_INVALID_SCHEDULE: return "FOPT_ERROR_INVALID_SCHEDULE: invalid schedule";
    case FOPT_ERROR_INVALID_POINTER: return "FOPT_ERROR_INVALID_POINTER: memory of the wrong kind for the backend";
    case FOPT_ERROR_BACKEND_UNAVAILABLE: return "FOPT_ERROR_BACKEND_UNAVAILABLE: backend not available";
    case FOPT_ERROR_OUT_OF_MEMORY: return "FOPT_ERROR_OUT_OF_MEMORY: allocation failed";
    case FOPT_ERROR_CUDA: return "FOPT_ERROR_CUDA: CUDA runtime error";
    case FOPT_ERROR_IO: return "FOPT_ERROR_IO: file input/output failed";
    case FOPT_ERROR_CHECKPOINT_CORRUPT: return "FOPT_ERROR_CHECKPOINT_CORRUPT: checkpoint damaged";
    case FOPT_ERROR_CHECKPOINT_VERSION: return "FOPT_ERROR_CHECKPOINT_VERSION: unsupported checkpoint version";
    case FOPT_ERROR_CHECKPOINT_MISMATCH: return "FOPT_ERROR_CHECKPOINT_MISMATCH: checkpoint does not fit the optimizer";
    case FOPT_ERROR_NOT_SUPPORTED: return "FOPT_ERROR_NOT_SUPPORTED: not supported";
    }
    return "unknown fopt_status";
}

static char *message_slot(const fopt_optimizer *opt)
{
    return opt ? ((fopt_optimizer *)opt)->last_error : thread_message;
}

fopt_status fopt_fail(fopt_optimizer *opt, fopt_status status, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(message_slot(opt), FOPT_MESSAGE_SIZE, format, args);
    va_end(args);
    return status;
}

void fopt_clear_error(fopt_optimizer *opt)
{
    message_slot(opt)[0] = '\0';
}

const char *fopt_last_error(const fopt_optimizer *opt)
{
    return message_slot(opt);
}
