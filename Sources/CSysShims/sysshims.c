#define _GNU_SOURCE
#include "sysshims.h"

#include <errno.h>
#include <sys/uio.h>

ssize_t rb_pread_nowait(int fd, void *buf, size_t count, off_t offset) {
#ifdef RWF_NOWAIT
    struct iovec v = { .iov_base = buf, .iov_len = count };
    return preadv2(fd, &v, 1, offset, RWF_NOWAIT);
#else
    (void)fd; (void)buf; (void)count; (void)offset;
    errno = EOPNOTSUPP;
    return -1;
#endif
}
