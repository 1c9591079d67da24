// Everything is static inline in include/cutmmatch.h; SwiftPM needs one source file per C target.
#include "cutmmatch.h"
