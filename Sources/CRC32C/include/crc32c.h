#ifndef RIVERBANK_CRC32C_H
#define RIVERBANK_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli), as used by Kafka RecordBatch v2.
/// `crc` is the running value (start with 0); returns the updated CRC.
uint32_t rb_crc32c(uint32_t crc, const void *buf, size_t len);

/// Same computation without the hardware path, for tests that compare both.
uint32_t rb_crc32c_sw(uint32_t crc, const void *buf, size_t len);

/// 1 when the SSE4.2 instruction path is in use.
int rb_crc32c_hw_available(void);
#endif
