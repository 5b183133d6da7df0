/* The module's functions are inline in include/caccessdsystem.h; SwiftPM needs a source file. */
#include "caccessdsystem.h"
