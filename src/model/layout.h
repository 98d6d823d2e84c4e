/* rnnc — a model file against the layout its config describes (internal). */
#ifndef RNNC_MODEL_LAYOUT_H
#define RNNC_MODEL_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "rnnc/rnn.h"
#include "rnnc/safetensors.h"

/* The file holds every tensor of want[0..n) with its shape and no other model tensor; tensors
 * whose names start with one of the prefixes in skip (NULL-terminated; skip itself may be NULL)
 * are a run's state and are passed over. Only the header is looked at, so a config that asks for
 * gigabytes the file does not hold is refused by tensor name before anything is allocated.
 * Errors (RNNC_ERR_FORMAT) name the file and the tensor, and say which metadata key asked: with
 * cfg, a summary of the config, "... (key: cfg)"; without, "... (key asks for it)". */
/* Whether name starts with one of the prefixes (NULL-terminated; prefixes itself may be NULL). */
bool rnnc_layout_has_prefix(const char *name, const char *const *prefixes);

rnnc_status rnnc_check_layout(const rnnc_safetensors *st, const rnnc_param_info *want, size_t n,
                              const char *const *skip, const char *key, const char *cfg);

#endif
