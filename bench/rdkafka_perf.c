/* librdkafka's own throughput, in C (no Python in the loop), for bench/client_bench.py.
 *
 *   rdkafka_perf produce BOOTSTRAP TOPIC RECORDS PAYLOAD_FILE [ACKS]  (lz4; acks=all (default) is idempotent)
 *   rdkafka_perf consume BOOTSTRAP TOPIC RECORDS PARTITIONS     (every partition from the start)
 *
 * Prints one JSON line with the timed section's seconds, like `riverbank perf`.
 * Built by client_bench.py with: cc -O2 -o rdkafka_perf rdkafka_perf.c -lrdkafka
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v) {
    char err[512];
    if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s=%s: %s\n", k, v, err);
        exit(2);
    }
}

static long failed;
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk; (void)opaque;
    if (m->err) failed++;
}

static int produce(const char *bootstrap, const char *topic, long n, const char *path, const char *acks) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return 2; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc(size);
    if (fread(data, 1, size, f) != (size_t)size) { perror("read"); return 2; }
    fclose(f);
    long cap = 1024, count = 0;
    char **vals = malloc(cap * sizeof *vals);
    size_t *lens = malloc(cap * sizeof *lens);
    for (char *p = data, *end = data + size; p < end;) {
        char *nl = memchr(p, '\n', end - p);
        if (!nl) nl = end;
        if (count == cap) { cap *= 2; vals = realloc(vals, cap * sizeof *vals); lens = realloc(lens, cap * sizeof *lens); }
        vals[count] = p; lens[count] = nl - p; count++;
        p = nl + 1;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "compression.type", "lz4");
    set(conf, "acks", acks);
    set(conf, "enable.idempotence", strcmp(acks, "all") == 0 ? "true" : "false");
    set(conf, "linger.ms", "5");
    set(conf, "batch.size", "1000000");
    set(conf, "queue.buffering.max.messages", "1000000");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) { fprintf(stderr, "%s\n", err); return 2; }
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    double t0 = now();
    for (long i = 0; i < n; i++) {
        long j = i % count;
        while (rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, 0, vals[j], lens[j], NULL, 0, NULL) != 0) {
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) { fprintf(stderr, "produce failed\n"); return 1; }
            rd_kafka_poll(rk, 1);
        }
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) { fprintf(stderr, "flush timed out\n"); return 1; }
    double dt = now() - t0;
    rd_kafka_topic_destroy(t);
    rd_kafka_destroy(rk);
    if (failed) { fprintf(stderr, "%ld deliveries failed\n", failed); return 1; }
    printf("{\"records\": %ld, \"seconds\": %.4f}\n", n, dt);
    return 0;
}

static int consume(const char *bootstrap, const char *topic, long n, int partitions) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "group.id", "rdkafka-perf");
    set(conf, "enable.auto.commit", "false");
    set(conf, "fetch.wait.max.ms", "100");
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) { fprintf(stderr, "%s\n", err); return 2; }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    double t0 = now();
    rd_kafka_assign(rk, l);
    long got = 0, bytes = 0;
    while (got < n) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
        if (!m) continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) { fprintf(stderr, "%s\n", rd_kafka_message_errstr(m)); return 1; }
        } else {
            got++;
            bytes += m->len;
        }
        rd_kafka_message_destroy(m);
    }
    double dt = now() - t0;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    printf("{\"records\": %ld, \"bytes\": %ld, \"seconds\": %.4f}\n", got, bytes, dt);
    return 0;
}

int main(int argc, char **argv) {
    if ((argc == 6 || argc == 7) && !strcmp(argv[1], "produce"))
        return produce(argv[2], argv[3], atol(argv[4]), argv[5], argc == 7 ? argv[6] : "all");
    if (argc == 6 && !strcmp(argv[1], "consume")) return consume(argv[2], argv[3], atol(argv[4]), atoi(argv[5]));
    fprintf(stderr, "usage: rdkafka_perf produce BOOTSTRAP TOPIC RECORDS PAYLOAD_FILE [ACKS] | consume BOOTSTRAP TOPIC RECORDS PARTITIONS\n");
    return 2;
}
