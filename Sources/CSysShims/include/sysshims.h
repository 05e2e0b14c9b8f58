#ifndef RIVERBANK_SYSSHIMS_H
#define RIVERBANK_SYSSHIMS_H

#include <stddef.h>
#include <sys/types.h>

/// pread that only returns data already in the page cache (preadv2 with RWF_NOWAIT): -1 with
/// errno EAGAIN when it would have to wait for the disk, EOPNOTSUPP where the kernel or file
/// system cannot tell. Swift's Glibc module does not expose preadv2 (a _GNU_SOURCE function).
ssize_t rb_pread_nowait(int fd, void *buf, size_t count, off_t offset);

#endif
