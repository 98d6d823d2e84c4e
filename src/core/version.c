/* rnnc — the library's version (include/rnnc/version.h, generated from CMake's project VERSION). */
#include "rnnc/version.h"

const char *rnnc_version(void) { return RNNC_VERSION; }
