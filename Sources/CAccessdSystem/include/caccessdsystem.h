#ifndef ACCESSD_CACCESSDSYSTEM_H
#define ACCESSD_CACCESSDSYSTEM_H

/* What Swift's Glibc module does not show: <malloc.h>'s mallopt. */
#include <malloc.h>

/* Allocations of `bytes` and more get pages of their own (mmap), returned to
 * the system when freed; glibc's default raises this threshold after each
 * such free. Returns 1 on success. */
static inline int accessd_set_mmap_threshold(int bytes)
{
    return mallopt(M_MMAP_THRESHOLD, bytes);
}

#endif
