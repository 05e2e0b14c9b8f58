/* A history replayer for bench/replay_bench.py: librdkafka in C (no Python per message), reads
 * every partition of TOPIC from the start with fetch.max.bytes 50 MB and 10 MB per partition,
 * starts over when it reaches the ends, and on SIGTERM prints the bytes it read.
 *
 *   replay_consumer BOOTSTRAP TOPIC PARTITIONS [MB_PER_S]
 *
 * With MB_PER_S it paces itself to that rate (sleeping when ahead), so a benchmark can replay
 * without the readers saturating the machine's cores.
 *
 * Built by replay_bench.py with: cc -O2 -o replay_consumer replay_consumer.c -lrdkafka
 */
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

static void set(rd_kafka_conf_t *c, const char *k, const char *v) {
    char err[512];
    if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s=%s: %s\n", k, v, err);
        exit(2);
    }
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) { fprintf(stderr, "usage: replay_consumer BOOTSTRAP TOPIC PARTITIONS [MB_PER_S]\n"); return 2; }
    int parts = atoi(argv[3]);
    double rate = argc == 5 ? atof(argv[4]) * 1e6 : 0;
    signal(SIGTERM, on_term);
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", argv[1]);
    set(conf, "group.id", "replay-bench");
    set(conf, "enable.auto.commit", "false");
    set(conf, "fetch.max.bytes", "50000000");
    set(conf, "max.partition.fetch.bytes", "10000000");
    set(conf, "fetch.wait.max.ms", "100");
    set(conf, "queued.max.messages.kbytes", "262144");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) { fprintf(stderr, "%s\n", err); return 2; }
    rd_kafka_poll_set_consumer(rk);
    int64_t *ends = calloc(parts, sizeof *ends);
    for (int p = 0; p < parts; p++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, argv[2], p, &lo, &hi, 10000)) { fprintf(stderr, "watermarks\n"); return 2; }
        ends[p] = hi;
    }
    rd_kafka_topic_partition_list_t *tps = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++) rd_kafka_topic_partition_list_add(tps, argv[2], p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, tps);
    long long bytes = 0;
    int done = 0;
    double start = now();
    char *at_end = calloc(parts, 1);
    while (!stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        if (!m->err) {
            bytes += m->len;
            if (rate > 0) {
                double ahead = bytes / rate - (now() - start);
                if (ahead > 0.001) usleep((useconds_t)(ahead * 1e6));
            }
            if (m->offset >= ends[m->partition] - 1 && !at_end[m->partition]) {
                at_end[m->partition] = 1;
                if (++done == parts) {  /* every partition read: start over */
                    rd_kafka_assign(rk, tps);
                    memset(at_end, 0, parts);
                    done = 0;
                }
            }
        }
        rd_kafka_message_destroy(m);
    }
    printf("%lld\n", bytes);
    fflush(stdout);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}
