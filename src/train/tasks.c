/* The task kinds a checkpoint may name. A new task adds its line here. */
#include <string.h>

#include "rnnc/train.h"

static const struct {
    const char *name;
    rnnc_task_resume_fn resume;
} tasks[] = {
    {"lm", rnnc_lm_task_resume},
    {"seq2seq", rnnc_s2s_task_resume},
    {"classify", rnnc_seq_task_resume},
    {"tag", rnnc_seq_task_resume},
    {"forecast", rnnc_seq_task_resume},
};

rnnc_task_resume_fn rnnc_task_resume_fn_for(const char *name) {
    for (size_t i = 0; name && i < sizeof tasks / sizeof tasks[0]; i++)
        if (strcmp(tasks[i].name, name) == 0) return tasks[i].resume;
    return NULL;
}
